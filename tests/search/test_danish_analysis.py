"""The Danish analysis chain, the query language and the highlighter, without an index.

These are the Python functions both engines take their word lists and rules from; the
contract suite checks that the engines then behave the same.
"""

from __future__ import annotations

import json
import re

import pytest
import tantivy
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.search import analysis
from portal.search.analysis import (
    COMPOUND_PARTS,
    DANISH_STOP_WORDS,
    MAX_SUBWORD_SIZE,
    MIN_SUBWORD_SIZE,
    Highlighter,
    analyze,
    compound_parts,
    normalise_aa,
    prefix_term,
    stem,
)
from portal.search.opensearch import index_body
from portal.search.query import AnyOf, Phrase, Term, parse, replace_word

# --- analysis -------------------------------------------------------------------------------


def test_inflections_share_one_stem() -> None:
    assert {stem(w) for w in ("aftale", "aftalen", "aftaler", "aftalerne", "Aftalens")} == {"aftal"}
    assert {stem(w) for w in ("anvisning", "anvisningen", "anvisninger")} == {"anvisning"}


def test_danish_letters_are_kept() -> None:
    assert stem("sø") == "sø" and stem("so") == "so"
    assert stem("møderne") == "mød"
    assert stem("mod") is None  # a stop word
    assert analyze("Ærø og Åbenrå") == ["ærø", "åbenrå"]


def test_old_aa_spelling_is_read_as_å() -> None:
    assert analyze("Aabenraa") == analyze("Åbenrå") == analyze("ÅBENRÅ") == ["åbenrå"]
    assert normalise_aa("Aabenraa AAGAARD paa") == "Åbenrå ÅGÅRD på"
    assert analyze("paa") == []  # "på", a stop word


@given(st.text(alphabet=st.sampled_from(list("aAåÅbæø x")), max_size=30))
def test_aa_normalisation_keeps_the_utf8_length(text: str) -> None:
    # The embedded engine relies on this to map offsets between indexed and shown text.
    assert len(normalise_aa(text).encode()) == len(text.encode())


def test_compounds_are_split_into_dictionary_parts() -> None:
    assert compound_parts("anvisningsaftale") == ("anvisning", "aftale")
    assert compound_parts("styringsdialog") == ("styring", "dialog")
    assert "udlejning" in compound_parts("udlejningsregler")
    assert "bolig" in compound_parts("ungdomsboligerne")
    assert compound_parts("anvisning") == ()  # the word itself
    assert compound_parts("anvisningen") == ()  # an inflection is not a compound
    assert compound_parts("fodboldbane") == ()  # no dictionary word inside
    terms = analyze("Anvisningsaftalen")
    assert terms[0] == "anvisningsaftal" and set(terms[1:]) == {"anvisning", "aftal"}


def test_compound_dictionary_is_clean() -> None:
    for word in COMPOUND_PARTS:
        assert word == word.lower() and "aa" not in word, word
        assert word not in DANISH_STOP_WORDS, word
        assert MIN_SUBWORD_SIZE <= len(word) <= MAX_SUBWORD_SIZE, word
        assert analysis.words(word) == [word], word


def test_our_stop_words_are_tantivys_danish_list() -> None:
    builtin = (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple()).filter(tantivy.Filter.stopword("danish")).build()
    )
    assert [w for w in DANISH_STOP_WORDS if builtin.analyze(w)] == []
    assert len(set(DANISH_STOP_WORDS)) == len(DANISH_STOP_WORDS) == 94


def test_opensearch_gets_the_same_chain() -> None:
    settings = index_body()["settings"]["analysis"]
    assert settings["filter"]["da_stop"]["stopwords"] == list(DANISH_STOP_WORDS)
    assert settings["filter"]["da_stem"]["language"] == "danish"
    decompound = settings["filter"]["da_decompound"]
    assert decompound["word_list"] == sorted(COMPOUND_PARTS)
    assert (decompound["min_subword_size"], decompound["max_subword_size"]) == (MIN_SUBWORD_SIZE, MAX_SUBWORD_SIZE)
    assert settings["char_filter"]["da_aa"]["replacement"] == "å"
    assert settings["analyzer"]["da_text"]["filter"] == ["lowercase", "da_stop", "da_stem"]
    assert "fold" not in json.dumps(settings)  # no ASCII folding anywhere


def test_prefix_of_an_inflected_word_is_cut_to_its_stem() -> None:
    assert prefix_term("aftaler") == "aftal"
    assert prefix_term("Udlej") == "udlej"
    assert prefix_term("Aabenr") == "åbenr"


# --- the query language ------------------------------------------------------------------------


def test_query_language() -> None:
    assert parse("aftale anvisning").required == (Term("aftale"), Term("anvisning"))
    assert parse('"fleksibel udlejning" husleje').required == (Phrase(("fleksibel", "udlejning")), Term("husleje"))
    assert parse("aftale OR kontrakt budget").required == (AnyOf((Term("aftale"), Term("kontrakt"))), Term("budget"))
    assert parse("budget -regnskab").excluded == (Term("regnskab"),)
    assert parse('budget -"helt andet"').excluded == (Phrase(("helt", "andet")),)
    assert parse("udlej*").required == (Term("udlej", prefix=True),)
    assert parse("boligsocial-anvisning").required == (Phrase(("boligsocial", "anvisning")),)


def test_unbalanced_quotes_and_dangling_operators_are_ordinary_text() -> None:
    assert parse('"fleksibel udlejning').required == (Term("fleksibel"), Term("udlejning"))
    assert parse("OR budget OR").required == (Term("budget"),)
    assert parse("a*").required == (Term("a"),)  # a one-letter prefix is not expanded
    assert parse("budget - regnskab").required == (Term("budget"), Term("regnskab"))


def test_stop_words_are_dropped_and_a_query_of_only_stop_words_matches_nothing() -> None:
    assert parse("styring af boliger").required == (Term("styring"), Term("boliger"))
    assert parse("og i at").only_stop_words
    assert parse('"og i" budget').required == (Term("budget"),)
    assert parse("").matches_everything and not parse("").only_stop_words


@given(st.text(max_size=200))
def test_the_parser_never_raises(text: str) -> None:
    parsed = parse(text)
    assert len(parsed.required) + len(parsed.excluded) <= 32


def test_replace_word_keeps_the_rest_as_typed() -> None:
    assert replace_word("Kommunal anvisnig 2021", "anvisnig", "anvisning") == "Kommunal anvisning 2021"
    assert replace_word("Anvisnig", "anvisnig", "anvisning") == "Anvisning"
    assert replace_word("anvisnigsaftale anvisnig", "anvisnig", "anvisning") == "anvisnigsaftale anvisning"


# --- highlighting -----------------------------------------------------------------------------


def test_highlighter_marks_inflections_compounds_and_prefixes_and_escapes_the_rest() -> None:
    text = "<b>Aftalerne</b> om anvisningsaftale & udlejningen i Aabenraa."
    highlighter = parse("aftale udlej* Åbenrå").highlighter()
    snippet = highlighter.snippet(text)
    assert snippet == (
        "&lt;b&gt;<mark>Aftalerne</mark>&lt;/b&gt; om <mark>anvisningsaftale</mark> &amp; "
        "<mark>udlejningen</mark> i <mark>Aabenraa</mark>."
    )


@given(st.text(max_size=300))
def test_snippets_never_contain_markup_other_than_mark(text: str) -> None:
    snippet = Highlighter({"aftal", "a"}, ["b"]).snippet(text)
    bare = snippet.replace("<mark>", "").replace("</mark>", "")
    assert "<" not in bare and ">" not in bare


def _words_one_by_one(highlighter: Highlighter, text: str) -> list[tuple[int, int]]:
    """What the highlighter should find, the slow and obvious way: every word (a run of
    letters and digits) holding one of the query's terms or prefixes that `matches`."""
    lowered = text.lower()
    flags = 0
    if len(lowered) != len(text):
        lowered, flags = text, re.IGNORECASE
    needles = sorted(highlighter.terms | set(highlighter.prefixes), key=len, reverse=True)
    needle = re.compile("|".join(analysis._needle_pattern(n) for n in needles), flags)
    found = []
    start = None
    for index, character in enumerate(lowered + " "):
        if character.isalnum():
            start = index if start is None else start
        elif start is not None:
            word = lowered[start:index]
            if needle.search(word) and highlighter.matches(text[start:index]):
                found.append((start, index))
            start = None
    return found


WORDS = ["aftale", "Aftalerne", "anvisningsaftalen", "Aabenraa", "ÅBENRÅ", "udlejning", "Udlejningen", "fleksibel",
         "budget", "x" * 300, "12udlejning3", "İstanbul", "ſkat", "Straße", "–", "’", "<b>", "&", "_", "é"]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=6)), max_size=60),
    st.lists(st.sampled_from([" ", ", ", ".\n", "-", "/", "_", " – ", "’"]), min_size=1),
    st.sampled_from(["aftale udlej*", '"fleksibel udlejning"', "Åbenrå", "budget OR aftale", "x*", "skat"]),
)
def test_highlighter_finds_what_reading_word_by_word_finds(words: list[str], separators: list[str], query: str) -> None:
    text = "".join(word + separators[i % len(separators)] for i, word in enumerate(words))
    highlighter = parse(query).highlighter()
    assert highlighter.spans(text) == _words_one_by_one(highlighter, text)


@given(st.text(alphabet=st.characters(max_codepoint=0x2FF)))
def test_fast_lowercasing_is_str_lower(text: str) -> None:
    assert analysis._lower(text) == text.lower()
    assert all(analysis._lower(chr(code)) == chr(code).lower() for code in range(256))


def test_snippet_window_is_the_first_densest_run_of_matches() -> None:
    filler = "ord " * 100
    text = "aftale " + filler + "aftale aftalen aftaler " + filler + "aftale aftalen aftaler"
    snippet = Highlighter({"aftal"}).snippet(text, max_chars=60)
    assert snippet.startswith("…") and snippet.count("<mark>") == 3
    assert snippet.endswith("…")  # the first of the two equal runs, not the one ending the text
    # A match longer than the window is a run of its own, and the first such wins.
    assert Highlighter((), ["x"]).snippet("x" * 300 + " x", max_chars=60).startswith("<mark>" + "x" * 300)


def test_excluded_words_are_not_marked() -> None:
    assert "<mark>" not in parse("-budget").highlighter().snippet("Budget for året.")


@pytest.mark.parametrize("word", ["sø", "møde"])
def test_highlighter_does_not_fold_letters(word: str) -> None:
    snippet = parse(word).highlighter().snippet("so mode mod sø møde")
    assert snippet.count("<mark>") == 1


def test_decomposed_letters_from_a_mac_keyboard_are_read_as_one_letter() -> None:
    decomposed = "A\u030abenra\u030a"  # "Åbenrå" as A + ring, a + ring
    assert parse(decomposed).required == (Term("Åbenrå"),)
    assert analyze(analysis.prepare(decomposed)) == ["åbenrå"]
