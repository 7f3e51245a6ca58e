"""Splitting an amount among people, and the fewest payments that settle a group.

Everything is integer minor units. Rounding is deterministic: members are ordered by
user id, and remainders go by the largest fractional part, ties to the earlier member
(docs/splits.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from fractions import Fraction

# Groups with more members in debt or credit than this settle greedily (at most n - 1
# payments) instead of by the exact search, which is exponential in their number.
EXACT_SETTLEMENT_LIMIT = 12


class SplitMethod(Enum):
    EQUAL = "equal"
    EXACT = "exact"
    PERCENT = "percent"
    SHARES = "shares"


class InvalidSplit(ValueError):
    """The split's values do not describe a split of this amount."""


def _largest_remainder(total: int, weights: Mapping[int, Fraction]) -> dict[int, int]:
    whole = sum(weights.values(), Fraction(0))
    if whole <= 0:
        raise InvalidSplit("at least one share must be more than zero")
    exact = {m: total * w / whole for m, w in weights.items()}
    shares = {m: int(e) for m, e in exact.items()}  # floor: totals are positive
    left = total - sum(shares.values())
    by_fraction = sorted(exact, key=lambda m: (-(exact[m] - shares[m]), m))
    for m in by_fraction[:left]:
        shares[m] += 1
    return shares


def split_amount(
    total: int,
    method: SplitMethod,
    members: Sequence[int],
    values: Mapping[int, Decimal] | None = None,
) -> dict[int, int]:
    """Each member's share of `total`; the shares add up to `total` exactly.

    EQUAL ignores `values`; EXACT takes minor units; PERCENT takes percentages adding up
    to 100; SHARES takes non-negative weights (e.g. nights stayed).
    """
    if total <= 0:
        raise InvalidSplit("the amount must be more than zero")
    ordered = sorted(set(members))
    if not ordered:
        raise InvalidSplit("split among at least one member")
    values = values or {}
    if method is not SplitMethod.EQUAL:
        if set(values) != set(ordered):
            raise InvalidSplit("give a value for every member of the split, and only them")
        if any(v < 0 or not v.is_finite() for v in values.values()):
            raise InvalidSplit("values cannot be negative")
    match method:
        case SplitMethod.EQUAL:
            return _largest_remainder(total, {m: Fraction(1) for m in ordered})
        case SplitMethod.EXACT:
            if any(v != v.to_integral_value() for v in values.values()):
                raise InvalidSplit("exact shares are whole minor units")
            exact = {m: int(values[m]) for m in ordered}
            if sum(exact.values()) != total:
                raise InvalidSplit(
                    f"the shares add up to {sum(exact.values())}, not {total} (minor units)"
                )
            return exact
        case SplitMethod.PERCENT:
            if sum(values.values(), Decimal(0)) != 100:
                raise InvalidSplit("percentages must add up to 100")
            return _largest_remainder(total, {m: Fraction(values[m]) for m in ordered})
        case SplitMethod.SHARES:
            return _largest_remainder(total, {m: Fraction(values[m]) for m in ordered})


@dataclass(frozen=True, slots=True)
class Payment:
    payer: int
    payee: int
    amount: int


def _settle_greedily(net: dict[int, int]) -> list[Payment]:
    """Largest debtor pays largest creditor until everyone is square (<= n - 1 payments)."""
    debtors = sorted((-v, m) for m, v in net.items() if v < 0)
    creditors = sorted((v, m) for m, v in net.items() if v > 0)
    payments: list[Payment] = []
    while debtors and creditors:
        owed, debtor = debtors.pop()
        due, creditor = creditors.pop()
        amount = min(owed, due)
        payments.append(Payment(debtor, creditor, amount))
        if owed > amount:
            debtors.append((owed - amount, debtor))
            debtors.sort()
        if due > amount:
            creditors.append((due - amount, creditor))
            creditors.sort()
    return payments


def _zero_sum_groups(members: list[int], values: list[int]) -> list[list[int]]:
    """Split members into the most subsets whose nets each sum to zero (exact search).

    A subset of k members settles in k - 1 payments, so the most subsets means the
    fewest payments overall. dp[mask] is the most zero-sum prefixes over any order of
    the members in mask; walking back along the best order recovers the subsets.
    """
    n = len(values)
    full = (1 << n) - 1
    sums = [0] * (full + 1)
    for mask in range(1, full + 1):
        low = mask & -mask
        sums[mask] = sums[mask ^ low] + values[low.bit_length() - 1]
    best = [0] * (full + 1)
    for mask in range(1, full + 1):
        top = 0
        bits = mask
        while bits:
            low = bits & -bits
            top = max(top, best[mask ^ low])
            bits ^= low
        best[mask] = top + (1 if sums[mask] == 0 else 0)
    groups: list[list[int]] = []
    current: list[int] = []
    mask = full
    while mask:
        bits, removed = mask, -1
        while bits:
            low = bits & -bits
            if best[mask ^ low] + (1 if sums[mask] == 0 else 0) == best[mask]:
                removed = low.bit_length() - 1
                break
            bits ^= low
        current.append(members[removed])
        mask ^= 1 << removed
        if sums[mask] == 0:
            groups.append(current)
            current = []
    return groups


def simplify_debts(net: Mapping[int, int]) -> list[Payment]:
    """The fewest payments that bring every member's net position to zero.

    `net` is what each member is owed (positive) or owes (negative); it sums to zero.
    Exact for up to EXACT_SETTLEMENT_LIMIT members with a non-zero position, greedy
    (never more than n - 1 payments) above that.
    """
    if sum(net.values()) != 0:
        raise InvalidSplit("net positions must sum to zero")
    open_positions = {m: v for m, v in sorted(net.items()) if v != 0}
    if len(open_positions) > EXACT_SETTLEMENT_LIMIT:
        return _settle_greedily(open_positions)
    members = list(open_positions)
    payments: list[Payment] = []
    for group in _zero_sum_groups(members, [open_positions[m] for m in members]):
        payments.extend(_settle_greedily({m: open_positions[m] for m in group}))
    return payments
