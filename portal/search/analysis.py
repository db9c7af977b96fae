"""The one Danish analysis chain both search engines use.

Chain: NFC → "aa" read as "å" → split into words (letters and digits) → lowercase →
Danish stop words → (compound parts, in the compound field only) → Danish Snowball
stemmer. There is deliberately no ASCII folding: æ, ø and å are letters of their own
("sø" is not "so", "møderne" is not "mod").

This module is the source of truth. The embedded engine gets the same chain as a
tantivy analyzer (`tantivy_analyzer`) plus the compound parts that this module computes
(`compound_text`); OpenSearch gets it as index settings (`opensearch_analysis`) built
from the same word lists. Change a list here and reindex both.

Compound splitting follows Lucene's `dictionary_decompounder` (the filter OpenSearch
runs), so both engines agree on which words a part finds: every dictionary word found
inside a lowercased word of at least MIN_WORD_SIZE letters, the longest one at each start
position. Because parts are found anywhere in the word, Danish linking letters
("styring-s-dialog", "ungdom-s-bolig") need no rule of their own; they are simply
skipped. The dictionary is curated for the domain; a word that is not in it is never
split. (The embedded engine leaves out parts that merely repeat a word's own stem; they
match through the word itself, so what matches is the same.)
"""

from __future__ import annotations

import html
import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from functools import lru_cache
from itertools import accumulate, chain, compress, count, repeat
from operator import itemgetter, sub

import tantivy

ANALYZER_NAME = "da_text"

# Snowball's Danish stop word list (the list Lucene's `_danish_` and tantivy's
# "danish" both ship). Kept here so both engines are given the same words.
DANISH_STOP_WORDS: tuple[str, ...] = tuple(
    """og i jeg det at en den til er som på de med han af for ikke der var mig sig men et
    har om vi min havde ham hun nu over da fra du ud sin dem os op man hans hvor eller hvad
    skal selv her alle vil blev kunne ind når være dog noget ville jo deres efter ned skulle
    denne end dette mit også under have dig anden hende mine alt meget sit sine vor mod
    disse hvis din nogle hos blive mange ad bliver hendes været thi jer sådan""".split()
)

# Words whose compounds should be found from the word alone: "anvisning" finds
# "anvisningsaftale". Lowercase, with "å" (never "aa"), no stop words, at least
# MIN_SUBWORD_SIZE letters. Generic short words ("plan", "leje") are included on purpose:
# they are what people search for; the cost is an occasional loose match.
COMPOUND_PARTS: frozenset[str] = frozenset(
    """
    aftale anvisning dialog styring udlejning bolig afdeling leje lejer lejemål plan
    rapport regnskab vedligehold vedligeholdelse organisation beboer bestyrelse
    repræsentantskab kommune kommunal tilsyn møde referat dagsorden budget strategi
    renovering byggeri område parallelsamfund omdannelse forebyggelse venteliste
    fleksibel kombineret social økonomi drift effektivisering nøgletal målsætning
    evaluering opfølgning indsats udvikling sammensætning tryghed kriminalitet
    beskæftigelse uddannelse integration flytning fraflytning indflytning tomgang
    ledighed henlæggelse landsbyggefond fond tilskud garanti kapital dispositionsfond
    istandsættelse forretningsfører administration revision protokol beretning skema
    analyse bilag kvote andel ungdom ældre familie handicap demokrati klage nævn råderet
    vedtægt energi klima bæredygtighed digitalisering service kvalitet godkendelse frist
    opgave forpligtelse ansvar status model kriterie kriterier målgruppe borger
    hjemløs flygtning husleje lejlighed ejendom facade vindue køkken badeværelse
    varme vand affald friareal legeplads
    """.split()
)

MIN_WORD_SIZE = 5
MIN_SUBWORD_SIZE = 4
MAX_SUBWORD_SIZE = 20

# Tantivy's "simple" tokenizer splits on anything that is not alphanumeric; this is the
# same rule in Python (\w without the underscore).
_WORD = re.compile(r"[^\W_]+")
_AA = re.compile(r"aa", re.IGNORECASE)
_PART_LENGTHS = sorted({len(w) for w in COMPOUND_PARTS})


def prepare(text: str) -> str:
    """Unicode NFC, so a PDF's decomposed "å" (a + ring) is one letter in both engines.

    Apply to text before it is indexed or stored; it is not part of `normalise_aa`
    because it may change the text's length."""
    return unicodedata.normalize("NFC", text)


def normalise_aa(text: str) -> str:
    """Read the old spelling "aa" as "å": "Aabenraa" → "Åbenrå".

    Keeps the UTF-8 byte length ("aa" and "å" are both two bytes) and the case of the
    first letter. Every "aa" is read as "å": Danish words that really contain "aa" across
    a compound seam ("ekstraarbejde") are rare and are treated the same way on both
    sides, so they still find themselves."""
    return _AA.sub(lambda m: "Å" if m.group(0)[0] == "A" else "å", text)


def tantivy_analyzer() -> tantivy.TextAnalyzer:
    """The chain for tantivy text fields. Its input must already be `normalise_aa`-ed,
    because tantivy has no character filters."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.custom_stopword(list(DANISH_STOP_WORDS)))
        .filter(tantivy.Filter.stemmer("danish"))
        .build()
    )


_ANALYZER = tantivy_analyzer()


def words(text: str) -> list[str]:
    """Split text into words the way both engines' tokenizers do (case kept)."""
    return _WORD.findall(text)


@lru_cache(maxsize=100_000)
def stem(word: str) -> str | None:
    """The indexed term of one word, or None for a stop word or a non-word."""
    tokens = _ANALYZER.analyze(normalise_aa(word))
    return tokens[0] if tokens else None


@lru_cache(maxsize=200_000)
def compound_parts(word: str) -> tuple[str, ...]:
    """Dictionary parts found inside a word, unstemmed, as Lucene's
    `dictionary_decompounder` with `only_longest_match` finds them. `word` must be
    lowercased and `normalise_aa`-ed.

    Left out: parts that only repeat the word's own stem ("tilsyn" in "tilsynet" is an
    inflection, not a compound). Those match through the word itself anyway, and
    counting them twice would rank "tilsynet" above "tilsyn"."""
    n = len(word)
    if n < MIN_WORD_SIZE:
        return ()
    own_stem = stem(word)
    parts: list[str] = []
    for start in range(n - MIN_SUBWORD_SIZE + 1):
        longest = None
        for length in _PART_LENGTHS:
            if start + length > n:
                break
            candidate = word[start : start + length]
            if candidate in COMPOUND_PARTS:
                longest = candidate
        if longest is not None and stem(longest) != own_stem:
            parts.append(longest)
    return tuple(parts)


def _lower_words(text: str) -> list[str]:
    return _WORD.findall(normalise_aa(text).lower())


def compound_text(text: str) -> str:
    """The compound parts of the words in `text`, space separated, once per distinct
    word (a part's frequency on a page hardly matters for ranking; indexing speed does).

    The embedded engine indexes this in its compound field with the ordinary analyzer,
    which stems the parts, as the stemmer after OpenSearch's decompounder does."""
    out: list[str] = []
    for word in set(_lower_words(text)):
        if len(word) >= MIN_WORD_SIZE:
            out.extend(compound_parts(word))
    return " ".join(sorted(out))


def analyze(text: str) -> list[str]:
    """Every term the text is indexed under: each word's stem, followed by the stems of
    its compound parts. Stop words give nothing. For tests and highlighting."""
    terms: list[str] = []
    for word in _lower_words(text):
        term = stem(word)
        if term is None:
            continue
        terms.append(term)
        for part in compound_parts(word):
            part_term = stem(part)
            if part_term is not None:
                terms.append(part_term)
    return terms


def phrase_terms(text: str) -> list[tuple[int, str]]:
    """(position, stem) of the words of a phrase; stop words leave a gap in the
    positions, as they do in both indexes, so "styring af boliger" still lines up."""
    out: list[tuple[int, str]] = []
    for position, word in enumerate(_lower_words(text)):
        term = stem(word)
        if term is not None:
            out.append((position, term))
    return out


def prefix_term(prefix: str) -> str:
    """What an indexed term must start with for `prefix*` to match it.

    Index terms are stems, so "aftaler*" must look for terms starting with "aftal";
    the stem of a prefix is cut back to what it shares with the prefix (the stemmer only
    removes endings). Lowercased and with "aa" read as "å"."""
    lowered = normalise_aa(prefix).lower()
    stemmed = _ANALYZER.analyze(lowered)
    if not stemmed:
        return lowered
    common = 0
    for a, b in zip(lowered, stemmed[0]):
        if a != b:
            break
        common += 1
    return lowered[: max(common, 1)]


def opensearch_analysis() -> dict:
    """Index settings ("analysis" section) expressing the same chain for OpenSearch.

    `da_text` is the plain chain, `da_compound` adds the decompounder (indexing only; a
    query is analysed with `da_text`), `da_words` stops after lowercasing and feeds the
    "did you mean" term suggester with real words rather than stems."""
    char_filters = ["da_aa"]
    return {
        "char_filter": {
            "da_aa": {"type": "pattern_replace", "pattern": "(?i)aa", "replacement": "å"},
        },
        "tokenizer": {
            # Same split as tantivy's simple tokenizer: runs of letters and digits.
            "da_words": {"type": "pattern", "pattern": "[^\\p{L}\\p{N}]+"},
        },
        "filter": {
            "da_stop": {"type": "stop", "stopwords": list(DANISH_STOP_WORDS), "ignore_case": False},
            "da_stem": {"type": "stemmer", "language": "danish"},
            "da_decompound": {
                "type": "dictionary_decompounder",
                "word_list": sorted(COMPOUND_PARTS),
                "min_word_size": MIN_WORD_SIZE,
                "min_subword_size": MIN_SUBWORD_SIZE,
                "max_subword_size": MAX_SUBWORD_SIZE,
                "only_longest_match": True,
            },
        },
        "analyzer": {
            "da_text": {
                "type": "custom",
                "char_filter": char_filters,
                "tokenizer": "da_words",
                "filter": ["lowercase", "da_stop", "da_stem"],
            },
            "da_compound": {
                "type": "custom",
                "char_filter": char_filters,
                "tokenizer": "da_words",
                "filter": ["lowercase", "da_stop", "da_decompound", "da_stem"],
            },
            "da_words": {
                "type": "custom",
                "char_filter": char_filters,
                "tokenizer": "da_words",
                "filter": ["lowercase"],
            },
        },
    }


# --- highlighting -------------------------------------------------------------------


class Highlighter:
    """Marks the words of a text that a query matched, on the text as it is stored.

    A word matches when its stem is a query term, when one of its compound parts stems
    to a query term, or when it starts with a query prefix — the same three ways the
    index matches it. The output is the text HTML-escaped with only `<mark>…</mark>`
    added, so nothing from the document is ever interpreted as HTML.
    """

    def __init__(self, terms: Iterable[str], prefixes: Iterable[str] = ()) -> None:
        self.terms = frozenset(t for t in terms if t)
        self.prefixes = tuple(sorted({p for p in prefixes if p}))
        needles = sorted(self.terms | set(self.prefixes), key=len, reverse=True)
        # A stem is (after "aa" → "å") a prefix of its word and a compound part is a
        # substring of it, so only words containing a needle can match. Splitting the
        # lowercased text on an alternation of the needles finds those in C, each from its
        # first needle to the end of its word (so a word is found once), with the text
        # between them; Python then looks closely at the few distinct candidate words only.
        pattern = "((?:" + "|".join(_needle_pattern(n) for n in needles) + ")" + _WORD_CHARS + ")"
        self._needles = re.compile(pattern) if needles else None
        self._needles_any_case = re.compile(pattern, re.IGNORECASE) if needles else None
        # Word → matches, for words as written and lowercased alike (`matches` lowercases).
        self._seen: dict[str, bool] = {}

    def matches(self, word: str) -> bool:
        known = self._seen.get(word)
        if known is not None:
            return known
        lowered = normalise_aa(word).lower()
        parts = compound_parts(lowered)
        result = (
            stem(lowered) in self.terms
            or any(stem(part) in self.terms for part in parts)
            or lowered.startswith(self.prefixes)
            or any(part.startswith(self.prefixes) for part in parts)
        )
        self._seen[word] = result
        return result

    def spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) character offsets of the matching words, in order."""
        return list(zip(*self._offsets(text)))

    def _offsets(self, text: str) -> tuple[list[int], list[int]]:
        """Start and end offsets of the matching words, in order. A page has dozens of
        matches and a result page dozens of pages, so the work per match is done by C
        (split, accumulate, map) wherever it can be."""
        if self._needles is None or self._needles_any_case is None:
            return [], []
        lowered = _lower(text)
        needles = self._needles
        if len(lowered) != len(text):  # a rare letter whose lowercase is longer
            lowered, needles = text, self._needles_any_case
        # [text before, candidate, text between, candidate, ..., text after]
        pieces = needles.split(lowered)
        if len(pieces) == 1:
            return [], []
        bounds = list(accumulate(map(len, pieces)))
        starts, ends = bounds[0:-1:2], bounds[1::2]
        words, between = pieces[1::2], pieces[0:-1:2]
        if any(map(str.isalnum, map(_LAST_CHARACTER, between))):
            # A needle inside a word (a compound's part): the word starts before it.
            for i, piece in enumerate(between):
                if piece[-1:].isalnum():
                    head = len(piece) - _word_start_in(piece)
                    starts[i] -= head
                    words[i] = piece[-head:] + words[i]
        known = list(map(self._seen.get, words))
        if None in known:
            known = [self.matches(word) if k is None else k for k, word in zip(known, words)]
        if all(known):
            return starts, ends
        return list(compress(starts, known)), list(compress(ends, known))

    def snippet(self, text: str, max_chars: int = 240) -> str:
        """An HTML fragment of about `max_chars` characters around the densest run of
        matches (the start of the text when nothing matches)."""
        starts, ends = self._offsets(text)
        start, end = _window(text, starts, ends, max_chars)
        # Spans lie inside words and the window ends between words: those shown are a run.
        first, last = bisect_left(starts, start), bisect_right(ends, end)
        # The window cut at every start and end of a match: text, match, text, ..., text.
        cuts = [start, *chain.from_iterable(zip(starts[first:last], ends[first:last])), end]
        pieces = list(map(text.__getitem__, map(slice, cuts, cuts[1:])))
        # Most windows have nothing to escape; looking once is cheaper than escaping each piece.
        if _HTML_SPECIAL.search(text, start, end):
            pieces = list(map(html.escape, pieces))
        pieces[1::2] = ["<mark>" + match + "</mark>" for match in pieces[1::2]]
        if start > 0:
            pieces.insert(0, "…")
        if end < len(text):
            pieces.append("…")
        return " ".join("".join(pieces).split())


# The rest of a word: letters and digits, the same characters str.isalnum() accepts.
_WORD_CHARS = r"[^\W_]*"
_LAST_CHARACTER = itemgetter(slice(-1, None))
# What html.escape changes.
_HTML_SPECIAL = re.compile(r"[&<>\"']")
# str.lower() of every Latin-1 character is again one Latin-1 character: as a byte table.
_LATIN1_LOWER = bytes(ord(chr(code).lower()) for code in range(256))


def _lower(text: str) -> str:
    """`text.lower()`, several times faster for text that is all Latin-1 (most Danish)."""
    if text.isascii():
        return text.lower()
    try:
        return text.encode("latin-1").translate(_LATIN1_LOWER).decode("latin-1")
    except UnicodeEncodeError:
        return text.lower()


def _word_start_in(text: str) -> int:
    """Where the word that `text` ends with starts."""
    index = len(text)
    while index > 0 and text[index - 1].isalnum():
        index -= 1
    return index


def _needle_pattern(needle: str) -> str:
    # The stored text may still spell "å" as "aa"; both spellings must be found.
    return "".join("(?:å|aa)" if ch == "å" else re.escape(ch) for ch in needle)


def _window(text: str, starts: list[int], ends: list[int], max_chars: int) -> tuple[int, int]:
    """The slice of text to show: the window holding the most matches (the first such),
    widened to whole words. `starts` and `ends` are the matches' offsets, in order."""
    if len(text) <= max_chars:
        return 0, len(text)
    if not starts:
        return 0, _word_end(text, max_chars)
    # For each match i, how many matches from i on end within max_chars of where i starts;
    # both lists rise, so a binary search finds the last one. A match longer than max_chars
    # counts as one of its own, so when no run has two, the first match is the window.
    counts = list(map(sub, map(bisect_right, repeat(ends), [s + max_chars for s in starts]), count()))
    best_count = max(counts)
    best_first = counts.index(best_count) if best_count > 1 else 0
    best_count = max(best_count, 1)
    first_start = starts[best_first]
    last_end = ends[best_first + best_count - 1]
    slack = max(max_chars - (last_end - first_start), 0)
    start = max(first_start - slack // 3, 0)
    end = min(max(start + max_chars, last_end), len(text))
    return _word_start(text, start), _word_end(text, end)


def _word_start(text: str, index: int) -> int:
    while 0 < index < len(text) and not text[index - 1].isspace():
        index -= 1
    return index


def _word_end(text: str, index: int) -> int:
    while index < len(text) and not text[index].isspace():
        index += 1
    return index


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insert, delete, substitute), for ranking spelling corrections."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def iter_words_with_stems(text: str) -> Iterator[tuple[str, str]]:
    """(surface word lowercased, stem) for each non-stop word; for spelling suggestions."""
    for word in _lower_words(text):
        term = stem(word)
        if term is not None:
            yield word, term
