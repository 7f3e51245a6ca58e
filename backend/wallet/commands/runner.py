"""The command runner: one implementation of the steps every money command takes.

A service declares its command once (`Command`: input fingerprint, policy, change,
response, replay, events and the refusals it may raise) and calls `run`. In one
database transaction the runner

1. validates the input and the idempotency key, and verifies what must be verified
   outside the transaction (a PIN, whose failure count must commit even when the
   command is refused);
2. claims the key (`wallet.idempotency`): an earlier identical request replays its
   stored response, a different one is `IdempotencyConflict`;
3. checks every policy (step-up, PIN, limits, KYC, expiry…) **before** the change
   writes anything: a policy reads and may lock, never writes;
4. runs the domain's change;
5. emits the command's outbox events and remembers the response with the key, in the
   same transaction as the movement.

A refusal raised at any step rolls everything back, so the key stays free and a retry
is judged anew.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from wallet.commands.actor import Actor
from wallet.db.engine import Connection, retrying
from wallet.idempotency import service as idempotency
from wallet.outbox.service import Topic, emit

log = logging.getLogger(__name__)

I = TypeVar("I")  # noqa: E741 (the input, as in the issue's "input, policy, change")
R = TypeVar("R")

Policy = Callable[[Connection, Actor, I], Awaitable[None]]


@dataclass(frozen=True)  # no slots: `Command[I, R](...)` sets __orig_class__
class Command(Generic[I, R]):
    """A money command, declared once by its domain."""

    # The operation's name; part of the request fingerprint (`"op"`).
    name: str
    # The normalised request a key is bound to (without "op").
    fingerprint: Callable[[I], Mapping[str, Any]]
    # The domain's change, in the command's transaction.
    change: Callable[[Connection, Actor, I], Awaitable[R]]
    # What is stored with the key, and how a replay turns it back into a result.
    response: Callable[[R], dict[str, Any]]
    replay: Callable[[Connection, Actor, I, dict[str, Any]], Awaitable[R]]
    # Every refusal the command may raise (its GraphQL union lists these).
    refusals: tuple[type[Exception], ...]
    # Checks of the input alone, before the transaction.
    validate: Callable[[Actor, I], None] | None = None
    # Proofs checked before the transaction, with side effects of their own that must
    # commit whatever happens next (a wrong PIN counts towards its lock).
    verify: Callable[[Actor, I], Awaitable[None]] | None = None
    # Checks before the change; read (and lock), never write.
    policy: tuple[Policy[Any], ...] = ()
    # Outbox events of a result, written with it.
    events: Callable[[R], Iterable[tuple[Topic, dict[str, Any]]]] | None = None
    # The idempotency scope; by default the actor's own (`Actor.principal`).
    scope: Callable[[Actor, I], str] | None = None
    # Wraps the whole transaction (e.g. recording fraud blocks after the rollback).
    around: Callable[[], AbstractAsyncContextManager[None]] | None = None

    def request_fingerprint(self, data: I) -> str:
        return idempotency.fingerprint({**self.fingerprint(data), "op": self.name})


async def run(command: Command[I, R], actor: Actor, data: I, idempotency_key: str) -> R:
    """Run `command` for `actor` exactly once per (scope, key)."""
    idempotency.validate_key(idempotency_key)
    if command.validate is not None:
        command.validate(actor, data)
    if command.verify is not None:
        await command.verify(actor, data)
    scope = command.scope(actor, data) if command.scope is not None else actor.principal
    request = command.request_fingerprint(data)
    around = command.around() if command.around is not None else nullcontext()

    async def once(conn: Connection) -> R:
        stored = await idempotency.claim(conn, scope, idempotency_key, request)
        if stored is not None:
            return await command.replay(conn, actor, data, stored)
        for check in command.policy:
            await check(conn, actor, data)
        result = await command.change(conn, actor, data)
        if command.events is not None:
            for topic, payload in command.events(result):
                await emit(conn, topic, payload)
        await idempotency.remember(conn, scope, idempotency_key, request, command.response(result))
        return result

    try:
        async with around:
            # Again, whole, if PostgreSQL chose it to break a deadlock (a batch of sends
            # can lock out of order around a send it runs alone: docs/architecture.md).
            return await retrying(once)
    except Exception as exc:
        declared = (*command.refusals, idempotency.IdempotencyError)
        if not isinstance(exc, declared) and type(exc).__module__.startswith("wallet."):
            # A domain refusal the command did not declare: its API union may not list it.
            log.warning("command %s raised undeclared %s", command.name, type(exc).__name__)
        raise
