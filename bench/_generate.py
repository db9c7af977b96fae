"""Deterministic Danish pages for the search benchmark: the vocabulary of the dialogue
between a municipality and its housing organisations (styringsdialog, udlejning,
henlæggelser, tomgang, ...) with inflections and compounds, cut into documents of about
ten pages, each page 150-300 words.

Same seed and same organisations give the same records, so a cached index can be
reused. Bump GENERATOR_VERSION whenever the output changes.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from portal.access import readers_for
from portal.search import SearchRecord

GENERATOR_VERSION = 2
DEFAULT_SEED = 20_261_122
YEARS = range(2015, 2026)
SENTENCE_POOL = 40_000

# Filled in per page (the pool of sentences is shared): organisation, department, and
# two topic slots, so that a document's pages talk mostly about the document's topics.
ORG = "\x01"
DEPT = "\x02"
TOPIC1 = "\x03"
TOPIC2 = "\x04"
FOCUS_TOPICS = (2, 5)  # topics per document
OFF_TOPIC = 0.05  # share of topic slots filled from any topic, not the document's
TOPIC_SENTENCES = 0.08  # share of sentences that are a topic's own fixed sentence


@dataclass(frozen=True)
class Organisation:
    id: int
    name: str
    departments: tuple[tuple[int, str], ...]  # (id, name)


# Each topic: its forms (inflections, compounds, short phrases), and a weight.
TOPICS: list[tuple[tuple[str, ...], int]] = [
    (("udlejning", "udlejningen", "udlejningsaftalen", "udlejningsreglerne", "udlejningen af familieboliger"), 10),
    (("fleksibel udlejning", "fleksibel udlejning", "den fleksible udlejning", "reglerne om fleksibel udlejning"), 5),
    (("kombineret udlejning", "kombineret udlejning", "den kombinerede udlejning", "aftalen om kombineret udlejning"), 4),
    (("anvisning", "anvisningen", "den kommunale anvisning", "anvisningsaftalen", "anvisningsretten"), 7),
    (("styringsdialog", "styringsdialogen", "styringsdialogmødet", "styringsrapporten", "styringsdialogen for året"), 9),
    (("vedligeholdelse", "vedligeholdelsen", "den planlagte vedligeholdelse", "vedligeholdelsesplanen",
      "vedligeholdelsesstandarden"), 8),
    (("henlæggelser", "henlæggelserne", "henlæggelsesniveauet", "henlæggelse til planlagt vedligeholdelse",
      "de samlede henlæggelser"), 6),
    (("tomgang", "tomgangen", "tomgangslejen", "tomgangsprocenten", "tomgang i ungdomsboligerne"), 5),
    (("fraflytning", "fraflytningen", "fraflytninger", "fraflytningerne", "fraflytningsprocenten"), 5),
    (("beboerdemokrati", "beboerdemokratiet", "det lokale beboerdemokrati", "beboerdemokratiets vilkår"), 4),
    (("afdelingsbestyrelse", "afdelingsbestyrelsen", "afdelingsbestyrelsens", "afdelingsbestyrelserne",
      "afdelingsbestyrelsernes"), 6),
    (("afdelingsmøde", "afdelingsmødet", "afdelingsmøderne", "det ordinære afdelingsmøde"), 4),
    (("renovering", "renoveringen", "renoveringer", "renoveringerne", "renoveringsprojektet", "helhedsplanen"), 6),
    (("boligsocial indsats", "den boligsociale indsats", "boligsociale helhedsplan", "boligsocialt arbejde"), 4),
    (("husleje", "huslejen", "huslejeniveauet", "huslejestigningen", "huslejestigninger"), 7),
    (("regnskab", "regnskabet", "årsregnskabet", "driftsregnskabet", "regnskaberne", "regnskabsåret"), 8),
    (("budget", "budgettet", "budgetterne", "driftsbudgettet", "budgetopfølgningen"), 5),
    (("venteliste", "ventelisten", "ventelisterne", "den eksterne venteliste", "oprykningsretten"), 4),
    (("Landsbyggefonden", "Landsbyggefondens", "støtte fra Landsbyggefonden", "landsbyggefondsstøtte"), 3),
    (("effektivisering", "effektiviseringen", "effektiviseringsmålet", "effektiviseringspotentialet"), 4),
    (("nøgletal", "nøgletallene", "driftsnøgletallene", "benchmarkingen"), 4),
    (("lejemål", "lejemålet", "lejemålene", "familieboligerne", "ungdomsboligerne", "ældreboligerne"), 5),
    (("dispositionsfonden", "trækningsretten", "arbejdskapitalen", "dispositionsfondens"), 3),
    (("tryghed", "trygheden", "tryghedsvandringen", "tryghedsindsatsen"), 3),
    (("beboersammensætning", "beboersammensætningen", "beboersammensætningen i området"), 3),
    (("energiforbrug", "energiforbruget", "energirenoveringen", "klimaskærmen", "varmeforbruget"), 3),
    (("administrationsbidrag", "administrationsbidraget", "administrationsomkostningerne"), 2),
    (("istandsættelse", "istandsættelsen", "istandsættelsesudgifterne", "normalistandsættelse"), 3),
    (("råderet", "råderetten", "forbedringsarbejder", "forbedringsarbejderne"), 2),
    (("forretningsfører", "forretningsføreren", "forretningsførelsen"), 2),
    (("repræsentantskab", "repræsentantskabet", "organisationsbestyrelsen", "hovedbestyrelsen"), 3),
    (("målsætning", "målsætningen", "målsætningerne", "aftalen", "aftalerne", "styringsaftalen"), 6),
    (("tilsyn", "tilsynet", "det kommunale tilsyn", "tilsynsforpligtelsen"), 4),
    (("revision", "revisionen", "revisionsprotokollen", "revisors bemærkninger"), 3),
    (("udsatte boligområder", "boligområdet", "udviklingsplanen", "parallelsamfundsloven"), 2),
]

SUBJECTS = (
    "Kommunen", "Boligorganisationen", "Organisationsbestyrelsen", "Afdelingsbestyrelsen", "Forretningsføreren",
    "Administrationen", "Repræsentantskabet", "Parterne", "Fjordby Kommune", ORG, f"Beboerne i {DEPT}",
    "Driftschefen", "Revisor", "Boligselskabet", "Socialforvaltningen",
)
VERBS = (
    "har drøftet", "vil følge op på", "gennemgår", "har redegjort for", "forventer en forbedring af",
    "har prioriteret", "har vurderet", "ønsker at styrke", "har godkendt", "har fremlagt", "orienterede om",
    "bemærker", "lægger vægt på", "har evalueret", "foreslår at ændre", "har beskrevet", "vil undersøge",
)
TEMPLATES = (
    "{S} {V} {T1}.",
    "{S} {V} {T1} i afdeling {D}.",
    "{S} {V} {T1} og {T2} for {Y}.",
    "I {Y} var {T1} i {D} på {P} procent, og {T2} blev drøftet på styringsdialogmødet.",
    "Der er afsat {A} kr. til {T1} i {D}.",
    "Det blev aftalt, at {T1} skal indgå i den kommende aftale om {T2}.",
    "{C1} udgjorde {A} kr. i regnskabsåret {Y}, hvilket er {P} procent over budgettet.",
    "Afdelingsbestyrelsen i {D} har bedt om en status på {T1}.",
    "Kommunen og {O} er enige om, at {T1} fortsat skal have høj prioritet.",
    "Målet for {T1} er fastsat til {P} procent frem mod {Y2}.",
    "Der henvises til bilag {N} vedrørende {T1}.",
    "Punktet om {T1} blev udsat til næste møde.",
    "Ifølge styringsrapporten er {T1} steget med {P} procent siden {Y}.",
    "{C1} drøftes igen ved den næste styringsdialog.",
    "Organisationen redegjorde for arbejdet med {T1} og {T2} i {D}.",
    "Kommunen anbefaler, at {T1} vurderes sammen med {T2}.",
    "Der er ikke bemærkninger til {T1}.",
    "Det samlede resultat viser et overskud på {A} kr., som overføres til {T1}.",
    "Boligorganisationen oplyser, at {T1} har været stabil gennem hele {Y}.",
    "Med udgangspunkt i {T1} er der udarbejdet en handleplan for {D}.",
    "Spørgsmålet om {T1} og {T2} tages op på repræsentantskabsmødet.",
    "Kommunen har ingen bemærkninger til {T1}, men ønsker en opfølgning på {T2}.",
)
# A topic's own sentences (topic index in TOPICS → sentences), used when the document
# is about that topic.
TOPIC_TEMPLATES: dict[int, tuple[str, ...]] = {
    0: ("Udlejningen i {D} sker efter reglerne i udlejningsaftalen.",),
    1: ("Den fleksible udlejning giver fortrinsret til ansøgere i beskæftigelse eller uddannelse.",
        "Fleksibel udlejning anvendes i {N} afdelinger, og effekten vurderes årligt."),
    2: ("Kombineret udlejning anvendes i {D} efter aftale med kommunen.",),
    3: ("Kommunen anviser hver {N}. ledige bolig i {D}.",),
    6: ("Henlæggelserne til planlagt vedligeholdelse svarer til {A} kr. pr. lejemål.",),
    7: ("Tomgangen i {D} skyldes primært istandsættelse efter fraflytning.",),
    8: ("Der har været {N} fraflytninger i {D} i løbet af {Y}.",),
    14: ("Huslejen i {D} er {N} kr. pr. kvadratmeter om året.",),
    17: ("Ventelisten til {D} tæller {N} husstande.",),
}
# Documents of a kind are about its topic, besides their drawn ones.
KIND_TOPICS = {
    "referat": 4, "styringsrapport": 4, "regnskab": 15, "regnskabsspoergeskema": 15, "aarsberetning": 9,
    "analyse": 7, "revisionsprotokol": 33, "redegoerelse": 13, "aftale": 0, "afdelingsskema": 16,
}
FILLER = (
    "Mødet blev afholdt i kommunens lokaler.", "Referatet blev godkendt uden bemærkninger.",
    "Næste møde afholdes efter sommerferien.", "Der var ingen spørgsmål fra salen.",
    "Materialet er udsendt sammen med dagsordenen.", "Sagen forventes afsluttet inden årets udgang.",
    "Tallene er opgjort pr. 31. december.", "Der henvises i øvrigt til den samlede beretning.",
)
# Words few pages use, for the rare-word queries (a few hundred pages each).
RARE_WORDS = (
    "skimmelsvamp", "radonmåling", "asbestsanering", "faldstammer", "altanudskiftning", "solcelleanlæg",
    "ladestandere", "varmtvandsbeholdere", "legepladsinspektion", "skadedyrsbekæmpelse", "elevatorrenovering",
    "tagrenovering", "fugtskader", "ventilationsanlæg", "vinduesudskiftning", "kloakrenovering",
)
RARE_TEMPLATES = (
    "Der er konstateret {R} i {D}, og udbedringen er sat i gang.",
    "Afdelingsbestyrelsen har spurgt til {R} i forbindelse med {T1}.",
    "Udgiften til {R} afholdes af dispositionsfonden.",
)
KIND_WEIGHTS = {
    "referat": 20, "styringsrapport": 10, "afdelingsskema": 10, "regnskab": 12, "regnskabsspoergeskema": 5,
    "aarsberetning": 8, "analyse": 8, "revisionsprotokol": 6, "redegoerelse": 6, "aftale": 7, "bilag": 6,
    "andet": 2,
}
KIND_TITLES = {
    "referat": "Referat af styringsdialogmøde {y}", "styringsrapport": "Styringsrapport {y}",
    "afdelingsskema": "Afdelingsskema {y} – {d}", "regnskab": "Regnskab {y} for {d}",
    "regnskabsspoergeskema": "Regnskabsspørgeskema {y}", "aarsberetning": "Årsberetning {y}",
    "analyse": "Analyse af tomgang og fraflytning {y}", "revisionsprotokol": "Revisionsprotokol {y}",
    "redegoerelse": "Redegørelse om boligsocial indsats {y}", "aftale": "Aftale om udlejning {y}–{y2}",
    "bilag": "Bilag til styringsdialog {y}", "andet": "Notat {y} om {d}",
}
VISIBILITIES = (("dialogue", 75), ("party", 15), ("public", 10))
ORGANISATION_WEIGHTS = (4, 2, 3, 1, 2, 2)  # by size, demo order; more organisations get weight 1


TOPIC1_CAPITALISED = "\x05"


def _sentence_pool(rng: random.Random) -> list[tuple[str, int]]:
    """(sentence, word count) pairs, with markers for the organisation, the department
    and the topics; the topic slots count as one word each."""
    pool: list[tuple[str, int]] = []
    for _ in range(SENTENCE_POOL):
        if rng.random() < 0.06:
            sentence = rng.choice(FILLER)
        else:
            year = rng.choice(YEARS)
            sentence = rng.choice(TEMPLATES).format(
                S=rng.choice(SUBJECTS), V=rng.choice(VERBS), T1=TOPIC1, T2=TOPIC2, C1=TOPIC1_CAPITALISED,
                D=DEPT, O=ORG, Y=year, Y2=year + rng.randint(1, 4), P=rng.randint(1, 40),
                N=rng.randint(2, 900), A=_amount(rng),
            )
        pool.append((sentence, len(sentence.split())))
    return pool


def _amount(rng: random.Random) -> str:
    return f"{rng.randint(10, 9_999):,}.{rng.randint(0, 999):03d}".replace(",", ".")


def generate_records(
    pages: int, organisations: list[Organisation], municipality_id: int, *, seed: int = DEFAULT_SEED
) -> Iterator[SearchRecord]:
    """`pages` page records in documents of 6-14 pages, ids `doc:{id}:p{page}` as the
    portal builds them, readers from `access.readers_for`. Each document is about a few
    topics (its kind's and 1-4 drawn by weight), so a common word is on a good share of
    the pages, not on all of them."""
    rng = random.Random(seed)
    pool = _sentence_pool(rng)
    kinds = list(KIND_WEIGHTS)
    kind_weights = list(KIND_WEIGHTS.values())
    visibilities = [v for v, _ in VISIBILITIES]
    visibility_weights = [w for _, w in VISIBILITIES]
    org_weights = [ORGANISATION_WEIGHTS[i] if i < len(ORGANISATION_WEIGHTS) else 1 for i in range(len(organisations))]
    topic_indexes = list(range(len(TOPICS)))
    topic_weights = [w for _, w in TOPICS]
    forms = [f for f, _ in TOPICS]
    made = 0
    document_id = 0
    while made < pages:
        document_id += 1
        org = rng.choices(organisations, org_weights)[0]
        department = rng.choice(org.departments) if org.departments and rng.random() < 0.8 else None
        department_name = department[1] if department else (org.departments[0][1] if org.departments else org.name)
        kind = rng.choices(kinds, kind_weights)[0]
        visibility = rng.choices(visibilities, visibility_weights)[0]
        year = rng.choice(YEARS)
        day = date(year, rng.randint(1, 12), rng.randint(1, 28))
        title = KIND_TITLES[kind].format(y=year, y2=year + 3, d=department_name)
        readers = readers_for(visibility, org.id, municipality_id)
        focus = set(rng.choices(topic_indexes, topic_weights, k=rng.randint(*FOCUS_TOPICS) - 1))
        if kind in KIND_TOPICS:
            focus.add(KIND_TOPICS[kind])
        focus_list = sorted(focus)
        own_sentences = [t for i in focus_list for t in TOPIC_TEMPLATES.get(i, ())]

        def topic(focus_list: list[int] = focus_list) -> str:
            if rng.random() < OFF_TOPIC:
                index = rng.choices(topic_indexes, topic_weights)[0]
            else:
                index = focus_list[int(rng.random() * len(focus_list))]
            options = forms[index]
            return options[int(rng.random() * len(options))]

        for number in range(1, min(rng.randint(6, 14), pages - made) + 1):
            target = rng.randint(150, 300)
            words = 0
            parts: list[str] = []
            while words < target:
                if own_sentences and rng.random() < TOPIC_SENTENCES:
                    sentence = rng.choice(own_sentences).format(
                        D=DEPT, N=rng.randint(2, 900), A=_amount(rng), Y=rng.choice(YEARS))
                    count = len(sentence.split())
                else:
                    sentence, count = pool[int(rng.random() * len(pool))]
                    if TOPIC1 in sentence:
                        sentence = sentence.replace(TOPIC1, topic())
                    if TOPIC2 in sentence:
                        sentence = sentence.replace(TOPIC2, topic())
                    if TOPIC1_CAPITALISED in sentence:
                        t = topic()
                        sentence = sentence.replace(TOPIC1_CAPITALISED, t[0].upper() + t[1:])
                parts.append(sentence)
                words += count
                if rng.random() < 0.08:
                    parts.append("\n\n")
            if rng.random() < 0.03:
                parts.append(rng.choice(RARE_TEMPLATES).format(R=rng.choice(RARE_WORDS), D=DEPT, T1=topic()))
            text = " ".join(parts).replace(" \n\n ", "\n\n").replace(ORG, org.name).replace(DEPT, department_name)
            yield SearchRecord(
                id=f"doc:{document_id}:p{number}", document_id=document_id, version=1, page=number,
                record_type="page", title=title, text=text, organisation_id=org.id, organisation_name=org.name,
                department_id=department[0] if department else None, kind=kind, year=year,
                visibility=visibility, date=day, readers=readers,
            )
            made += 1
