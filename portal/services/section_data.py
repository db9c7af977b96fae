"""The typed data of an agreement section: what may be stored, and what may be shown.

`validate_section_data` guards every write (the forms and the API go through
`update_agreement`): known keys only, numbers that are numbers and in range, text that is text.
`readable_section_data` is for every reader (pages, the API, the allocation log): revisions are
immutable, so data stored before the guard existed stays; it keeps only the well-formed values,
so nothing stored can break a page.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

MAX_STEPS = 1000
MAX_TEXT = 5000

# Per section kind: key → (check, message). A check answers the value to store, or raises ValueError.
Check = Callable[[Any], Any]


def _number(low: float, high: float, *, whole: bool = False, optional: bool = True) -> Check:
    def check(value: Any) -> Any:
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError
        if whole and not float(value).is_integer():
            raise ValueError
        if not low <= value <= high:
            raise ValueError
        return int(value) if whole else value

    return check


def _text(value: Any) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise ValueError
    return value


_ALLOCATION: dict[str, tuple[Check, str]] = {
    "share_percent": (_number(0, 100), "Andelen skal være et tal mellem 0 og 100."),
    "quota_per_year": (_number(0, 1_000_000, whole=True), "Antallet af boliger skal være et helt tal fra 0."),
}
_STEP: dict[str, tuple[Check, str]] = {
    "department_id": (_number(1, 2**31 - 1, whole=True, optional=False), "Afdelingens id, et helt tal."),
    "department": (_text, "Afdelingens navn, en tekst."),
    "year": (_number(1900, 2200, whole=True, optional=False), "Et årstal mellem 1900 og 2200."),
    "step": (_number(0, 99, whole=True, optional=False), "Trinnets nummer, et helt tal fra 0 til 99."),
    "share_percent": (_number(0, 100), "Andelen skal være et tal mellem 0 og 100."),
    "criteria": (_text, "Kriterierne, en tekst."),
}
_REQUIRED_STEP = ("department_id", "year", "step")


def validate_section_data(kind: str, data: Any, field: str, departments: Mapping[int, str]) -> tuple[Any, dict[str, str]]:
    """(the data to store, errors by field path under `field`). `departments`: id → label of the
    departments a trappemodel row may name (those of the agreement's parties). A row may name its
    department by id under `department` too (as early clients did); it is stored as `department_id`."""
    errors: dict[str, str] = {}
    if not isinstance(data, dict):
        return data, {field: "Et objekt."}
    if kind == "allocation":
        return _checked(data, _ALLOCATION, field, errors), errors
    if kind == "trappemodel":
        unknown = set(data) - {"steps"}
        for key in sorted(unknown, key=str):
            errors[f"{field}.{key}"] = "Ukendt felt."
        steps = data.get("steps", [])
        if not isinstance(steps, list) or len(steps) > MAX_STEPS:
            errors[f"{field}.steps"] = f"En liste med højst {MAX_STEPS} rækker."
            return data, errors
        rows = []
        for index, row in enumerate(steps):
            where = f"{field}.steps[{index}]"
            if not isinstance(row, dict):
                errors[where] = "Et objekt."
                continue
            if "department_id" not in row and isinstance(row.get("department"), int) \
                    and not isinstance(row.get("department"), bool):
                row = {**row, "department_id": row["department"], "department": ""}
            checked = _checked(row, _STEP, where, errors)
            for key in _REQUIRED_STEP:
                if key not in row:
                    errors[f"{where}.{key}"] = "Mangler."
            department_id = checked.get("department_id")
            if isinstance(department_id, int):
                if department_id not in departments:
                    errors[f"{where}.department_id"] = "Afdelingen hører ikke til en af aftalens parter."
                elif not checked.get("department"):
                    checked["department"] = departments[department_id]
            rows.append(checked)
        return {"steps": rows}, errors
    if data:
        errors[field] = "Afsnittet har ingen tal; send et tomt objekt."
    return {}, errors


def _checked(data: dict[str, Any], schema: dict[str, tuple[Check, str]], field: str,
             errors: dict[str, str]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in data.items():
        if key not in schema:
            errors[f"{field}.{key}"] = "Ukendt felt."
            continue
        check, message = schema[key]
        try:
            result[key] = check(value)
        except ValueError:
            errors[f"{field}.{key}"] = message
    return result


def readable_section_data(kind: Any, data: Any) -> dict[str, Any]:
    """The well-formed part of stored data, whatever was stored: malformed values are left out
    (a trappemodel always has its `steps` list)."""
    if kind == "trappemodel" and not isinstance(data, dict):
        return {"steps": []}
    if not isinstance(data, dict):
        return {}
    if kind == "allocation":
        return _readable(data, _ALLOCATION)
    if kind == "trappemodel":
        steps = data.get("steps")
        rows = []
        for row in steps if isinstance(steps, list) else []:
            if not isinstance(row, dict):
                continue
            # Early rows kept the department's id under "department".
            if "department_id" not in row and isinstance(row.get("department"), int):
                row = {**row, "department_id": row["department"], "department": ""}
            rows.append(_readable(row, _STEP))
        return {"steps": rows}
    return {}


def _readable(data: dict[str, Any], schema: dict[str, tuple[Check, str]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, (check, _message) in schema.items():
        if key in data:
            try:
                result[key] = check(data[key])
            except ValueError:
                continue
    return result
