"""The sandbox email and SMS outboxes (issue 14, finding 7): one-time codes no longer
stay in Redis in clear forever; each message is sealed and expires after a day."""

from __future__ import annotations

from redis.asyncio import Redis

from wallet.notifications.email import EmailMessage, SandboxEmailProvider
from wallet.notifications.sent_box import SENT_SECONDS
from wallet.notifications.sms import SandboxSmsProvider


async def everything_in(redis: Redis) -> str:
    """Every key and value in the test's Redis database, as text."""
    parts: list[str] = []
    async for key in redis.scan_iter("*"):
        parts.append(key.decode())
        kind = (await redis.type(key)).decode()
        if kind == "string":
            values = [await redis.get(key)]
        elif kind == "hash":
            values = [*(await redis.hgetall(key)).values()]
        elif kind == "list":
            values = await redis.lrange(key, 0, -1)
        elif kind == "zset":
            values = await redis.zrange(key, 0, -1)
        else:
            values = list(await redis.smembers(key))
        parts += [v.decode(errors="replace") for v in values if v is not None]
    return "\n".join(parts)


async def test_sandbox_outboxes_seal_one_time_codes_and_expire(redis: Redis) -> None:
    """The reviewer: one-time codes stayed in Redis forever in the sandbox outboxes."""
    sms, email = SandboxSmsProvider(redis), SandboxEmailProvider(redis)
    await sms.send("+14155550142", "Your wallet code is 734912")
    await email.send(EmailMessage("ann@example.com", "Your code", "Enter 581204 to verify"))
    dump = await everything_in(redis)
    for secret in ("734912", "581204", "+14155550142", "ann@example.com"):
        assert secret not in dump
    keys = [k async for k in redis.scan_iter("sandbox:*")]
    assert len(keys) == 4  # a message and an index of ids per provider
    for key in keys:
        assert 0 < await redis.ttl(key) <= SENT_SECONDS
    # Developers and tests still read them through the sandbox.
    assert [m["body"] for m in await sms.sent_to("+14155550142")] == ["Your wallet code is 734912"]
    assert [m["body"] for m in await email.sent_to("ann@example.com")] == ["Enter 581204 to verify"]
    # An expired message is gone, and the index forgets it.
    (message_key,) = [k async for k in redis.scan_iter("sandbox:sms:sent:msg:*")]
    await redis.delete(message_key)
    assert await sms.sent_to("+14155550142") == []
    assert await redis.llen("sandbox:sms:sent:ids") == 0
