"""The domains that query through Piccolo hold no hand-written SQL strings; what Piccolo
cannot express goes through `Table.raw`, visibly (docs/architecture.md, "Piccolo")."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import wallet

PICCOLO_MODULES = [
    "goals/service.py",
    "notifications/money.py",
    "users/welcome.py",
    "security/devices.py",
    "insights/budgets.py",
    "insights/categories.py",
    "insights/reminders.py",
    "insights/trends.py",
    "kyc/service.py",
    "merchants/bills.py",
    "merchants/service.py",
    "merchants/approval.py",
    "splits/service.py",
]

SQL = re.compile(r"\b(SELECT|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b", re.IGNORECASE)


def sql_strings_outside_raw(source: str) -> list[tuple[int, str]]:
    """String constants that look like SQL, except the first argument of `X.raw(...)`."""
    tree = ast.parse(source)
    allowed: set[int] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "raw"
            and node.args
        ):
            allowed.update(id(n) for n in ast.walk(node.args[0]))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in allowed
        and SQL.search(node.value)
        and not node.value.lstrip().startswith(("Piccolo", "The ", "A ", "An "))
    ]


@pytest.mark.parametrize("module", PICCOLO_MODULES)
def test_piccolo_domain_has_no_hand_written_sql(module: str) -> None:
    source = (Path(wallet.__file__).parent / module).read_text()
    assert sql_strings_outside_raw(source) == []


def test_the_check_finds_sql_and_lets_raw_through() -> None:
    source = (
        "async def f(conn):\n"
        '    await conn.fetch("SELECT id FROM savings_goal WHERE user_id = $1", 1)\n'
        "    await SavingsGoal.raw(\"SELECT nextval('savings_goal_id_seq')\")\n"
    )
    assert [line for line, _ in sql_strings_outside_raw(source)] == [2]
