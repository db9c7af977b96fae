"""The fictional demo municipality loaded by `portal demo` (and used by the browser tests)."""

from __future__ import annotations

from portal.access import SYSTEM
from portal.models import Party, PartyKind, Role
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


def load_demo() -> list[tuple[str, str]]:
    """Create the demo data inside the caller's unit of work; returns (e-mail, description) per log-in."""
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
    return logins
