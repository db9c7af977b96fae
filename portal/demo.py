"""The fictional demo municipality loaded by `portal demo` (and used by the browser tests)."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate
from sqlalchemy import select

from portal.access import SYSTEM
from portal.extensions import db
from portal.models import Department, DialogueStep, Party, PartyKind, Role, User
from portal.services import agreements as agreement_service
from portal.services import dialogue as dialogue_service
from portal.services import documents as document_service
from portal.services import keyfigures as keyfigure_service
from portal.services import obligations as obligation_service
from portal.services import parties as party_service
from portal.services import users as user_service

DEMO_PASSWORD = "demo-adgangskode-2026"
MUNICIPALITY_NAME = "Fjordby Kommune"

_CVR_WEIGHTS = (2, 7, 6, 5, 4, 3, 2, 1)


def demo_cvr(seed: int) -> str:
    """A fictional CVR number that passes the modulus-11 check."""
    base = 29_000_000 + seed * 1_117
    while True:
        digits = f"{base:08d}"[:7]
        for last in range(10):
            cvr = digits + str(last)
            if sum(int(d) * w for d, w in zip(cvr, _CVR_WEIGHTS)) % 11 == 0:
                return cvr
        base += 10


ORGANISATIONS = [
    ("Fjordby Boligselskab", [("101", "Havnegården", "Havnegade 2-40", "familie", 212),
                              ("102", "Kildeparken", "Kildevej 1-99", "familie", 480),
                              ("103", "Skovbrynet Ungdomsboliger", "Skovbrynet 5", "ungdom", 64)]),
    ("Boligforeningen Åbrinken", [("201", "Åbrinken", "Åbrinken 1-30", "familie", 156),
                                  ("202", "Plejeboligerne Mosehuset", "Mosevej 12", "aeldre", 40)]),
    ("Almene Boliger Søhøj", [("301", "Søhøjparken", "Søhøjvej 3-77", "familie", 338),
                              ("302", "Studiebyen", "Campusvej 9", "ungdom", 120)]),
    ("Ældreboligselskabet Solgården", [("401", "Solgården", "Solvej 4", "aeldre", 86)]),
    ("Boligforeningen Kærhaven", [("501", "Kærhaven", "Kærvej 1-45", "familie", 190),
                                  ("502", "Kærhaven Seniorbo", "Kærvej 47", "aeldre", 32)]),
    ("Fjordbo Almene Boliger", [("601", "Fjordbo Øst", "Østre Allé 10", "familie", 260),
                                ("602", "Fjordbo Ungdom", "Østre Allé 12", "ungdom", 48)]),
]

_ROLE_TITLES = {Role.ADMIN: "administrator", Role.EDITOR: "redaktør", Role.SIGNATORY: "underskriver", Role.READER: "læser"}
_ROLE_MAILBOX = {Role.ADMIN: "administrator", Role.EDITOR: "redaktoer", Role.SIGNATORY: "underskriver", Role.READER: "laeser"}


def load_demo(*, living: bool = True) -> list[tuple[str, str]]:
    """Create the demo data inside the caller's unit of work; returns (e-mail, description) per log-in.

    With `living`, also two styringsår of documents, dialogues, a published meeting, agreements,
    obligations in every status and key figures, so a new user sees a portal in use."""
    logins: list[tuple[str, str]] = []
    municipality = party_service.create_party(SYSTEM, kind=PartyKind.MUNICIPALITY, name=MUNICIPALITY_NAME,
                                              cvr=demo_cvr(0), municipality_name="Fjordby")

    def add_user(party: Party, email: str, name: str, role: Role, description: str) -> None:
        user_service.invite_user(SYSTEM, party, email=email, name=name, role=role, password=DEMO_PASSWORD)
        logins.append((email, description))

    municipality_people = {Role.ADMIN: "Mette Kommunesen", Role.EDITOR: "Lars Tilsyn",
                           Role.SIGNATORY: "Birgitte Borgmester", Role.READER: "Omar Læsekær"}
    for role, person in municipality_people.items():
        add_user(municipality, f"{_ROLE_MAILBOX[role]}@fjordby.dk", person, role,
                 f"{MUNICIPALITY_NAME}, {_ROLE_TITLES[role]}")

    organisations = []
    for index, (name, departments) in enumerate(ORGANISATIONS, start=1):
        org = party_service.create_party(SYSTEM, kind=PartyKind.ORGANISATION, name=name, cvr=demo_cvr(index))
        organisations.append(org)
        for lbf, dept_name, address, housing_type, homes in departments:
            party_service.create_department(SYSTEM, org.id, {"lbf_number": lbf, "name": dept_name, "address": address,
                                                             "housing_type": housing_type, "homes": homes})

    first = organisations[0]
    org_people = {Role.ADMIN: "Hanne Boligsen", Role.EDITOR: "Peter Afdeling",
                  Role.SIGNATORY: "Karen Formand", Role.READER: "Ali Beboer"}
    for role, person in org_people.items():
        add_user(first, f"{_ROLE_MAILBOX[role]}@fjordby-boligselskab.dk", person, role,
                 f"{first.name}, {_ROLE_TITLES[role]}")
    for org in organisations[1:4]:
        slug = org.name.lower().split()[-1].replace("å", "aa").replace("ø", "oe").replace("æ", "ae")
        add_user(org, f"admin@{slug}.dk", f"Administrator, {org.name}", Role.ADMIN, f"{org.name}, administrator")

    # An administration company's employees serve two organisations at once.
    served = organisations[4:6]
    company = "fjordby-boligadministration.dk"
    for email, person, role in ((f"forretningsfoerer@{company}", "Jonas Forretningsfører", Role.ADMIN),
                                (f"sagsbehandler@{company}", "Sara Sagsbehandler", Role.EDITOR)):
        for org in served:
            user_service.invite_user(SYSTEM, org, email=email, name=person, role=role, password=DEMO_PASSWORD)
        logins.append((email, f"Fjordby Boligadministration ({_ROLE_TITLES[role]}) for " + " og ".join(o.name for o in served)))
    if living:
        load_living_year()
    return logins


# --- a living portal: two styringsår of documents, dialogues, agreements and obligations ----------

def _pdf(title: str, paragraphs: list[str]) -> bytes:
    """A small real PDF with Danish text, so the demo's documents extract and search like real ones."""
    styles = getSampleStyleSheet()
    story: list[Any] = [Paragraph(title, styles["Title"])]
    for index, text in enumerate(paragraphs):
        if index and index % 3 == 0:
            story.append(PageBreak())
        story.append(Paragraph(text, styles["BodyText"]))
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4, title=title).build(story)
    return buffer.getvalue()


def _minutes_text(name: str, year: int) -> list[str]:
    return [
        f"Referat af styringsdialogmødet {year} mellem Fjordby Kommune og {name}.",
        "Regnskab og nøgletal: Parterne gennemgik regnskabet. Henlæggelserne pr. bolig er lave i afdeling 102.",
        "Vedligeholdelse og fysisk tilstand: Organisationen fremlægger en vedligeholdelsesplan for afdeling 102.",
        "Beboersammensætning og boligsocial indsats: Parterne drøftede fleksibel udlejning og kombineret udlejning.",
        "Kommunal anvisning: Kommunen anviser fortsat 25 procent af de ledige familieboliger.",
        "Opfølgning på sidste års aftaler: Aftalerne om tomgang og fraflytning er opfyldt.",
        "Nye aftaler: Organisationen indberetter kvartalsvis boliger tilbudt til kommunal anvisning.",
    ]


def load_living_year(today: date | None = None) -> None:
    """Documents for two styringsår, a held and published meeting with agreements, and obligations
    in every status for the first organisation; a started dialogue for the others."""
    today = today or date.today()
    municipality = party_service.get_municipality()
    organisations = party_service.list_organisations(SYSTEM)
    first = next(o for o in organisations if o.name == ORGANISATIONS[0][0])
    muni_editor = db.session.scalar(select(User).where(User.email == "redaktoer@fjordby.dk"))
    org_editor = db.session.scalar(select(User).where(User.email == "redaktoer@fjordby-boligselskab.dk"))
    years = (today.year - 1, today.year)
    for year in years:
        for org in organisations:
            for kind, title in (("styringsrapport", "Styringsrapport"), ("regnskab", "Regnskab"),
                                ("aarsberetning", "Årsberetning")):
                if org is not first and kind == "aarsberetning" and year == years[1]:
                    continue  # some packages are still incomplete this year
                document_service.upload_document(SYSTEM, org.id, {"kind": kind, "year": str(year),
                                                                  "title": f"{title} {year} – {org.name}"},
                                                 io.BytesIO(_pdf(f"{title} {year}", [
                                                     f"{title} for {org.name}, styringsår {year}.",
                                                     "Driften er stabil. Tomgangen er faldet, og fraflytningen er som året før.",
                                                     "Henlæggelserne til planlagt vedligeholdelse følger planen."])),
                                                 f"{kind}-{year}.pdf", max_size=10**8)
    # Last year's dialogue with the first organisation: complete, minutes published.
    dialogue = dialogue_service.open_dialogue(muni_editor, first.id, years[0])
    for step in (DialogueStep.PACKAGE_RECEIVED, DialogueStep.PACKAGE_ACCEPTED):
        dialogue_service.take_step(muni_editor, dialogue.id, step, on=date(years[0], 6, 20))
    dialogue_service.plan_meeting(muni_editor, dialogue.id, {"starts_at": f"{years[0]}-10-14 10:00",
                                                            "location": "Fjordby Rådhus, mødelokale 2",
                                                            "participants": "Mette Kommunesen, Lars Tilsyn, Hanne Boligsen"})
    dialogue_service.take_step(muni_editor, dialogue.id, DialogueStep.MEETING_HELD, on=date(years[0], 10, 14))
    minutes = document_service.upload_document(
        muni_editor, first.id, {"kind": "referat", "year": str(years[0]), "title": f"Referat af styringsdialogen {years[0]}"},
        io.BytesIO(_pdf(f"Referat {years[0]}", _minutes_text(first.name, years[0]))), f"referat-{years[0]}.pdf",
        max_size=10**8)
    dialogue_service.attach_minutes(muni_editor, dialogue.id, minutes.id)
    dialogue_service.take_step(muni_editor, dialogue.id, DialogueStep.MINUTES_DRAFTED, on=date(years[0], 10, 28))
    dialogue_service.take_step(org_editor, dialogue.id, DialogueStep.MINUTES_APPROVED, on=date(years[0], 11, 10))
    dialogue_service.take_step(muni_editor, dialogue.id, DialogueStep.MINUTES_PUBLISHED, on=date(years[0], 11, 15))
    # The meeting's agreements, in every status.
    made = [dialogue_service.add_meeting_agreement(muni_editor, dialogue.id, {
        "title": title, "responsible_party": str(first.id), "first_due": due.isoformat()})
        for title, due in (("Vedligeholdelsesplan for afdeling 102", today - timedelta(days=20)),
                           ("Plan for nedbringelse af tomgang", today + timedelta(days=10)),
                           ("Beboerundersøgelse i Kildeparken", today + timedelta(days=60)),
                           ("Redegørelse for fraflytning", today - timedelta(days=40)),
                           ("Opdateret husorden", today - timedelta(days=5)),
                           ("Rapport om henlæggelser", today - timedelta(days=30)))]
    first_due = [obligation.occurrences[0].id for obligation in made]
    evidence = [{"url": "https://fjordby-boligselskab.dk/dokumentation"}]
    obligation_service.start(org_editor, first_due[1])
    obligation_service.report_done(org_editor, first_due[2], comment="Undersøgelsen er gennemført.", evidence=evidence)
    obligation_service.report_done(org_editor, first_due[3], comment="", evidence=evidence)
    obligation_service.verify(muni_editor, first_due[3])
    obligation_service.report_done(org_editor, first_due[4], comment="", evidence=evidence)
    obligation_service.reject(muni_editor, first_due[4], "Husordenen er ikke vedtaget på et afdelingsmøde.")
    obligation_service.waive(muni_editor, first_due[5], "Indgår i næste års styringsrapport.")
    # This year: dialogues begun.
    for org in organisations:
        current = dialogue_service.open_dialogue(muni_editor, org.id, years[1])
        if org is first:
            dialogue_service.take_step(muni_editor, current.id, DialogueStep.PACKAGE_RECEIVED, on=today)
    # A strategic agreement under negotiation with every organisation.
    strategic = agreement_service.create_agreement(muni_editor, {
        "title": f"Strategisk aftale om udlejning og balancerede byer {years[1]}-{years[1] + 3}", "type": "strategisk",
        "organisations": [o.id for o in organisations], "term_start": f"{years[1]}-01-01",
        "term_end": f"{years[1] + 3}-12-31"})
    # Every organisation has agreed to take part (the demo tells the story of the negotiation after it).
    agreement_service.respond_to_invitation(SYSTEM, strategic.id, accept=True)
    _load_key_figures(muni_editor, municipality, organisations, years)


# --- key figures: the municipality's thresholds and two years of figures, some of them critical ----

# The municipality's limits (metric, direction, value): beyond one, a figure is critical.
_DEMO_THRESHOLDS = (("henlaeggelser_pr_bolig", "below", "3000"), ("husleje_pr_m2", "above", "1100"),
                    ("fraflytning", "above", "20"), ("tomgang", "above", "1,5"), ("restancer", "above", "2"),
                    ("effektivitetstal", "above", "110"))
# A department's usual figures by housing type: henlæggelser pr. bolig (kr.), husleje pr. m² (kr./m²/år),
# fraflytning, tomgang and restancer (%).
_DEPARTMENT_BASE = {"familie": (4600, 890, 9.0, 0.5, 1.1), "ungdom": (3900, 1010, 17.0, 0.9, 1.4),
                    "aeldre": (5200, 960, 11.0, 0.7, 0.6)}
_DEPARTMENT_METRICS = ("henlaeggelser_pr_bolig", "husleje_pr_m2", "fraflytning", "tomgang", "restancer")
# The critical figures the demo tells a story with: (organisation index, lbf or None, metric) → value per
# styringsår, older first. Kildeparken's low henlæggelser are the ones the demo minutes discuss.
_DEMO_CONCERNS = {(0, "102", "henlaeggelser_pr_bolig"): (2150, 2380), (0, "102", "tomgang"): (1.9, 1.2),
                  (2, "301", "fraflytning"): (21.4, 18.6), (5, "601", "restancer"): (1.8, 2.6),
                  (3, None, "effektivitetstal"): (112, 113)}


def _danish_number(value: float) -> str:
    """1234.5 → "1.234,50", as a Danish spreadsheet exports it."""
    return f"{value:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")


def _key_figure_rows(organisations: list[Party], years: tuple[int, int]) -> list[tuple[str, str, int, str, float]]:
    by_name = {o.name: o for o in organisations}
    rows = []
    for index, (name, departments) in enumerate(ORGANISATIONS):
        cvr = by_name[name].cvr
        homes = sum(d[4] for d in departments)
        for step, year in enumerate(years):
            # The organisation as a whole: the departments' usual figures, its equity in proportion to its size.
            wobble = 1 + ((index * 7 + step * 3 + 1) % 5 - 2) / 100
            family = _DEPARTMENT_BASE["familie"]
            organisation = {"henlaeggelser_pr_bolig": family[0] * wobble * (1 + 0.03 * step),
                            "husleje_pr_m2": family[1] * wobble * (1 + 0.025 * step),
                            "fraflytning": family[2] * wobble, "tomgang": family[3] * wobble,
                            "ledige_lejligheder": float(1 + (index + step) % 4), "restancer": family[4] * wobble,
                            "driftsudgifter_pr_m2": 420 * wobble * (1 + 0.02 * step),
                            "egenkapital": homes * 24_500 * wobble, "arbejdskapital": homes * 6_100 * wobble,
                            "dispositionsfond": homes * 5_400 * wobble, "effektivitetstal": 100 * wobble}
            for metric, value in organisation.items():
                value = _DEMO_CONCERNS.get((index, None, metric), (value, value))[step]
                rows.append((cvr, "", year, metric, value))
            for number, (lbf, _name, _address, housing_type, _homes) in enumerate(departments):
                wobble = 1 + ((index * 7 + number * 3 + step) % 5 - 2) / 100
                base = _DEPARTMENT_BASE[housing_type]
                for metric, usual in zip(_DEPARTMENT_METRICS, base):
                    growth = 1 + 0.03 * step if metric in ("henlaeggelser_pr_bolig", "husleje_pr_m2") else 1
                    value = _DEMO_CONCERNS.get((index, lbf, metric), (usual * wobble * growth,) * 2)[step]
                    rows.append((cvr, lbf, year, metric, value))
    return rows


def _load_key_figures(actor: User | None, municipality: Party, organisations: list[Party],
                      years: tuple[int, int]) -> None:
    """The municipality's thresholds, every organisation's figures (as a whole and per department)
    for both styringsår, imported as a CSV file the way the municipality would, and an area status."""
    importer = actor or SYSTEM
    for metric, direction, value in _DEMO_THRESHOLDS:
        keyfigure_service.set_threshold(importer, municipality, metric, direction=direction, value=value)
    lines = ["cvr;lbf;year;metric;value"]
    lines += [f"{cvr};{lbf};{year};{metric};{_danish_number(value)}"
              for cvr, lbf, year, metric, value in _key_figure_rows(organisations, years)]
    keyfigure_service.import_csv(importer, municipality, "\n".join(lines) + "\n")
    first = next(o for o in organisations if o.name == ORGANISATIONS[0][0])
    kildeparken = db.session.scalar(select(Department).where(Department.party_id == first.id,
                                                             Department.lbf_number == "102"))
    assert kildeparken is not None
    for year in years:
        keyfigure_service.set_area_status(importer, kildeparken.id,
                                          {"year": str(year), "status": "forebyggelsesomraade"})
