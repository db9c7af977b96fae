"""In a real browser: one organisation's styringsår from the documentation package to minutes in
the public archive. The organisation uploads and submits its package; the municipality accepts
it, plans and holds the meeting, records an agreement and drafts the minutes; the organisation
approves them; the municipality publishes them, and an anonymous visitor downloads them. The
municipality's overview follows the organisation's row step by step."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from tests.browser.conftest import axe_violations, logged_in
from tests.documents_helpers import make_pdf

pytestmark = pytest.mark.browser

MUNI_EDITOR = "redaktoer@fjordby.dk"
ORG_EDITOR = "redaktoer@fjordby-boligselskab.dk"
ORGANISATION = "Fjordby Boligselskab"
# A styringsår the demo data leaves untouched (it fills last year and this year), so the walk
# begins from nothing and every deadline of the year has passed.
YEAR = date.today().year - 2
OVERVIEW_STEPS = ["Dokumentationspakke modtaget", "Pakke godkendt", "Møde planlagt", "Møde afholdt",
                  "Referat udarbejdet", "Referat godkendt af organisationen", "Referat offentliggjort"]
DEADLINE_STEPS = ["Dokumentationspakke modtaget", "Pakke godkendt", "Møde afholdt", "Referat offentliggjort"]
AGREEMENT = "Plan for nedbringelse af tomgang i Kildeparken"
MINUTES_TITLE = f"Referat af styringsdialogmødet {YEAR} – {ORGANISATION}"


def _logged_in(browser, live_server: str, email: str):  # type: ignore[no-untyped-def]
    return logged_in(browser, live_server, email)


def _overview(page) -> tuple[list[str], list[str]]:  # type: ignore[no-untyped-def]
    """Open the overview for YEAR from the menu; the organisation's reached and overdue steps."""
    from playwright.sync_api import expect

    page.get_by_role("navigation").get_by_role("link", name="Styringsdialog", exact=True).click()
    page.wait_for_url("**/styringsdialog")  # the upload page has a field labelled »Styringsår« too
    page.get_by_label("Styringsår", exact=True).fill(str(YEAR))
    page.get_by_role("button", name="Vis").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Styringsdialog – styringsår {YEAR}")
    table = page.get_by_role("table", name="Organisationer og trin i styringsdialogen")
    headers = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    assert headers[1:len(OVERVIEW_STEPS) + 1] == OVERVIEW_STEPS
    row = table.get_by_role("row").filter(has=page.get_by_role("rowheader", name=ORGANISATION, exact=True))
    cells = row.locator("td").all_inner_texts()[:len(OVERVIEW_STEPS)]
    reached = [step for step, cell in zip(OVERVIEW_STEPS, cells) if "✓" in cell]
    overdue = [step for step, cell in zip(OVERVIEW_STEPS, cells) if "Frist overskredet" in cell]
    return reached, overdue


def _open_dialogue(page) -> None:  # type: ignore[no-untyped-def]
    """From the overview (already open) to the organisation's year."""
    from playwright.sync_api import expect

    page.get_by_role("rowheader", name=ORGANISATION, exact=True).get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Styringsdialog {YEAR} – {ORGANISATION}")


def _take_step(page, step: str, on: str) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    form = page.get_by_role("group", name="Registrér et trin")
    # Each step in the walk is the natural next one, so the form offers it already chosen.
    expect(form.get_by_label("Trin").locator("option:checked")).to_have_text(step)
    form.get_by_label("Dato").fill(on)
    form.get_by_role("button", name="Registrér").click()
    expect(page.get_by_role("status")).to_contain_text("Trinnet er registreret.")
    expect(page.locator("#current-step")).to_have_text(step)


def _upload(page, kind: str, title: str, content: bytes) -> None:  # type: ignore[no-untyped-def]
    """On the upload page: one file of `kind` for YEAR, saved when its link appears."""
    from playwright.sync_api import expect

    expect(page.get_by_label("Styringsår", exact=True)).to_have_value(str(YEAR))
    page.get_by_label("Filer").set_input_files({"name": f"{kind}-{YEAR}.pdf", "mimeType": "application/pdf",
                                                "buffer": content})
    page.get_by_label("Dokumenttype").select_option(label=kind)
    page.get_by_label("Titel").fill(title)
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.get_by_role("link", name=f"Gemt: {title}")).to_be_visible()


def _checklist_item(page, label: str):  # type: ignore[no-untyped-def]
    return page.locator(".checklist li").filter(has_text=re.compile(rf"(modtaget|mangler):\s+{label}\b"))


def test_one_organisations_year_from_package_to_public_minutes(browser, live_server: str) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    # The municipality's editor finds the year not begun, every deadline passed, and begins it.
    muni_context, muni = _logged_in(browser, live_server, MUNI_EDITOR)
    try:
        assert _overview(muni) == ([], DEADLINE_STEPS)
        muni.get_by_role("rowheader", name=ORGANISATION, exact=True).get_by_role("link").click()
        expect(muni.get_by_text("Styringsdialogen for dette år er ikke begyndt.")).to_be_visible()
        muni.get_by_role("button", name=f"Begynd styringsdialogen for {YEAR}").click()
        expect(muni.locator("#current-step")).to_have_text("Ikke begyndt")
    finally:
        muni_context.close()

    # The organisation's editor uploads the package; the checklist ticks; it submits the package.
    org_context, org = _logged_in(browser, live_server, ORG_EDITOR)
    try:
        _overview(org)
        _open_dialogue(org)
        for label in ("Styringsrapport", "Regnskab"):
            expect(_checklist_item(org, label)).to_contain_text("mangler:")
        org.get_by_role("link", name="Upload dokumenter til pakken").click()
        _upload(org, "Styringsrapport", f"Styringsrapport {YEAR}", make_pdf(f"Styringsrapport {YEAR}"))
        _upload(org, "Regnskab", f"Regnskab {YEAR - 1}", make_pdf(f"Regnskab {YEAR - 1}", pages=3))
        _overview(org)
        _open_dialogue(org)
        for label, title in (("Styringsrapport", f"Styringsrapport {YEAR}"), ("Regnskab", f"Regnskab {YEAR - 1}")):
            item = _checklist_item(org, label)
            expect(item).to_contain_text("☑")
            expect(item).to_contain_text("modtaget:")
            expect(item.get_by_role("link", name=title)).to_be_visible()
        expect(_checklist_item(org, "Årsberetning")).to_contain_text("mangler:")
        # The organisation registers only its own steps.
        options = org.get_by_label("Trin").locator("option").all_inner_texts()
        assert options == ["Dokumentationspakke modtaget", "Referat godkendt af organisationen"]
        _take_step(org, "Dokumentationspakke modtaget", f"{YEAR}-06-20")
        expect(org.get_by_role("button", name="Gem mødet")).to_have_count(0)
    finally:
        org_context.close()

    # The municipality's editor accepts the package, plans and holds the meeting, records an
    # agreement, and drafts the minutes.
    muni_context, muni = _logged_in(browser, live_server, MUNI_EDITOR)
    try:
        reached, overdue = _overview(muni)
        assert reached == OVERVIEW_STEPS[:1]
        assert "Dokumentationspakke modtaget" not in overdue and "Pakke godkendt" in overdue
        _open_dialogue(muni)
        _take_step(muni, "Pakke godkendt", f"{YEAR}-08-15")

        meeting = muni.get_by_role("group", name="Mødetidspunkt og deltagere")
        meeting.get_by_label("Tidspunkt").fill(f"{YEAR}-10-15T10:00")
        meeting.get_by_label("Sted").fill("Fjordby Rådhus, mødelokale 2")
        meeting.get_by_label("Deltagere").fill("Mette Kommunesen, Lars Tilsyn, Hanne Boligsen")
        meeting.get_by_role("button", name="Gem mødet").click()
        expect(muni.get_by_role("status")).to_contain_text("Mødet er gemt.")
        expect(muni.locator("#current-step")).to_have_text("Møde planlagt")
        expect(muni.get_by_text(f"15-10-{YEAR} kl. 10:00, Fjordby Rådhus, mødelokale 2")).to_be_visible()
        expect(muni.get_by_text("Deltagere: Mette Kommunesen, Lars Tilsyn, Hanne Boligsen")).to_be_visible()
        headings = muni.locator("ol.agenda h3").all_inner_texts()
        assert headings == ["Regnskab og nøgletal", "Vedligeholdelse og fysisk tilstand",
                            "Beboersammensætning og boligsocial indsats", "Administration", "Renovering og nybyggeri",
                            "Opfølgning på sidste års aftaler", "Nye aftaler"]
        follow_up = muni.locator("#punkt-opfoelgning .follow-up")
        expect(follow_up).not_to_contain_text(AGREEMENT)

        due = date.today() + timedelta(days=20)
        agreement = muni.get_by_role("group", name="Ny aftale fra mødet")
        agreement.get_by_label("Aftale", exact=True).fill(AGREEMENT)
        agreement.get_by_label("Ansvarlig").select_option(label=ORGANISATION)
        agreement.get_by_label("Frist").fill(due.isoformat())
        agreement.get_by_label("Gentages").select_option(label="Én gang")
        agreement.get_by_role("button", name="Gem aftalen").click()
        expect(muni.get_by_role("status")).to_contain_text("Aftalen er gemt som en forpligtelse.")
        made = muni.locator("h2:has-text('Aftaler fra mødet') + ul")
        expect(made).to_contain_text(f"{AGREEMENT} – {ORGANISATION}, frist {due.strftime('%d-%m-%Y')}")
        # The follow-up item lists the organisation's open obligations, the new one among them.
        expect(follow_up.get_by_role("link", name=AGREEMENT)).to_be_visible()

        _take_step(muni, "Møde afholdt", f"{YEAR}-10-15")

        # The minutes are uploaded as the organisation's referat for the year and attached.
        # Last year's published minutes are not offered for this year's meeting.
        missing = f"Upload referatet som dokumenttypen »Referat« for styringsår {YEAR} først."
        expect(muni.get_by_text(missing)).to_be_visible()
        expect(muni.get_by_label("Referat", exact=True)).to_have_count(0)
        muni.get_by_role("link", name="Upload referatet").click()
        expect(muni.get_by_label("Dokumenttype")).to_have_value("referat")
        expect(muni.get_by_label("Hvem må se dokumentet")).to_have_value("dialogue")
        minutes_pdf = make_pdf(f"Referat af styringsdialogmødet {YEAR}", pages=2)
        _upload(muni, "Referat", MINUTES_TITLE, minutes_pdf)
        _overview(muni)
        _open_dialogue(muni)
        offered = muni.get_by_label("Referat", exact=True).locator("option").all_inner_texts()
        assert offered == [f"{MINUTES_TITLE} ({YEAR})"]
        muni.get_by_role("button", name="Knyt referatet til mødet").click()
        expect(muni.get_by_role("status")).to_contain_text("Referatet er knyttet til mødet.")
        minutes_section = muni.locator("h2:has-text('Referat') + p")
        expect(minutes_section).to_contain_text(f"{MINUTES_TITLE} (ikke offentliggjort)")
        _take_step(muni, "Referat udarbejdet", f"{YEAR}-10-29")
        assert axe_violations(muni) == []

        reached, overdue = _overview(muni)
        assert reached == OVERVIEW_STEPS[:5]
        assert overdue == ["Referat offentliggjort"]
    finally:
        muni_context.close()

    # The organisation's editor finds the meeting's agreement among its obligations, and approves
    # the minutes.
    org_context, org = _logged_in(browser, live_server, ORG_EDITOR)
    try:
        org.get_by_role("navigation").get_by_role("link", name="Mine forpligtelser").click()
        due_soon = org.get_by_role("table", name="Frist inden for 30 dage")
        expect(due_soon.get_by_role("row").filter(has_text=AGREEMENT)).to_contain_text("Fjordby Kommune")
        _overview(org)
        _open_dialogue(org)
        expect(org.locator("#current-step")).to_have_text("Referat udarbejdet")
        expect(org.get_by_role("link", name=MINUTES_TITLE)).to_be_visible()
        expect(org.get_by_label("Referat", exact=True)).to_have_count(0)
        _take_step(org, "Referat godkendt af organisationen", f"{YEAR}-11-12")
    finally:
        org_context.close()

    # The municipality publishes the minutes.
    muni_context, muni = _logged_in(browser, live_server, MUNI_EDITOR)
    try:
        reached, _ = _overview(muni)
        assert reached == OVERVIEW_STEPS[:6]
        _open_dialogue(muni)
        _take_step(muni, "Referat offentliggjort", f"{YEAR}-11-19")
        expect(muni.locator("h2:has-text('Referat') + p")).to_contain_text(f"{MINUTES_TITLE} (offentligt)")
        events = muni.locator("ol.dialogue-events")
        expect(events).to_contain_text(f"20-06-{YEAR}: Dokumentationspakke modtaget")
        expect(events).to_contain_text(f"12-11-{YEAR}: Referat godkendt af organisationen")
        expect(events).to_contain_text(f"19-11-{YEAR}: Referat offentliggjort")
        assert _overview(muni) == (OVERVIEW_STEPS, [])
    finally:
        muni_context.close()

    # Anyone finds the minutes in the public archive, by organisation and year, and downloads them.
    anonymous = browser.new_context(locale="da-DK")
    try:
        visitor = anonymous.new_page()
        visitor.set_default_timeout(10_000)
        visitor.goto(f"{live_server}/offentlig/referater")
        entry = visitor.locator(".minutes-list li").filter(has_text=MINUTES_TITLE)
        expect(entry).to_contain_text(f"{ORGANISATION}, styringsår {YEAR}")
        link = entry.get_by_role("link", name=MINUTES_TITLE)
        href = link.get_attribute("href")
        assert href is not None and re.fullmatch(r"/offentlig/referater/\d+", href)
        # The PDF opens in the browser's viewer, which hides the bytes from the page; saving it
        # fetches the same address again, without a log-in.
        with visitor.expect_response(re.compile(r"/offentlig/referater/\d+$")) as opened:
            link.click()
        assert opened.value.status == 200
        assert opened.value.headers["content-type"] == "application/pdf"
        saved = visitor.request.get(f"{live_server}{href}")
        assert saved.ok and saved.body() == minutes_pdf
    finally:
        anonymous.close()
