import pytest
from hypothesis import given
from hypothesis import strategies as st

from wallet.ledger.errors import UnbalancedEntry
from wallet.ledger.models import AccountType, Balance, EntryDraft, PostingDraft, Side
from wallet.ledger.service import _validate
from wallet.money import Currency, Money


def test_normal_sides_follow_account_types() -> None:
    assert AccountType.ASSET.normal_side is Side.DEBIT
    assert AccountType.EXPENSE.normal_side is Side.DEBIT
    for t in (AccountType.LIABILITY, AccountType.EQUITY, AccountType.REVENUE):
        assert t.normal_side is Side.CREDIT


@given(*(st.integers(0, 10**12) for _ in range(4)))
def test_posted_reserved_and_incoming_follow_the_normal_side(
    pd: int, pc: int, qd: int, qc: int
) -> None:
    # `available` is read from the database (`ledger_available`), never computed here:
    # tests/integration/test_ledger_available.py checks it against these parts.
    liability = Balance(1, Currency.USD, Side.CREDIT, pd, pc, qd, qc, available=0)
    assert (liability.posted, liability.reserved, liability.incoming) == (pc - pd, qd, qc)
    assert liability.worth == pc - pd + qc
    asset = Balance(2, Currency.USD, Side.DEBIT, pd, pc, qd, qc, available=0)
    assert (asset.posted, asset.reserved, asset.incoming) == (pd - pc, qc, qd)


def usd(n: int) -> Money:
    return Money(n, Currency.USD)


def test_two_legged_transfer_is_valid() -> None:
    _validate(EntryDraft.transfer("t", 1, 2, usd(100)))


@pytest.mark.parametrize(
    "postings",
    [
        (PostingDraft(1, Side.DEBIT, usd(100)),),
        (PostingDraft(1, Side.DEBIT, usd(100)), PostingDraft(2, Side.CREDIT, usd(99))),
        (PostingDraft(1, Side.DEBIT, usd(0)), PostingDraft(2, Side.CREDIT, usd(0))),
        (PostingDraft(1, Side.DEBIT, usd(-5)), PostingDraft(2, Side.CREDIT, usd(-5))),
        (
            PostingDraft(1, Side.DEBIT, usd(100)),
            PostingDraft(2, Side.CREDIT, Money(100, Currency.EUR)),
        ),
    ],
)
def test_unbalanced_or_degenerate_entries_are_refused(postings: tuple[PostingDraft, ...]) -> None:
    with pytest.raises(UnbalancedEntry):
        _validate(EntryDraft("t", postings))
