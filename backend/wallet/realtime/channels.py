"""Names of the Redis pub/sub channels; one place so publishers and listeners agree.

Every name starts with the deployment's namespace (`Settings.channel_namespace`): Redis
pub/sub ignores the database number, so two deployments sharing a Redis server would
otherwise wake each other's subscribers.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Channels:
    namespace: str

    def balance(self, user_id: int) -> str:
        return f"{self.namespace}:user:{user_id}:balance"

    def transactions(self, user_id: int) -> str:
        return f"{self.namespace}:user:{user_id}:transactions"

    def requests(self, user_id: int) -> str:
        return f"{self.namespace}:user:{user_id}:requests"

    def notifications(self, user_id: int) -> str:
        return f"{self.namespace}:user:{user_id}:notifications"

    def merchant_sales(self, merchant_id: int) -> str:
        return f"{self.namespace}:merchant:{merchant_id}:sales"

    def payment_request(self, request_id: int) -> str:
        return f"{self.namespace}:payment_request:{request_id}"
