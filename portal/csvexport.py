"""Every CSV file the portal hands out is written here, and nowhere else.

Spreadsheet programs run a cell that starts with "=", "+", "-" or "@" as a formula (and a
leading tab or carriage return can hide one), so a title, a comment or an e-mail address typed
by a user could otherwise run in the municipality's Excel ("=HYPERLINK(...)", "@SUM(...)").
Such a cell is written with a leading apostrophe, which the spreadsheet shows as text.

Numbers stay numbers: a cell that is a number (an int or float, or text that is only a plain
number such as "-12,5" or "-1.234,50") is written as it is, so a genuinely negative figure is
still read as a negative figure. Only cells that are not a plain number are neutralised.

Use `write_csv` for any export; to read CSV (the key-figure import) use the `csv` module.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DELIMITER = ";"  # what Danish spreadsheet programs expect

# A plain number in either notation, with an optional sign: -12, -12.5, -12,5, -1.234,50.
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)*")


def cell(value: Any) -> Any:
    """The value as it is safe to write: numbers as they are, text that a spreadsheet would run
    as a formula behind an apostrophe, None as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def write_csv(header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> str:
    """The CSV text (semicolon separated) of a header and rows, every cell through `cell`."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=DELIMITER)
    writer.writerow([cell(v) for v in header])
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return out.getvalue()
