"""Recurring due dates across month ends and leap years."""

from __future__ import annotations

from datetime import date

from portal.recurrence import add_months, occurrences


def test_monthly_from_the_31st_follows_month_ends_and_returns_to_the_31st() -> None:
    dates = list(occurrences(date(2024, 1, 31), "monthly", until=date(2024, 5, 31)))
    assert dates == [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30), date(2024, 5, 31)]
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)


def test_quarterly_reports_fall_at_each_quarter_end() -> None:
    dates = list(occurrences(date(2025, 3, 31), "quarterly", until=date(2026, 3, 31)))
    assert dates == [date(2025, 3, 31), date(2025, 6, 30), date(2025, 9, 30), date(2025, 12, 31), date(2026, 3, 31)]


def test_yearly_from_29_february_uses_28_february_in_other_years() -> None:
    dates = list(occurrences(date(2024, 2, 29), "yearly", until=date(2029, 1, 1)))
    assert dates == [date(2024, 2, 29), date(2025, 2, 28), date(2026, 2, 28), date(2027, 2, 28), date(2028, 2, 29)]


def test_end_date_and_one_off_obligations() -> None:
    assert list(occurrences(date(2025, 1, 15), "monthly", until=date(2030, 1, 1), end=date(2025, 3, 1))) == [
        date(2025, 1, 15), date(2025, 2, 15)]
    assert list(occurrences(date(2026, 3, 1), "none", until=date(2026, 12, 31))) == [date(2026, 3, 1)]
    assert list(occurrences(date(2027, 3, 1), "none", until=date(2026, 12, 31))) == []
