"""The ledger owns its tables (issue 15): outside `wallet.ledger`, no SQL names a ledger
table or view, and no module imports the ledger's Piccolo tables. Other domains read
balances, change account status and join the ledger into their own queries through
`wallet.ledger` functions and the ledger's SQL functions (migration 0044);
docs/ledger.md, "The ledger's boundary"."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import wallet

BACKEND = Path(wallet.__file__).parent
REPO = BACKEND.parent.parent
LEDGER = BACKEND / "ledger"

# Files allowed to name ledger tables, each with why. Keep this list short (today,
# none: the batched send path locks and writes accounts through wallet.ledger too).
ALLOWED: set[str] = set()

# A string is SQL if it has a statement keyword or a FROM/JOIN/INTO clause in SQL's case.
SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|TRUNCATE|(FROM|JOIN|INTO)\s+\w)")


def ledger_relations() -> set[str]:
    """The ledger's tables (its Piccolo classes) and the views its migrations create."""
    names = set(re.findall(r'tablename="(\w+)"', (LEDGER / "tables.py").read_text()))
    for sql in sorted((REPO / "migrations" / "sql").glob("*.sql")):
        names |= set(re.findall(r"CREATE (?:OR REPLACE )?VIEW (ledger_\w+)", sql.read_text()))
    return names


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and (
            node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        ):
            found.add(id(node.body[0].value))
    return found


def offences(source: str, relations: set[str], *, tables_module: bool = False) -> list[str]:
    """Where `source` names a ledger relation in a SQL string, or imports the ledger's
    Piccolo tables. A name with an underscore (`ledger_account`) is never prose, so any
    string holding it counts; a plain word (`posting`) counts inside SQL only."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    words = {n: re.compile(rf"\b{n}\b") for n in relations}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            text = node.value
            for name, pattern in sorted(words.items()):
                if pattern.search(text) and ("_" in name or SQL.search(text)):
                    found.append(f"line {node.lineno}: SQL names {name}")
            # A Piccolo foreign key to a ledger table is part of a domain's schema
            # (tables.py); anywhere else the reference would be a way into the tables.
            if text == "wallet.ledger.tables" and not tables_module:
                found.append(f"line {node.lineno}: refers to wallet.ledger.tables")
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            imported = {f"{node.module}.{a.name}" for a in node.names} | {node.module}
            if "wallet.ledger.tables" in imported:
                found.append(f"line {node.lineno}: imports wallet.ledger.tables")
        elif isinstance(node, ast.Import) and any(
            a.name.startswith("wallet.ledger.tables") for a in node.names
        ):
            found.append(f"line {node.lineno}: imports wallet.ledger.tables")
    return found


def _outside_the_ledger() -> list[Path]:
    files = [*BACKEND.rglob("*.py"), *(REPO / "workers").rglob("*.py")]
    return sorted(f for f in files if LEDGER not in f.parents)


def test_the_ledger_relations_are_known() -> None:
    relations = ledger_relations()
    assert {
        "ledger_account",
        "journal_entry",
        "posting",
        "ledger_hold",
        "ledger_account_delta",
        "posting_snapshot",
        "ledger_balance",
        "ledger_chain",
    } <= relations


def test_no_sql_outside_the_ledger_names_a_ledger_table() -> None:
    relations = ledger_relations()
    report = []
    for path in _outside_the_ledger():
        name = str(path.relative_to(REPO))
        if name in ALLOWED:
            continue
        for offence in offences(
            path.read_text(), relations, tables_module=path.name == "tables.py"
        ):
            report.append(f"{name} {offence}")
    assert report == [], "\n".join(
        ["The ledger owns its tables: go through wallet.ledger instead.", *report]
    )


def test_the_allowed_files_exist() -> None:
    for name in ALLOWED:
        assert (REPO / name).is_file(), f"{name} is gone: take it off the allow-list"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('q = "SELECT id FROM ledger_account WHERE code = $1"', ["SQL names ledger_account"]),
        ('q = "SELECT * FROM posting WHERE entry_id = $1"', ["SQL names posting"]),
        ('q = f"SELECT {cols} FROM ledger_balance"', ["SQL names ledger_balance"]),
        ('JOIN = "ledger_chain c JOIN x"', ["SQL names ledger_chain"]),
        ("from wallet.ledger.tables import LedgerAccount", ["imports wallet.ledger.tables"]),
        ("from wallet.ledger import tables", ["imports wallet.ledger.tables"]),
        ("import wallet.ledger.tables", ["imports wallet.ledger.tables"]),
        ('r = references("LedgerAccount", "wallet.ledger.tables")', ["refers to"]),
        # Prose and data that merely use the word.
        ('d = "Every posting on your balances, newest first."', []),
        ('line = "posting"', []),
        ('def f():\n    """Reads ledger_balance."""', []),
        ('q = "SELECT * FROM ledger_available(1)"', []),
    ],
)
def test_the_scanner_finds_what_it_should(source: str, expected: list[str]) -> None:
    found = offences(source, ledger_relations())
    assert len(found) == len(expected)
    for message, fragment in zip(found, expected, strict=True):
        assert fragment in message


def other_domains_tables() -> set[str]:
    """Every table a domain other than the ledger declares (`wallet/<domain>/tables.py`)."""
    names: set[str] = set()
    for tables in BACKEND.glob("*/tables.py"):
        if tables.parent != LEDGER:
            names |= set(re.findall(r'tablename="(\w+)"', tables.read_text()))
    return names


def reads_of(source: str, tables: set[str]) -> list[str]:
    """Where a string in `source` reads or writes one of `tables` (FROM/JOIN/UPDATE/INTO)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            for name in sorted(tables):
                if re.search(rf"\b(FROM|JOIN|UPDATE|INTO)\s+{name}\b", node.value):
                    found.append(f"line {node.lineno}: SQL reads {name}")
    return found


def test_the_ledger_reads_no_other_domains_table() -> None:
    """The boundary both ways: what a system account must hold because of a domain's rows
    is checked by that domain (wallet.checks runs them all)."""
    tables = other_domains_tables()
    assert {"money_transaction", "dispute", "chargeback_debt"} <= tables
    report = [
        f"{path.relative_to(REPO)} {offence}"
        for path in sorted(LEDGER.rglob("*.py"))
        for offence in reads_of(path.read_text(), tables)
    ]
    assert report == [], "\n".join(report)
