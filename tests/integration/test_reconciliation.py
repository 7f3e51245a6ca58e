"""Reconciliation against the sandbox's settlement files (processor CSV, bank camt.053):
every break kind, a file imported twice, files out of order, late items, resolution by
hand and by a four-eyes adjusting entry, and the safeguarding check."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from redis.asyncio import Redis

from tests.conftest import LiveServer
from tests.factories import make_user
from tests.graphql_client import add_bank, add_card, fund, token_for
from tests.integration.test_gateway_callbacks import gateway_ref_of
from tests.integration.test_metrics import sample
from wallet import observability
from wallet.adjustments import service as adjustments
from wallet.db.engine import connection
from wallet.errors import RefusalKind
from wallet.gateway.sandbox import SandboxGateway
from wallet.gateway.settlement_files import read_camt053, read_processor_csv
from wallet.payments import funding
from wallet.reconciliation import service as recon

pytestmark = pytest.mark.usefixtures("assert_ledger_sound")


async def day_of(gateway: SandboxGateway) -> date:
    return datetime.fromtimestamp(await gateway.now(), UTC).date()


async def breaks_by_kind() -> dict[str, list[dict[str, object]]]:
    found: dict[str, list[dict[str, object]]] = {}
    for b in await recon.breaks(open_only=False):
        found.setdefault(str(b["kind"]), []).append(b)
    return found


async def operators(n: int = 2) -> list[int]:
    ids = []
    for _ in range(n):
        user = await make_user()
        async with connection() as conn:
            await conn.execute("UPDATE app_user SET operator_role = 'admin' WHERE id = $1", user.id)
        ids.append(user.id)
    return ids


async def account_id(code: str) -> int:
    async with connection() as conn:
        return int(await conn.fetchval("SELECT id FROM ledger_account WHERE code = $1", code))


class World:
    """A customer with a card and a bank account, and the sandbox gateway."""

    def __init__(self, live: LiveServer, redis: Redis) -> None:
        self.live = live
        self.gateway = SandboxGateway(redis, day_seconds=live.settings.sandbox.day_seconds)

    async def start(self) -> World:
        self.user = await make_user()
        self.token = await token_for(self.live, self.user)
        self.card = await add_card(self.live, self.token)
        self.bank = await add_bank(self.live, self.token)
        return self

    async def top_up(self, amount: str) -> str:
        result = await fund(self.live, self.token, self.card, amount)
        assert result["transaction"]["status"] == "COMPLETED", result
        return await gateway_ref_of(result["transaction"]["id"])

    async def settle(self) -> None:
        """Let the bank's callbacks (ACH settled, payout paid) arrive and be applied."""
        await self.gateway.advance(4)
        await funding.deliver_sandbox_events(
            self.gateway, self.live.settings.gateway.webhook_secret
        )


async def test_every_break_kind_is_found_and_a_late_item_closes_its_own_break(
    live_server: LiveServer, redis: Redis
) -> None:
    world = await World(live_server, redis).start()
    missing = await world.top_up("11.00")
    duplicate = await world.top_up("12.00")
    mismatch = await world.top_up("13.00")
    no_reference = await world.top_up("14.00")
    late = await world.top_up("15.00")
    clean = await world.top_up("16.00")
    ach = (await fund(live_server, world.token, world.bank, "25.00"))["transaction"]
    payout = (await fund(live_server, world.token, world.bank, "10.00", withdraw=True))[
        "transaction"
    ]
    await world.settle()
    today = await day_of(world.gateway)
    for kind, ref in (
        ("missing", missing),
        ("duplicate", duplicate),
        ("amount_mismatch", mismatch),
        ("no_reference", no_reference),
        ("late", late),
    ):
        await world.gateway.inject_break(kind, ref)
    await world.gateway.inject_break("unknown", on=today)

    processor, bank = await recon.reconcile_day(world.gateway, today)

    # Processor file: 6 charges booked, 1 dropped, 1 doubled, 1 a day late, 1 unknown.
    assert (processor.items, processor.matched) == (6, 3)  # dup's first copy, no-ref, clean
    assert bank.items == 3 and bank.matched == 3  # ACH debit, payout, the processor batch
    found = await breaks_by_kind()
    assert sorted(found) == ["amount_mismatch", "duplicate", "missing", "unknown"]
    missing_refs = {await gateway_ref_of(int(str(b["transaction_id"]))) for b in found["missing"]}
    assert missing_refs == {missing, late}
    [wrong] = found["amount_mismatch"]
    assert (wrong["ledger_amount"], wrong["file_amount"]) == (1300, 1400)
    assert found["duplicate"][0]["reference"] == duplicate
    assert str(found["unknown"][0]["reference"]).startswith("ch_unknown_")
    items = await recon.file_items(processor.file_id)
    by_line = {i["reference"]: i for i in items if i["status"] == "matched"}
    assert by_line[clean]["matched_by"] == "reference"
    [fuzzy] = [i for i in items if i["reference"] == ""]
    assert fuzzy["matched_by"] == "amount_date_counterparty"
    assert await gateway_ref_of(fuzzy["transaction_id"]) == no_reference
    bank_items = await recon.file_items(bank.file_id)
    assert {i["kind"]: i["matched_by"] for i in bank_items} == {
        "ach_debit": "reference",
        "payout": "reference",
        "processor_settlement": "batch",
    }
    assert {await gateway_ref_of(i["transaction_id"]) for i in bank_items[:2]} == {
        await gateway_ref_of(ach["id"]),
        await gateway_ref_of(payout["id"]),
    }

    # Safeguarding: the bank holds every card charge, the ACH debit, less the payout;
    # customers hold what the ledger says they do.
    [check] = await recon.safeguarding()
    assert check["business_date"] == today
    assert check["bank_balance"] == 1100 + 1200 + 1300 + 1400 + 1500 + 1600 + 2500 - 1000
    async with connection() as conn:
        held = await conn.fetchval(
            "SELECT sum(posted_credits - posted_debits) FROM ledger_account "
            "WHERE owner_type IN ('user', 'merchant') AND account_type = 'liability' "
            "AND currency = 'USD'"
        )
    assert check["customer_money"] == held
    assert check["difference"] == check["bank_balance"] - held

    # The next day's file brings the late item: its missing break closes by itself.
    await recon.reconcile_day(world.gateway, today + timedelta(days=1))
    resolved = {b["id"]: b for b in await recon.breaks(open_only=False)}
    [late_break] = [
        b for b in found["missing"] if await gateway_ref_of(int(str(b["transaction_id"]))) == late
    ]
    assert resolved[late_break["id"]]["resolution"] == "arrived_late"
    assert len(await recon.breaks(open_only=True)) == 4

    # The worker's gauges: open breaks by kind, the oldest one's age, safeguarding.
    figures = await observability.compute(redis)
    assert figures.open_breaks == {"missing": 1, "duplicate": 1, "amount_mismatch": 1, "unknown": 1}
    assert figures.oldest_open_break_seconds >= 0
    observability.publish(figures)
    assert sample("wallet_reconciliation_open_breaks", kind="unknown") == 1
    assert sample("wallet_reconciliation_oldest_open_break_seconds") == (
        figures.oldest_open_break_seconds
    )
    latest = (await recon.safeguarding())[0]  # the next day's statement
    assert sample("wallet_safeguarding_difference", currency="USD") == latest["difference"] / 100


async def test_a_file_imported_twice_changes_nothing_and_garbage_is_refused(
    live_server: LiveServer, redis: Redis
) -> None:
    world = await World(live_server, redis).start()
    await world.top_up("20.00")
    await world.gateway.inject_break("unknown", on=await day_of(world.gateway))
    today = await day_of(world.gateway)
    files = await world.gateway.settlement_files(today)
    again = await world.gateway.settlement_files(today)
    assert (files.processor_csv, files.bank_statement) == (
        again.processor_csv,
        again.bank_statement,
    )
    first = await recon.import_file("processor", "a.csv", files.processor_csv, today)
    second = await recon.import_file("processor", "copy.csv", again.processor_csv, today)
    assert (first.already_imported, second.already_imported) == (False, True)
    assert second.file_id == first.file_id and second.matched == first.matched == 1
    assert len(await recon.breaks(open_only=False)) == 1
    assert await recon.imported_files() == 1
    for source, content in (("processor", b"not,a,settlement\n1,2,3\n"), ("bank", b"<x/>")):
        with pytest.raises(recon.UnreadableFile) as refused:
            await recon.import_file(source, "bad", content, today)
        assert refused.value.kind is RefusalKind.INVALID
    # An XML bomb is refused by the parser, not expanded.
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><x>&b;</x>'
    )
    with pytest.raises(recon.UnreadableFile):
        await recon.import_file("bank", "bomb.xml", bomb, today)
    assert await recon.imported_files() == 1


async def test_files_out_of_order_match_once_both_are_in(
    live_server: LiveServer, redis: Redis
) -> None:
    world = await World(live_server, redis).start()
    await world.top_up("30.00")
    today = await day_of(world.gateway)
    files = await world.gateway.settlement_files(today)
    bank = await recon.import_file("bank", files.bank_name, files.bank_statement, today)
    assert (bank.items, bank.matched) == (1, 0)  # the processor's batch: its file is not in
    [waiting] = await recon.breaks(open_only=True)
    assert waiting["kind"] == "unknown"
    processor = await recon.import_file(
        "processor", files.processor_name, files.processor_csv, today
    )
    assert processor.matched == 1
    [closed] = await recon.breaks(open_only=False)
    assert (closed["status"], closed["resolution"]) == ("resolved", "matched_later")
    assert await recon.breaks(open_only=True) == []


async def test_breaks_resolve_by_hand_or_by_an_adjusting_entry_two_operators_approve(
    live_server: LiveServer, redis: Redis
) -> None:
    world = await World(live_server, redis).start()
    await world.top_up("40.00")
    mismatch = await world.top_up("5.00")
    today = await day_of(world.gateway)
    await world.gateway.inject_break("amount_mismatch", mismatch)
    await world.gateway.inject_break("unknown", on=today)
    await recon.reconcile_day(world.gateway, today)
    found = await breaks_by_kind()
    [unknown], [wrong] = found["unknown"], found["amount_mismatch"]
    first, second = await operators()

    with pytest.raises(recon.NoteRequired):
        await recon.match_by_hand(first, int(wrong["id"]), "  ")
    await recon.match_by_hand(first, int(wrong["id"]), "Processor confirmed a typo by email")
    with pytest.raises(recon.BreakClosed):
        await recon.match_by_hand(first, int(wrong["id"]), "again")

    suspense = await account_id("system:USD:reconciliation_suspense")
    clearing = await account_id("system:USD:gateway_clearing:sandbox")
    proposal = await recon.propose_adjustment(
        first, int(unknown["id"]), suspense, "Unknown processor credit, held until traced"
    )
    assert (proposal.debit_account_id, proposal.credit_account_id) == (clearing, suspense)
    assert proposal.amount is not None and proposal.amount.amount_minor == 1234
    async with connection() as conn:
        entries_before = await conn.fetchval("SELECT count(*) FROM journal_entry")
    with pytest.raises(adjustments.OwnProposal):
        await recon.approve_adjustment(first, proposal.id)
    async with connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM journal_entry") == entries_before
        # The database refuses self-approval too, whatever the code does.
        with pytest.raises(Exception, match="check constraint"):
            await conn.execute(
                "UPDATE ledger_adjustment SET status = 'approved', decided_by = proposed_by, "
                "decided_at = now() WHERE id = $1",
                proposal.id,
            )
    done = await recon.approve_adjustment(second, proposal.id, "Checked the processor portal")
    assert done.status is adjustments.AdjustmentStatus.APPROVED and done.entry_id is not None
    async with connection() as conn:
        postings = await conn.fetch(
            "SELECT account_id, side, amount FROM posting WHERE entry_id = $1 ORDER BY side",
            done.entry_id,
        )
    assert [tuple(p) for p in postings] == [(suspense, "C", 1234), (clearing, "D", 1234)]
    closed = {b["id"]: b for b in await recon.breaks(open_only=False)}
    assert closed[unknown["id"]]["resolution"] == "adjusted"
    assert closed[unknown["id"]]["adjustment_id"] == proposal.id
    assert closed[wrong["id"]]["resolution"] == "matched_by_hand"
    with pytest.raises(adjustments.AlreadyDecided):
        await recon.approve_adjustment(second, proposal.id)
    assert await recon.breaks(open_only=True) == []


async def test_the_files_are_real_csv_and_camt053(live_server: LiveServer, redis: Redis) -> None:
    world = await World(live_server, redis).start()
    ref = await world.top_up("9.99")
    today = await day_of(world.gateway)
    files = await world.gateway.settlement_files(today)
    assert files.processor_csv.decode().splitlines() == [
        "batch_id,settlement_date,type,reference,currency,amount,counterparty",
        f"PSET-{today:%Y%m%d},{today},charge,{ref},USD,9.99,Visa ****4242",
    ]
    assert read_processor_csv(files.processor_csv, today).lines[0].amount == 999
    xml = files.bank_statement.decode()
    assert 'xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"' in xml
    assert "<Cd>OPBD</Cd>" in xml and "<Cd>CLBD</Cd>" in xml
    statement = read_camt053(files.bank_statement)
    assert statement.business_date == today
    [batch] = statement.lines
    assert (batch.kind, batch.amount, batch.reference) == (
        "processor_settlement",
        999,
        f"PSET-{today:%Y%m%d}-USD",
    )
