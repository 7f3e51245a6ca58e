"""The canonical text of a statement, byte for byte as docs/ledger.md prints it: anyone
who recomputes the digest from a CSV relies on exactly this."""

import hashlib
from datetime import UTC, date, datetime

from wallet.money import Currency, Money
from wallet.statements.models import Statement, StatementRow


def usd(cents: int) -> Money:
    return Money(cents, Currency.USD)


def test_canonical_text_and_digest_match_the_documented_example() -> None:
    rows = (
        StatementRow(
            15, datetime(2026, 12, 3, 10, 0, 1, 42, UTC), usd(4000), usd(31500), "add", None
        ),
        StatementRow(
            16, datetime(2026, 12, 3, 10, 4, 12, 500000, UTC), usd(-1234), usd(30266), "p2p", None
        ),
    )
    statement = Statement(
        account="user:42:USD:wallet",
        currency=Currency.USD,
        period_from=date(2026, 12, 1),
        period_to=date(2026, 12, 31),
        position=17,
        cut_at=None,
        opening=usd(27500),
        rows=rows,
        closing=usd(30266),
    )
    expected = (
        "wallet statement 1\n"
        "account user:42:USD:wallet\n"
        "currency USD\n"
        "period 2026-12-01 2026-12-31\n"
        "position 17\n"
        "opening 275.00\n"
        "15 2026-12-03T10:00:01.000042Z 40.00 315.00\n"
        "16 2026-12-03T10:04:12.500000Z -12.34 302.66\n"
        "closing 302.66\n"
    )
    assert statement.canonical() == expected
    assert statement.digest == hashlib.sha256(expected.encode()).hexdigest()
    assert (statement.credits, statement.debits) == (usd(4000), usd(1234))
