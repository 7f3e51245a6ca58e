"""Names of the Redis pub/sub channels; one place so publishers and listeners agree."""


def balance_channel(user_id: int) -> str:
    return f"user:{user_id}:balance"


def transactions_channel(user_id: int) -> str:
    return f"user:{user_id}:transactions"


def requests_channel(user_id: int) -> str:
    return f"user:{user_id}:requests"


def payment_request_channel(request_id: int) -> str:
    return f"payment_request:{request_id}"
