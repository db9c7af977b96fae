"""The user's query language, parsed into an engine-neutral tree both backends translate.

    aftale anvisning        both words (AND is the default), each with its inflections
    "fleksibel udlejning"   the words next to each other, in this order
    aftale OR overenskomst  either (OR binds tighter than the implicit AND)
    -referat                pages with this word (or "phrase") are left out
    udlej*                  words starting with "udlej"

Anything else is read as words: the parser never fails, so a user never sees an error
for what they typed (an unbalanced quote is an ordinary character; a dangling OR is
ignored). Stop words are dropped from the words (a phrase keeps their place).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from portal.search import analysis

MAX_CLAUSES = 32  # beyond this a query is cut: longer queries are pasted text, not intent
MAX_QUERY_CHARS = 1000
MIN_PREFIX_CHARS = 2  # "a*" would match a large part of the dictionary


@dataclass(frozen=True)
class Term:
    """One word; with `prefix`, any word starting with it."""

    word: str
    prefix: bool = False


@dataclass(frozen=True)
class Phrase:
    """Words that must stand next to each other, in order (stop words keep their place)."""

    words: tuple[str, ...]


Clause = Term | Phrase


@dataclass(frozen=True)
class AnyOf:
    """At least one of the options must match."""

    options: tuple[Clause, ...]


@dataclass(frozen=True)
class ParsedQuery:
    """`required` must all match; `excluded` must not. Nothing required and nothing
    excluded means "everything" (browsing by filters) unless `only_stop_words`, when the
    user typed words that carry no meaning and nothing matches."""

    required: tuple[Clause | AnyOf, ...] = ()
    excluded: tuple[Clause, ...] = ()
    only_stop_words: bool = False
    source: str = field(default="", compare=False)

    @property
    def matches_everything(self) -> bool:
        return not self.required and not self.excluded and not self.only_stop_words

    def positive_clauses(self) -> Iterator[Clause]:
        for item in self.required:
            if isinstance(item, AnyOf):
                yield from item.options
            else:
                yield item

    def plain_words(self) -> list[str]:
        """Non-prefix single words that must or may match: the words a spelling
        suggestion may replace."""
        return [c.word for c in self.positive_clauses() if isinstance(c, Term) and not c.prefix]

    def highlighter(self) -> analysis.Highlighter:
        """Marks what the positive clauses match (excluded ones match nothing shown)."""
        terms: set[str] = set()
        prefixes: set[str] = set()
        for clause in self.positive_clauses():
            if isinstance(clause, Phrase):
                terms.update(term for _, term in analysis.phrase_terms(" ".join(clause.words)))
            elif clause.prefix:
                prefixes.add(analysis.prefix_term(clause.word))
            else:
                term = analysis.stem(clause.word)
                if term:
                    terms.add(term)
        return analysis.Highlighter(terms, prefixes)


_TOKEN = re.compile(r'(?P<neg>-?)"(?P<phrase>[^"]*)"|(?P<word>\S+)')


def parse(text: str) -> ParsedQuery:
    """Parse what the user typed. Never raises."""
    # NFC first: a browser on macOS may send "å" as "a" + combining ring.
    source = analysis.prepare(text[:MAX_QUERY_CHARS])
    required: list[Clause | AnyOf] = []
    excluded: list[Clause] = []
    saw_words = False
    pending_or = False
    for match in _TOKEN.finditer(source):
        if len(required) + len(excluded) >= MAX_CLAUSES:
            break
        negated = bool(match.group("neg"))
        if match.group("phrase") is not None:
            clause = _phrase(match.group("phrase"))
        else:
            raw = match.group("word")
            if raw == "OR":
                pending_or = bool(required)
                continue
            if raw == "AND":
                continue
            negated = raw.startswith("-") and len(raw) > 1
            clause = _word(raw[1:] if negated else raw.lstrip("+"))
        if clause is None:
            continue
        saw_words = True
        if _only_stop_words(clause):
            continue  # no meaning of its own, in either engine
        if negated:
            excluded.append(clause)
        elif pending_or:
            previous = required[-1]
            options = previous.options if isinstance(previous, AnyOf) else (previous,)
            required[-1] = AnyOf(options + (clause,))
        else:
            required.append(clause)
        pending_or = False
    only_stop_words = saw_words and not required and not excluded
    return ParsedQuery(tuple(required), tuple(excluded), only_stop_words, source)


def _only_stop_words(clause: Clause) -> bool:
    if isinstance(clause, Phrase):
        return not analysis.phrase_terms(" ".join(clause.words))
    return not clause.prefix and analysis.stem(clause.word) is None


def _word(raw: str) -> Clause | None:
    prefix = raw.endswith("*")
    parts = analysis.words(raw)
    if not parts:
        return None
    if len(parts) > 1:
        # "boligsocial-anvisning" or "§59,stk.1": the words as written, side by side.
        return Phrase(tuple(parts))
    word = parts[0]
    return Term(word, prefix=prefix and len(word) >= MIN_PREFIX_CHARS)


def _phrase(inner: str) -> Clause | None:
    parts = analysis.words(inner)
    if not parts:
        return None
    if len(parts) == 1:
        return Term(parts[0])
    return Phrase(tuple(parts))


def replace_word(text: str, word: str, replacement: str) -> str:
    """`text` with the first whole-word occurrence of `word` (any case) replaced, keeping
    everything else as typed; for "did you mean"."""
    pattern = re.compile(r"(?<![^\W_])" + re.escape(word) + r"(?![^\W_])", re.IGNORECASE)
    found = pattern.search(text)
    if found is None:
        return text
    original = found.group(0)
    if original[:1].isupper():
        replacement = replacement[:1].upper() + replacement[1:]
    return text[: found.start()] + replacement + text[found.end() :]
