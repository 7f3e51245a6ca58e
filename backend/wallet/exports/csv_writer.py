"""The one CSV writer for every file the product produces (transaction exports, the
GDPR archive, merchant settlement reports), so that no column can be left undefended
against formula injection.

A spreadsheet runs a cell that starts with =, +, -, @, tab or carriage return as a
formula (OWASP's list); such a cell gets a leading apostrophe, which spreadsheets show
as text. Plain numbers ("-12.34", "+5") are not formulas and stay numbers.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def safe_cell(value: object) -> str | int | Decimal:
    """`value` as a CSV cell that no spreadsheet will evaluate."""
    if value is None:
        return ""
    if isinstance(value, int | Decimal):
        return value
    text = value if isinstance(value, str) else str(value)
    if text.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_text(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A CSV document (RFC 4180 line endings): the header, then every row, each cell
    through `safe_cell` (the header too: column names can come from data)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(c) for c in columns])
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()


def records_csv(records: Sequence[Mapping[str, object]]) -> str:
    """Records with possibly different keys as one table: the union of their keys, in
    order of first appearance; a missing value is an empty cell."""
    columns = list(dict.fromkeys(k for r in records for k in r))
    return csv_text(columns, ([r.get(c) for c in columns] for r in records))
