"""CSV exports: one writer, which keeps typed text from running as a spreadsheet formula."""

from __future__ import annotations

import ast
import csv
import io
from pathlib import Path

import pytest

from portal.csvexport import cell, write_csv

PORTAL = Path(__file__).resolve().parents[1] / "portal"


@pytest.mark.parametrize("typed", ["=1+1", "+1+1", "-1+cmd|' /C calc'!A0", "@SUM(A1)", "\t=1", "\r=1", "-", "+"])
def test_text_a_spreadsheet_would_run_is_written_as_text(typed: str) -> None:
    assert cell(typed) == "'" + typed


@pytest.mark.parametrize("number", ["-12", "-12,5", "-1.234,50", "-0.5", "+3", "42"])
def test_plain_numbers_stay_numbers_even_when_negative(number: str) -> None:
    assert cell(number) == number


def test_numbers_and_empty_cells_are_written_as_they_are() -> None:
    text = write_csv(["navn", "tal", "tom"], [["Tomgang", -3.5, None], ["=A1", -7, ""]])
    assert list(csv.reader(io.StringIO(text), delimiter=";")) == [
        ["navn", "tal", "tom"], ["Tomgang", "-3.5", ""], ["'=A1", "-7", ""]]


def test_every_csv_export_goes_through_the_one_writer() -> None:
    """No module but portal/csvexport.py writes CSV (csv.writer or csv.DictWriter)."""
    writers = []
    for path in PORTAL.rglob("*.py"):
        if path.name == "csvexport.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("writer", "DictWriter") and \
                    isinstance(node.value, ast.Name) and node.value.id == "csv":
                writers.append(str(path.relative_to(PORTAL)))
            if isinstance(node, ast.ImportFrom) and node.module == "csv" and \
                    any(alias.name in ("writer", "DictWriter") for alias in node.names):
                writers.append(str(path.relative_to(PORTAL)))
    assert writers == [], f"CSV written outside portal/csvexport.py: {writers}"
