"""In a real browser: logging in works, and the login and front pages meet WCAG 2.1 AA (axe-core)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import axe_violations, log_in

pytestmark = pytest.mark.browser


def _log_in(page, live_server: str, email: str) -> None:  # type: ignore[no-untyped-def]
    log_in(page, live_server, email, wait=False)


def test_login_page_is_accessible(page, live_server: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live_server}/log-ind")
    assert page.title().startswith("Log ind")
    assert axe_violations(page) == []


def test_failed_login_shows_an_accessible_error(page, live_server: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live_server}/log-ind")
    page.get_by_label("E-mailadresse").fill("ingen@example.dk")
    page.get_by_label("Adgangskode").fill("forkert-forkert")
    page.get_by_role("button", name="Log ind").click()
    assert page.get_by_role("alert").inner_text().count("forkert") >= 1
    assert axe_violations(page) == []


@pytest.mark.parametrize("email, heading", [
    ("administrator@fjordby.dk", "Fjordby Kommune"),
    ("redaktoer@fjordby-boligselskab.dk", "Velkommen, Peter Afdeling"),
    ("forretningsfoerer@fjordby-boligadministration.dk", "Velkommen, Jonas Forretningsfører"),
])
def test_log_in_reaches_the_front_page_for_the_role(page, live_server: str, email: str, heading: str) -> None:  # type: ignore[no-untyped-def]
    _log_in(page, live_server, email)
    page.wait_for_url(f"{live_server}/")
    assert page.get_by_role("heading", level=1).inner_text() == heading
    assert axe_violations(page) == []


def test_skip_link_moves_focus_to_the_content(page, live_server: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live_server}/log-ind")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert "Gå til sidens indhold" in focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main-content"


def test_a_page_with_a_scrolling_table_fits_a_phone(page, live_server: str) -> None:  # type: ignore[no-untyped-def]
    """The table scrolls inside its own container; its hidden labels must not widen the page (WCAG 1.4.10)."""
    page.set_viewport_size({"width": 320, "height": 800})
    _log_in(page, live_server, "redaktoer@fjordby-boligselskab.dk")
    page.wait_for_url(f"{live_server}/")
    page.goto(f"{live_server}/profil")
    assert page.locator("#api-tokens").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
