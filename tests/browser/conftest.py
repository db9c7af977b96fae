"""A live portal on loopback with the demo data, and a real Chromium driven by Playwright.

Debian's chromium is used (/usr/bin/chromium, or PORTAL_TEST_CHROMIUM); without it the
browser tests are skipped with a reason, except in CI, where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from portal import create_app
from portal.extensions import make_engine
from portal.migrate import upgrade
from portal.uow import unit_of_work
from tests.servers import missing

CHROMIUM = os.environ.get("PORTAL_TEST_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("live")
    url = f"sqlite:///{root / 'portal.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    app = create_app({"database_url": url, "storage_url": str(root / "objects"), "search_url": str(root / "search"),
                      "instance_dir": root, "session_cookie_secure": False, "secret_key": "browser-tests"})
    with app.app_context(), unit_of_work():
        from portal.demo import load_demo

        load_demo()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM:
        missing("chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the playwright package is not installed (make test installs it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    # bypass_csp lets the tests inject axe-core; the pages themselves keep their policy.
    context = browser.new_context(locale="da-DK", bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def log_in(page, base: str, email: str, *, wait: bool = True) -> None:  # type: ignore[no-untyped-def]
    """Log in through the form as a demo user (all share the demo password)."""
    from portal.demo import DEMO_PASSWORD

    page.goto(f"{base}/log-ind")
    page.get_by_label("E-mailadresse").fill(email)
    page.get_by_label("Adgangskode").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log ind").click()
    if wait:
        page.wait_for_url(f"{base}/")


def logged_in(browser, base: str, email: str, *, bypass_csp: bool = True):  # type: ignore[no-untyped-def]
    """A browser context of its own with `email` logged in, and its page. bypass_csp only so
    axe-core can be injected; the pages keep their own policy otherwise."""
    context = browser.new_context(locale="da-DK", bypass_csp=bypass_csp)
    page = context.new_page()
    page.set_default_timeout(10_000)
    log_in(page, base, email)
    return context, page


def axe_violations(page) -> list[dict]:  # type: ignore[no-untyped-def]
    """WCAG 2.1 A and AA violations axe-core finds on the page as it stands."""
    if not AXE.exists():
        missing("axe-core is not installed (make test runs npm ci)")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
    )
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "targets": [n["target"] for n in v["nodes"]][:5]} for v in result["violations"]]
