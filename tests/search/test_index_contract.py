"""The SearchIndex contract, run against every engine present (see conftest.py).

Each test arranges a few Danish pages, searches as a user with a set of access tokens,
and asserts on what that user would see: which documents, in which order, with which
pages, snippets, counts and suggestions.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.errors import InvalidQuery, SearchUnavailable
from portal.search import SearchQuery, SearchResults, open_index
from portal.search.embedded import EmbeddedIndex
from portal.search.query import parse

from .conftest import ORG3_STAFF, PUBLIC, Corpus

# --- Danish: inflection, compounds, phrases, letters -------------------------------------


def test_inflections_of_a_word_find_each_other(corpus: Corpus) -> None:
    corpus.add(
        corpus.page(1, text="Der blev indgået en aftale om udlejning."),
        corpus.page(2, text="Aftalen gælder fra næste år."),
        corpus.page(3, text="Begge aftaler blev underskrevet på mødet."),
        corpus.page(4, text="Aftalerne evalueres hvert år af parterne."),
        corpus.page(5, text="Regnskabet blev godkendt uden bemærkninger."),
    )
    for word in ("aftale", "aftalen", "aftaler", "aftalerne", "AFTALE"):
        assert sorted(corpus.ids(word)) == [1, 2, 3, 4], word


def test_a_word_finds_compounds_containing_it_and_the_exact_word_ranks_first(corpus: Corpus) -> None:
    corpus.add(
        corpus.page(1, text="Parterne underskrev en ny anvisningsaftale for afdelingerne."),
        corpus.page(2, text="Kommunen står for anvisning af hver fjerde ledige familiebolig."),
        corpus.page(3, text="Årets styringsdialog handlede om økonomi."),
        corpus.page(4, text="Bestyrelsen vedtog nye udlejningsregler."),
        corpus.page(5, text="Referatet blev godkendt."),
    )
    assert corpus.ids("anvisning") == [2, 1]
    assert corpus.ids("dialog") == [3]
    assert corpus.ids("udlejning") == [4]
    # The compound itself is still found as a whole word, with its inflections.
    assert corpus.ids("anvisningsaftalen") == [1]


def test_a_phrase_needs_its_words_side_by_side_in_order(corpus: Corpus) -> None:
    corpus.add(
        corpus.page(1, text="Afdelingen indfører fleksibel udlejning fra januar."),
        corpus.page(2, text="Udlejning sker efter venteliste; en fleksibel ordning blev afvist."),
    )
    assert corpus.ids('"fleksibel udlejning"') == [1]
    assert sorted(corpus.ids("fleksibel udlejning")) == [1, 2]
    # Stop words inside a phrase keep their place.
    corpus.add(corpus.page(3, text="Kommunen tager styring af boligerne i området."))
    assert corpus.ids('"styring af boligerne"') == [3]
    assert corpus.ids('"styring boligerne"') == []


def test_a_word_found_only_inside_compounds_ranks_pages_alike_on_both_engines(corpus: Corpus) -> None:
    # The compound part counts once per distinct word, on both engines: a page that repeats
    # one compound does not outrank a page with two different compounds holding the part.
    corpus.add(
        corpus.page(1, text="Boligafdelingen og boligafdelingen og boligafdelingen mødes."),
        corpus.page(2, text="Ungdomsboligerne og ældreboligerne i afdelingen mødes."),
    )
    assert corpus.ids("bolig") == [2, 1]


def test_danish_letters_are_not_folded_to_ascii(corpus: Corpus) -> None:
    corpus.add(
        corpus.page(1, text="Bebyggelsen ligger ved en sø med stier rundt om."),
        corpus.page(2, text="Forkortelsen SO står for sagsoversigt i systemet."),
        corpus.page(3, text="Bestyrelsen stemte mod forslaget om ny husleje."),
        corpus.page(4, text="Møderne holdes i fælleshuset."),
    )
    assert corpus.ids("sø") == [1]
    assert corpus.ids("so") == [2]
    assert corpus.ids("møderne") == [4]
    assert corpus.ids("mode") == []


def test_old_aa_spelling_finds_å_and_back(corpus: Corpus) -> None:
    corpus.add(
        corpus.page(1, text="Boligforeningen har afdelinger i Åbenrå og Haderslev."),
        corpus.page(2, text="Afdelingen i Aabenraa blev renoveret i 1998."),
        corpus.page(3, text="Udtrukket af en PDF: A\u030abenra\u030a Kommune."),  # decomposed letters
    )
    assert sorted(corpus.ids("Aabenraa")) == [1, 2, 3]
    assert sorted(corpus.ids("Åbenrå")) == [1, 2, 3]
    assert sorted(corpus.ids("åbenrå")) == [1, 2, 3]


# --- query language ------------------------------------------------------------------------


@pytest.fixture
def meetings(corpus: Corpus) -> Corpus:
    corpus.add(
        corpus.page(1, text="Budgettet for afdelingen blev vedtaget."),
        corpus.page(2, text="Regnskabet viste et overskud, og budgettet holdt."),
        corpus.page(3, text="Helhedsplanen for området blev præsenteret."),
        corpus.page(4, text="Udlejningen af ungdomsboliger går godt."),
        corpus.page(5, text="Udlejer og lejer mødtes om vedligeholdelse."),
    )
    return corpus


def test_words_are_anded_by_default(meetings: Corpus) -> None:
    assert meetings.ids("budget regnskab") == [2]


def test_or_finds_either(meetings: Corpus) -> None:
    assert sorted(meetings.ids("regnskab OR helhedsplan")) == [2, 3]
    # OR binds tighter than the implicit AND.
    assert meetings.ids("budget regnskab OR helhedsplan") == [2]


def test_minus_excludes(meetings: Corpus) -> None:
    assert meetings.ids("budget -regnskab") == [1]
    assert meetings.ids('budget -"viste et overskud"') == [1]
    assert sorted(meetings.ids("-budget")) == [3, 4, 5]


def test_star_matches_a_prefix(meetings: Corpus) -> None:
    assert sorted(meetings.ids("udlej*")) == [4, 5]
    assert sorted(meetings.ids("budgetter*")) == [1, 2]  # the stem of a prefix counts


@pytest.mark.parametrize(
    "text",
    ['"budget', 'budget"', "OR", "budget OR", "OR budget", "-", "--", "*", '"" budget', "((budget", "budget:", "+budget", "\\"],
)
def test_malformed_input_is_read_as_words_never_an_error(meetings: Corpus, text: str) -> None:
    results = meetings.find(text)
    assert isinstance(results, SearchResults)
    if "budget" in text:
        assert sorted(h.source_id for h in results.hits) == [1, 2]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.sampled_from(list('ab æøå"-*: OR()\\\'<>&budget')), max_size=40))
def test_any_input_gives_results_not_an_exception(meetings: Corpus, text: str) -> None:
    assert isinstance(meetings.find(text), SearchResults)


def test_only_stop_words_find_nothing_and_empty_text_browses(meetings: Corpus) -> None:
    assert meetings.find("og i at").total == 0
    assert meetings.find("").total == 5


# --- filters, facets, grouping, sorting ------------------------------------------------------


@pytest.fixture
def reports(corpus: Corpus) -> Corpus:
    corpus.add(
        corpus.page(1, text="Huslejen stiger i afdelingen.", organisation_id=3, kind="referat", year=2019, department_id=31),
        corpus.page(2, text="Huslejen er uændret.", organisation_id=3, kind="styringsrapport", year=2021, department_id=32),
        corpus.page(3, text="Huslejen falder efter renovering.", organisation_id=7, kind="referat", year=2022, department_id=71),
        corpus.page(4, text="Huslejen blev drøftet.", organisation_id=7, kind="regnskab", year=2024, department_id=72),
        corpus.page(4, 2, text="Huslejen for ungdomsboliger blev også drøftet.", organisation_id=7, kind="regnskab", year=2024, department_id=72),
    )
    return corpus


def test_filters_narrow_the_results(reports: Corpus) -> None:
    assert sorted(reports.ids("husleje", organisation_ids=[7])) == [3, 4]
    assert sorted(reports.ids("husleje", kinds=["referat"])) == [1, 3]
    assert sorted(reports.ids("husleje", year_from=2021, year_to=2022)) == [2, 3]
    assert sorted(reports.ids("husleje", year_from=2022)) == [3, 4]
    assert sorted(reports.ids("husleje", year_to=2019)) == [1]
    assert sorted(reports.ids("husleje", department_ids=[32, 72])) == [2, 4]
    assert sorted(reports.ids("husleje", organisation_ids=[3], kinds=["styringsrapport"])) == [2]
    assert reports.ids("husleje", organisation_ids=[]) == []
    assert reports.ids("husleje", record_types=["obligation"]) == []
    assert sorted(reports.ids("husleje", visibilities=["public"])) == [1, 2, 3, 4]


def test_facets_count_matching_pages_per_value_with_filters_applied(reports: Corpus) -> None:
    results = reports.find("husleje")
    assert results.total == 4  # documents
    assert results.facets == {
        "organisation": {"3": 2, "7": 3},
        "kind": {"referat": 2, "styringsrapport": 1, "regnskab": 2},
        "year": {"2019": 1, "2021": 1, "2022": 1, "2024": 2},
    }
    filtered = reports.find("husleje", organisation_ids=[3])
    assert filtered.total == 2
    assert filtered.facets["organisation"] == {"3": 2}
    assert filtered.facets["year"] == {"2019": 1, "2021": 1}


def test_totals_and_facets_follow_writes(reports: Corpus) -> None:
    assert reports.find("husleje").total == 4
    assert reports.find("husleje", per_page=1, page=2, sort="date").facets["kind"]["referat"] == 2
    reports.add(reports.page(5, text="Huslejen for familieboliger.", organisation_id=7, kind="referat", year=2024))
    grown = reports.find("husleje")
    assert grown.total == 5
    assert grown.facets["kind"]["referat"] == 3 and grown.facets["organisation"]["7"] == 4
    reports.index.delete_source(1)
    reports.index.refresh()
    shrunk = reports.find("husleje", per_page=1, page=2, sort="date")
    assert shrunk.total == 4
    assert shrunk.facets["kind"]["referat"] == 2 and shrunk.facets["organisation"] == {"3": 1, "7": 4}


def test_paging_and_sort_order_keep_the_total_and_facets(reports: Corpus) -> None:
    first = reports.find("husleje", per_page=1)
    for other in (reports.find("husleje", per_page=1, page=3), reports.find("husleje", per_page=2, sort="date")):
        assert (other.total, other.facets) == (first.total, first.facets)
    assert reports.find("husleje", kinds=["referat"]).facets["kind"] == {"referat": 2}


def test_an_access_filter_of_many_tokens_matches_any_of_them(corpus: Corpus) -> None:
    corpus.add(
        corpus.page(1, text="Dialogpapir om tomgang.", readers=["party:41"]),
        corpus.page(2, text="Dialogpapir om tomgang.", readers=["party:9"]),
    )
    # An administrator serving many organisations carries a token per organisation.
    many = {f"party:{n}" for n in range(10, 60)}
    assert corpus.ids("tomgang", many) == [1]
    assert corpus.ids("tomgang", many - {"party:41"}) == []
    assert sorted(corpus.ids("tomgang", many | {"party:9"})) == [1, 2]


def test_a_document_with_several_matching_pages_is_one_hit_with_its_best_pages_first(corpus: Corpus) -> None:
    corpus.add(
        corpus.page(1, 1, text="Renovering blev nævnt kort."),
        corpus.page(1, 2, text="Renovering, renovering og atter renovering: renoveringen fylder hele siden."),
        corpus.page(1, 3, text="Økonomi og renovering af køkkener og renovering af bad."),
        corpus.page(1, 4, text="Intet om emnet her."),
        corpus.page(2, 1, text="Renovering af tage."),
    )
    results = corpus.find("renovering")
    assert results.total == 2
    first = next(h for h in results.hits if h.source_id == 1)
    assert [p.page for p in first.pages] == [2, 3, 1]
    assert [p.score for p in first.pages] == sorted((p.score for p in first.pages), reverse=True)
    assert first.score == first.pages[0].score
    limited = corpus.find("renovering", pages_per_document=1)
    assert [len(h.pages) for h in limited.hits] == [1, 1]


def test_pages_of_results_are_pages_of_documents(corpus: Corpus) -> None:
    corpus.add(*(corpus.page(d, p, text=f"Vedligeholdelse af afdeling {d}, side {p}.") for d in range(1, 8) for p in (1, 2)))
    seen: list[int] = []
    for number in (1, 2, 3, 4):
        results = corpus.find("vedligeholdelse", per_page=2, page=number)
        assert results.total == 7
        assert len(results.hits) == (2 if number < 4 else 1)
        assert all(len(h.pages) == 2 for h in results.hits)
        seen += [h.source_id for h in results.hits]
    assert sorted(seen) == list(range(1, 8))
    assert corpus.find("vedligeholdelse", per_page=2, page=5).hits == []


def test_sort_by_date_puts_the_newest_document_first(corpus: Corpus) -> None:
    corpus.add(
        corpus.page(1, text="Tilsyn tilsyn tilsyn med boligorganisationen.", day=date(2018, 5, 1)),
        corpus.page(2, text="Tilsyn blev nævnt.", day=date(2024, 2, 1)),
        corpus.page(3, text="Tilsynet blev kort omtalt sammen med mange andre emner på dagsordenen.", day=date(2021, 9, 1)),
    )
    assert corpus.ids("tilsyn", sort="date") == [2, 3, 1]
    assert corpus.ids("tilsyn")[0] == 1


@pytest.mark.parametrize("bad", [{"per_page": 0}, {"per_page": 101}, {"page": 0}, {"sort": "title"}, {"page": 1000}])
def test_out_of_range_paging_is_an_invalid_query(bad: dict) -> None:
    with pytest.raises(InvalidQuery):
        SearchQuery(text="x", readers=PUBLIC, **bad)


# --- snippets -------------------------------------------------------------------------------


def test_snippets_are_escaped_text_with_only_marks_added(corpus: Corpus) -> None:
    corpus.add(
        corpus.page(
            1,
            text='Bilaget indeholdt <script>alert("x")</script> & <b>fed</b> tekst om anvisningsaftalen og Aabenraa.',
        )
    )
    snippet = corpus.find("anvisning").hits[0].pages[0].snippet_html
    assert "<script>" not in snippet and "<b>" not in snippet
    assert "&lt;script&gt;" in snippet and "&amp;" in snippet
    assert "<mark>anvisningsaftalen</mark>" in snippet
    without_marks = snippet.replace("<mark>", "").replace("</mark>", "")
    assert "<" not in without_marks and ">" not in without_marks
    assert "<mark>Aabenraa</mark>" in corpus.find("Åbenrå").hits[0].pages[0].snippet_html


def test_a_long_page_is_cut_around_the_matches(corpus: Corpus) -> None:
    filler = "Dette afsnit handler om noget helt andet end emnet. " * 30
    corpus.add(corpus.page(1, text=filler + "Her nævnes beboerdemokratiet endelig. " + filler))
    snippet = corpus.find("beboerdemokrati").hits[0].pages[0].snippet_html
    assert "<mark>beboerdemokratiet</mark>" in snippet
    assert len(snippet) < 400


def test_a_match_at_the_end_of_a_long_page_still_shows_the_words_before_it(corpus: Corpus) -> None:
    filler = "Dette afsnit handler om noget helt andet end emnet. " * 30
    corpus.add(corpus.page(1, text=filler + "Vi aftalte fleksibel udlejning"),
               corpus.page(2, text=filler + "Til sidst nævnes anvisningen"))
    phrase = corpus.find('"fleksibel udlejning"').hits[0].pages[0].snippet_html
    assert phrase.endswith("Vi aftalte <mark>fleksibel</mark> <mark>udlejning</mark>"), phrase
    word = corpus.find("anvisning").hits[0].pages[0].snippet_html
    assert word.endswith("Til sidst nævnes <mark>anvisningen</mark>"), word
    for snippet in (phrase, word):
        assert snippet.startswith("…") and 80 < len(snippet) < 400, snippet


# --- access ------------------------------------------------------------------------------------


def test_records_the_user_may_not_read_leave_no_trace(corpus: Corpus) -> None:
    corpus.add(
        corpus.page(1, text="Fortrolig redegørelse om kassekreditten.", organisation_id=9, kind="redegoerelse", readers=["party:9"]),
        corpus.page(2, text="Offentligt referat om kassekreditten.", organisation_id=3, readers=["public"]),
        corpus.page(3, text="Dialogpapir om kassekreditten.", organisation_id=3, readers=["party:3", "party:1"]),
    )
    public = corpus.find("kassekreditten")
    assert [h.source_id for h in public.hits] == [2]
    assert public.total == 1
    assert public.facets["organisation"] == {"3": 1}

    secret = corpus.find("fortrolig", ORG3_STAFF)
    assert secret.total == 0 and secret.hits == []
    assert secret.facets == {"organisation": {}, "kind": {}, "year": {}}
    assert secret.suggestion is None
    assert corpus.find("fortroli", ORG3_STAFF).suggestion is None
    assert corpus.find("fortrolg", ORG3_STAFF).suggestion is None
    assert sorted(corpus.ids("kassekreditten", ORG3_STAFF)) == [2, 3]

    # Redegørelse appears only in the hidden record: not even its snippet or facet leaks.
    kinds = corpus.find("kassekreditten", ORG3_STAFF).facets["kind"]
    assert "redegoerelse" not in kinds
    assert corpus.ids("fortrolig", {"party:9"}) == [1]


def test_no_access_tokens_means_no_results(corpus: Corpus) -> None:
    corpus.add(corpus.page(1, text="Offentligt referat."))
    results = corpus.find("referat", frozenset())
    assert results.total == 0 and results.hits == [] and results.suggestion is None


def test_a_misspelt_word_gets_a_suggestion_only_where_the_user_may_see_a_hit(corpus: Corpus) -> None:
    corpus.add(
        corpus.page(1, text="Kommunal anvisning blev drøftet.", readers=["public"]),
        corpus.page(2, text="Hemmeligholdelse af boligsocial indsats.", readers=["party:9"]),
    )
    assert corpus.find("anvisnig").suggestion == "anvisning"
    assert corpus.find("kommunal anvisnig").suggestion == "kommunal anvisning"
    assert corpus.find("Anvisnig").suggestion == "Anvisning"
    assert corpus.find("anvisning").suggestion is None
    assert corpus.find("hemmeligholdlse", PUBLIC).suggestion is None
    assert corpus.find("hemmeligholdlse", {"party:9"}).suggestion == "hemmeligholdelse"


# --- writing ---------------------------------------------------------------------------------------


def test_upsert_replaces_a_record_with_the_same_id(corpus: Corpus) -> None:
    corpus.add(corpus.page(1, text="Første udgave handler om tagrenovering."))
    corpus.add(corpus.page(1, text="Anden udgave handler om facaderne."))
    assert corpus.ids("tagrenovering") == []
    assert corpus.ids("facaderne") == [1]
    assert corpus.index.count() == 1


def test_delete_document_removes_all_its_pages_and_only_them(corpus: Corpus) -> None:
    corpus.add(
        corpus.page(1, 1, text="Affaldssortering side et."),
        corpus.page(1, 2, text="Affaldssortering side to."),
        corpus.page(1, 1, version=2, text="Affaldssortering ny version."),
        corpus.page(2, 1, text="Affaldssortering i en anden afdeling."),
        corpus.page(1, 0, record_type="obligation", text="Affaldssortering er en forpligtelse."),
    )
    corpus.index.delete_source(1)
    corpus.index.refresh()
    assert sorted(corpus.ids("affaldssortering")) == [1, 2]  # the obligation 1 and document 2
    assert corpus.ids("affaldssortering", record_types=["page"]) == [2]
    assert corpus.index.count() == 2


def test_delete_records_by_id(corpus: Corpus) -> None:
    corpus.add(corpus.page(1, 1, text="Legepladsen er ny."), corpus.page(1, 2, text="Legepladsen er sikker."))
    corpus.index.delete_records(["page:1:v1:p1", "page:does-not-exist"])
    corpus.index.refresh()
    assert [p.page for p in corpus.find("legeplads").hits[0].pages] == [2]


def test_record_ids_for_check_lists_every_record_with_its_fingerprint(corpus: Corpus) -> None:
    first, second = corpus.page(1, 1, text="Varmeregnskab."), corpus.page(2, 1, text="Vandregnskab.", version=3)
    corpus.add(first, second)
    stamps = corpus.index.record_ids_for_check()
    assert set(stamps) == {first.id, second.id}
    assert stamps[second.id].version == 3 and stamps[second.id].source_id == 2
    assert stamps[first.id].fingerprint == first.fingerprint()
    changed = corpus.page(1, 1, text="Varmeregnskab.", readers=["party:3"])
    assert changed.fingerprint() != first.fingerprint()


def test_rebuild_switches_atomically_when_it_is_done(corpus: Corpus) -> None:
    corpus.add(corpus.page(1, text="Det gamle indeks om grønne områder."))
    with corpus.index.rebuild() as writer:
        writer.upsert([corpus.page(2, text="Det nye indeks om cykelparkering.")])
        corpus.index.refresh()
        assert corpus.ids("grønne") == [1]
        assert corpus.ids("cykelparkering") == []
    corpus.index.refresh()
    assert corpus.ids("grønne") == []
    assert corpus.ids("cykelparkering") == [2]
    assert corpus.index.count() == 1


def test_a_failed_rebuild_leaves_the_old_index_in_place(corpus: Corpus) -> None:
    corpus.add(corpus.page(1, text="Beboerhuset skal males."))
    with pytest.raises(RuntimeError):
        with corpus.index.rebuild() as writer:
            writer.upsert([corpus.page(2, text="Beboerhuset rives ned.")])
            raise RuntimeError("database went away")
    corpus.index.refresh()
    assert corpus.ids("beboerhuset") == [1]
    corpus.index.check()


# --- health --------------------------------------------------------------------------------------------


def test_check_passes_on_a_created_index_and_fails_on_a_missing_one(engine: str, index_url: str) -> None:
    missing = open_index(index_url)
    with pytest.raises(SearchUnavailable):
        missing.check()
    with pytest.raises(SearchUnavailable):
        missing.search(SearchQuery(text="referat", readers=PUBLIC))
    created = open_index(index_url, create=True)
    created.check()
    assert created.count() == 0
    assert created.search(SearchQuery(text="referat", readers=PUBLIC)).total == 0
    assert engine in created.describe().lower() or "opensearch" in created.describe().lower()


def test_an_unreachable_opensearch_is_unavailable_not_a_crash() -> None:
    # Port 9 (discard) is closed here: a real connection attempt that is refused.
    index = open_index("http://127.0.0.1:9/aftaleportalen-unreachable")
    with pytest.raises(SearchUnavailable):
        index.check()
    with pytest.raises(SearchUnavailable):
        index.search(SearchQuery(text="referat", readers=PUBLIC))
    with pytest.raises(SearchUnavailable):
        index.upsert([Corpus.page(1, text="Referat.")])
    assert "unavailable" in index.describe()


def test_opensearch_requests_carry_the_access_filter_inside_the_query() -> None:
    # What OpenSearch is sent can be checked without a server: the readers filter sits
    # in the query itself, so hits, totals and facets are all filtered.
    from portal.search.opensearch import _filters, _search_body

    query = SearchQuery(
        text='anvisning "fleksibel udlejning" -referat udlej* aftale OR kontrakt',
        readers=ORG3_STAFF, organisation_ids=[3], year_from=2020, sort="date",
    )
    body = _search_body(query, parse(query.text), _filters(query))
    json.dumps(body)
    assert {"terms": {"readers": sorted(ORG3_STAFF)}} in body["query"]["bool"]["filter"]
    assert {"range": {"year": {"gte": 2020}}} in body["query"]["bool"]["filter"]
    assert "post_filter" not in body
    assert body["sort"][0] == {"date": "desc"}


# --- embedded engine: several processes, one folder ---------------------------------------------------


def test_embedded_reader_sees_another_processes_writes_and_rebuilds(tmp_path: Path) -> None:
    folder = tmp_path / "search"
    reader = EmbeddedIndex(folder)
    writer_script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
        from tests.search.conftest import Corpus
        from portal.search import open_index
        index = open_index({str(folder)!r}, create=True)
        if sys.argv[1] == "upsert":
            index.upsert([Corpus.page(1, text="Skimmelsvamp i kælderen.")])
        else:
            with index.rebuild() as w:
                w.upsert([Corpus.page(2, text="Fugtskader i opgangen.")])
        """
    )

    def run(mode: str) -> None:
        subprocess.run([sys.executable, "-c", writer_script, mode], check=True, timeout=60)

    run("upsert")
    reader.refresh()
    assert [h.source_id for h in reader.search(SearchQuery(text="skimmelsvamp", readers=PUBLIC)).hits] == [1]
    run("rebuild")
    # No refresh needed: every search notices that CURRENT names a new generation.
    assert [h.source_id for h in reader.search(SearchQuery(text="fugtskader", readers=PUBLIC)).hits] == [2]
    assert reader.search(SearchQuery(text="skimmelsvamp", readers=PUBLIC)).total == 0
    generations = sorted(p.name for p in folder.iterdir() if p.name.startswith("gen-"))
    assert len(generations) == 2  # the current one and the one before it


def test_embedded_searches_see_another_writers_commit_in_totals_and_facets(tmp_path: Path) -> None:
    folder = tmp_path / "search"
    reader, writer = EmbeddedIndex(folder), EmbeddedIndex(folder)  # as two processes would
    query = SearchQuery(text="radonmåling", readers=PUBLIC)
    writer.upsert([Corpus.page(1, text="Radonmåling i kælderen.", kind="referat")])
    assert reader.search(query).facets["kind"] == {"referat": 1}
    writer.upsert([Corpus.page(2, text="Ny radonmåling.", kind="styringsrapport")])
    reader.close()  # opened again by the next search: what it kept from before is not used
    reopened = reader.search(query)
    assert reopened.total == 2 and reopened.facets["kind"] == {"referat": 1, "styringsrapport": 1}
    writer.upsert([Corpus.page(3, text="Radonmåling igen.", kind="styringsrapport")])
    # No refresh: a search notices the commit, and counts kept from before it are not used.
    again = reader.search(query)
    assert again.total == 3 and again.facets["kind"] == {"referat": 1, "styringsrapport": 2}


def test_embedded_index_whose_files_vanished_is_unavailable(tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "search"
    index = open_index(str(folder), create=True)
    index.check()
    shutil.rmtree(folder)
    with pytest.raises(SearchUnavailable):
        index.check()
