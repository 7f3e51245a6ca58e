"""Splits add up exactly; settling a group keeps every net position, in the fewest payments."""

from collections import defaultdict
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wallet.splits.arithmetic import (
    EXACT_SETTLEMENT_LIMIT,
    InvalidSplit,
    Payment,
    SplitMethod,
    simplify_debts,
    split_amount,
)

members = st.lists(st.integers(1, 10_000), min_size=1, max_size=12, unique=True)
totals = st.integers(1, 10**12)


@settings(max_examples=300, deadline=None)
@given(total=totals, people=members)
def test_an_equal_split_adds_up_and_differs_by_at_most_one_unit(
    total: int, people: list[int]
) -> None:
    shares = split_amount(total, SplitMethod.EQUAL, people)
    assert sum(shares.values()) == total
    assert set(shares) == set(people)
    assert max(shares.values()) - min(shares.values()) <= 1
    # The extra units go to the earliest members (by id): deterministic.
    ordered = [shares[m] for m in sorted(people)]
    assert ordered == sorted(ordered, reverse=True)


@settings(max_examples=300, deadline=None)
@given(total=totals, data=st.data())
def test_shares_and_percentages_add_up_exactly(total: int, data: st.DataObject) -> None:
    people = data.draw(members)
    weights = {m: Decimal(data.draw(st.integers(0, 50))) for m in people}
    if sum(weights.values()) == 0:
        weights[people[0]] = Decimal(1)
    shares = split_amount(total, SplitMethod.SHARES, people, weights)
    assert sum(shares.values()) == total
    whole = sum(weights.values())
    for m in people:  # each share is within one unit of its exact value
        assert abs(shares[m] - total * weights[m] / whole) < 1
        if weights[m] == 0:
            assert shares[m] == 0

    cuts = sorted(
        data.draw(
            st.lists(st.integers(0, 10_000), min_size=len(people) - 1, max_size=len(people) - 1)
        )
    )
    bounds = [0, *cuts, 10_000]
    percents = {m: Decimal(bounds[i + 1] - bounds[i]) / 100 for i, m in enumerate(sorted(people))}
    by_percent = split_amount(total, SplitMethod.PERCENT, people, percents)
    assert sum(by_percent.values()) == total


def test_worked_examples() -> None:
    assert split_amount(1000, SplitMethod.EQUAL, [3, 1, 2]) == {1: 334, 2: 333, 3: 333}
    assert split_amount(
        1000, SplitMethod.PERCENT, [1, 2, 3], {1: Decimal(50), 2: Decimal(25), 3: Decimal(25)}
    ) == {1: 500, 2: 250, 3: 250}
    # 100 in shares 1:1:1 -> 33.33... each; the one left over goes to the first member.
    assert split_amount(
        100, SplitMethod.SHARES, [2, 1, 3], {1: Decimal(1), 2: Decimal(1), 3: Decimal(1)}
    ) == {1: 34, 2: 33, 3: 33}
    # 10 by 2:1 -> 6.67 and 3.33: the bigger fraction gets the unit.
    assert split_amount(10, SplitMethod.SHARES, [1, 2], {1: Decimal(2), 2: Decimal(1)}) == {
        1: 7,
        2: 3,
    }


@pytest.mark.parametrize(
    ("method", "values"),
    [
        (SplitMethod.EXACT, {1: Decimal(500), 2: Decimal(400)}),
        (SplitMethod.EXACT, {1: Decimal("500.5"), 2: Decimal("499.5")}),
        (SplitMethod.PERCENT, {1: Decimal(60), 2: Decimal(30)}),
        (SplitMethod.SHARES, {1: Decimal(0), 2: Decimal(0)}),
        (SplitMethod.SHARES, {1: Decimal(-1), 2: Decimal(2)}),
        (SplitMethod.SHARES, {1: Decimal(1)}),
    ],
)
def test_splits_that_do_not_add_up_are_refused(method: SplitMethod, values: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(InvalidSplit):
        split_amount(1000, method, [1, 2], values)


def apply(net: dict[int, int], payments: list[Payment]) -> dict[int, int]:
    after = defaultdict(int, net)
    for p in payments:
        after[p.payer] += p.amount
        after[p.payee] -= p.amount
    return dict(after)


def zero_sum_net(draw: st.DrawFn, size: int) -> dict[int, int]:
    values = draw(st.lists(st.integers(-500, 500), min_size=size - 1, max_size=size - 1))
    values.append(-sum(values))
    return {i + 1: v for i, v in enumerate(values)}


@st.composite
def nets(draw: st.DrawFn, max_size: int = EXACT_SETTLEMENT_LIMIT + 4) -> dict[int, int]:
    return zero_sum_net(draw, draw(st.integers(1, max_size)))


@settings(max_examples=300, deadline=None)
@given(net=nets())
def test_settling_keeps_every_net_position(net: dict[int, int]) -> None:
    payments = simplify_debts(net)
    assert all(v == 0 for v in apply(net, payments).values())
    assert all(p.amount > 0 and p.payer != p.payee for p in payments)
    open_positions = sum(1 for v in net.values() if v)
    assert len(payments) <= max(open_positions - 1, 0)
    for p in payments:  # only people who owe pay, only people owed are paid
        assert net[p.payer] < 0 < net[p.payee]


def fewest_payments(values: list[int]) -> int:
    """Brute force: n minus the most zero-sum blocks any partition has."""

    def most_blocks(items: tuple[int, ...]) -> int:
        if not items:
            return 0
        first, rest = items[0], items[1:]
        best = -1
        for mask in range(1 << len(rest)):
            block = [first] + [rest[i] for i in range(len(rest)) if mask >> i & 1]
            if sum(block) == 0:
                others = tuple(rest[i] for i in range(len(rest)) if not mask >> i & 1)
                best = max(best, 1 + most_blocks(others))
        return best

    open_values = tuple(v for v in values if v)
    return len(open_values) - most_blocks(open_values) if open_values else 0


@settings(max_examples=150, deadline=None)
@given(net=nets(max_size=7))
def test_the_settlement_is_the_fewest_payments_possible(net: dict[int, int]) -> None:
    assert len(simplify_debts(net)) == fewest_payments(list(net.values()))


def test_a_chain_of_debts_collapses() -> None:
    # A owes B 10, B owes C 10: A pays C directly.
    assert simplify_debts({1: -10, 2: 0, 3: 10}) == [Payment(1, 3, 10)]
    # Two independent pairs settle in two payments, not three.
    assert len(simplify_debts({1: -5, 2: 5, 3: -7, 4: -3, 5: 10})) == 3
    assert len(simplify_debts({1: -5, 2: 5, 3: -7, 4: 7})) == 2
