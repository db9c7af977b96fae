"""In a real browser: two editors change the same line of an agreement at once; the second
sees both texts side by side, resolves them and saves; nothing is lost, and the pages meet
WCAG 2.1 AA (axe-core)."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.browser.conftest import axe_violations, logged_in

pytestmark = pytest.mark.browser

MUNI_EDITOR = "redaktoer@fjordby.dk"
ORG_EDITOR = "redaktoer@fjordby-boligselskab.dk"
BASE_TEXT = "Kommunen råder over den aftalte andel af de ledige familieboliger til løsning af boligsociale opgaver."


def _logged_in(browser, live_server: str, email: str, *, bypass_csp: bool):  # type: ignore[no-untyped-def]
    return logged_in(browser, live_server, email, bypass_csp=bypass_csp)


def _section(page, heading: str):  # type: ignore[no-untyped-def]
    return page.locator("fieldset[data-section]", has=page.locator("legend", has_text=heading))


def test_two_editors_resolve_a_conflict_in_the_browser(browser, live_server: str) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    muni_context, muni = _logged_in(browser, live_server, MUNI_EDITOR, bypass_csp=False)
    org_context, org = _logged_in(browser, live_server, ORG_EDITOR, bypass_csp=True)
    console_errors: list[str] = []
    muni.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
    try:
        # The municipality's editor creates the agreement through the form.
        title = f"Udlejningsaftale {uuid.uuid4().hex[:6]}"
        muni.goto(f"{live_server}/aftaler/ny")
        muni.get_by_label("Titel").fill(title)
        muni.get_by_label("Aftaletype").select_option("individuel")
        muni.get_by_label("Fjordby Boligselskab", exact=True).check()
        muni.get_by_label("Aftaleperiodens start").fill("2026-01-01")
        muni.get_by_label("Aftaleperiodens slutning").fill("2029-12-31")
        muni.get_by_role("button", name="Opret aftalen").click()
        muni.wait_for_url(re.compile(r".*/aftaler/\d+$"))
        agreement_url = muni.url
        expect(muni.get_by_role("heading", level=1)).to_have_text(title)

        # The organisation is invited: it sees the invitation only, and accepts to take part.
        org.goto(agreement_url)
        expect(org.get_by_text("Kommunal anvisning (LAB § 59, stk. 1)")).to_have_count(0)
        org.get_by_role("button", name="Acceptér og bliv part").click()
        org.wait_for_url(agreement_url)
        expect(org.get_by_text("I er nu part i aftalen.")).to_be_visible()

        # Both open the editor; each sees the other in the section they are in.
        muni.goto(f"{agreement_url}/rediger")
        org.goto(f"{agreement_url}/rediger")
        muni_section, org_section = _section(muni, "Kommunal anvisning"), _section(org, "Kommunal anvisning")
        sid = org_section.get_attribute("data-section")
        muni_text, org_text = muni_section.get_by_label("Tekst", exact=True), org_section.get_by_label("Tekst", exact=True)
        expect(org_text).to_have_value(BASE_TEXT)
        muni_text.click()
        org_text.click()
        expect(org.locator(f'[data-presence-for="{sid}"]')).to_have_text("Også i gang: Lars Tilsyn")

        # A trappemodel row is added with the button (JavaScript), numbered after the empty row.
        steps = _section(muni, "Trappemodel")
        steps.get_by_role("button", name="Tilføj række").click()
        expect(steps.locator("tr[data-step-row]")).to_have_count(2)
        expect(steps.get_by_label("Afdeling, række 2")).to_be_focused()

        # Both change the same line; the municipality saves first.
        theirs = BASE_TEXT.replace("den aftalte andel", "30 %")
        mine = BASE_TEXT.replace("den aftalte andel", "20 %")
        muni_text.fill(theirs)
        org_text.fill(mine)
        muni.get_by_role("button", name="Gem ændringerne").click()
        muni.wait_for_url(agreement_url)
        expect(muni.get_by_text("Revision 2 er gemt.")).to_be_visible()

        # The organisation's editor saves second and gets both texts side by side.
        org.get_by_role("button", name="Gem ændringerne").click()
        expect(org.get_by_role("heading", level=1)).to_have_text("Løs konflikten")
        expect(org.locator(".conflict-mine")).to_contain_text(mine)
        expect(org.locator(".conflict-theirs")).to_contain_text(theirs)
        expect(org.locator(".conflict-column").first).to_contain_text(BASE_TEXT)
        resolution = org.get_by_label("Løst tekst")
        expect(resolution).to_have_value(mine)
        assert axe_violations(org) == []

        resolved = BASE_TEXT.replace("den aftalte andel", "25 % (kompromis)")
        resolution.fill(resolved)
        org.get_by_role("button", name="Gem den løste tekst").click()
        org.wait_for_url(agreement_url)
        expect(org.get_by_text("Revision 3 er gemt.")).to_be_visible()
        expect(org.locator(f"#afsnit-{sid} .agreement-text")).to_have_text(resolved)
        assert axe_violations(org) == []

        # The first editor's text is kept in the history.
        org.goto(f"{agreement_url}/historik")
        org.get_by_role("link", name="Se ændringerne i revision 2").click()
        expect(org.locator(".diff ins").first).to_have_text("30")
        # Without the removed words, the diff reads as the first editor's text.
        after = org.locator(".diff").evaluate(
            "d => { const c = d.cloneNode(true); c.querySelectorAll('del').forEach(e => e.remove()); return c.textContent; }")
        assert after == theirs
        assert axe_violations(org) == []
    finally:
        muni_context.close()
        org_context.close()
    assert console_errors == []
