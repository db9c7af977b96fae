"""Due dates of recurring obligations: monthly, quarterly or yearly from an anchor date.

Each occurrence is computed from the anchor, never from the previous occurrence, so a
31 January anchor gives 29 February in a leap year and then 31 March again, and a
29 February anchor falls on 28 February in other years.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import date

MONTHS = {"monthly": 1, "quarterly": 3, "yearly": 12}


def add_months(anchor: date, months: int) -> date:
    year, month0 = divmod(anchor.month - 1 + months, 12)
    year += anchor.year
    last_day = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(anchor.day, last_day))


def occurrences(anchor: date, recurrence: str, *, until: date, end: date | None = None) -> Iterator[date]:
    """Due dates from `anchor` on, up to and including `until` (and `end`, when the obligation ends)."""
    if recurrence == "none":
        if anchor <= until and (end is None or anchor <= end):
            yield anchor
        return
    step = MONTHS[recurrence]
    stop = min(until, end) if end is not None else until
    n = 0
    while (due := add_months(anchor, n * step)) <= stop:
        yield due
        n += 1
