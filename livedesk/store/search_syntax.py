"""A reader's search query, parsed once by us and written out for each backend, so both find the same articles.

    water level           both words, anywhere in the article
    "water level"         the phrase
    flood OR storm        either word (OR in capitals, between two terms; it binds tighter than the implied AND)
    -rain  -"heavy rain"  articles without it

Anything else is a word. Unclosed quotes, a lone "-", an OR with no term on one side, and the databases' own
operators (NEAR(, col:, *, ^, &, |, !) are never syntax: every term reaches FTS5 as a quoted string and
PostgreSQL as a quoted tsquery operand, which each database splits into words with its own tokenizer (the one that
built its index), so neither ever sees an operator of a reader's making, nor a syntax error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

# A search matches at most this many words (a phrase counts each of its words): the cost of matching and of
# highlighting grows with each, and a reader's query never needs more.
MAX_SEARCH_TERMS = 16

# A quoted phrase (an unclosed quote is no quote), a run of anything else but spaces and quotes, or a stray quote.
_TOKEN = re.compile(r'(-?)"([^"]*)"|(-?)([^\s"]+)|"')
_WORD = re.compile(r"[^\W_]+")
# What the databases must not see inside a quoted term: their quote and escape characters, control characters
# (PostgreSQL text cannot hold NUL). Replaced by spaces, which separate words to both tokenizers anyway.
_UNQUOTABLE = re.compile(r"[\"'\\\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Term:
    """A word or a phrase: `words` (lower-cased) say which terms are the same; `text` is what the database's
    tokenizer reads, as the reader wrote it ("3.5", "flood-hit") less the characters it cannot quote."""

    words: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class SearchQuery:
    """Articles holding, for every clause, at least one of its terms, and none of the excluded terms."""

    clauses: tuple[tuple[Term, ...], ...]
    excluded: tuple[Term, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.clauses)  # only exclusions match nothing: a search finds, it does not list everything

    @property
    def words(self) -> list[str]:
        """The different words of the query, in order of first use."""
        terms = [term for clause in self.clauses for term in clause] + list(self.excluded)
        return list(dict.fromkeys(word for term in terms for word in term.words))

    @property
    def size(self) -> int:
        """The words the database matches: each term's words, each different term once."""
        return _size([*(term for clause in self.clauses for term in clause), *self.excluded])

    def fts5(self) -> str:
        """An FTS5 MATCH expression: `("a" OR "b") AND "c d" NOT ("e")`, every term a quoted string."""
        positive = " AND ".join(_either(clause, " OR ", _fts5_string) for clause in self.clauses)
        if not self.excluded:
            return positive
        return f"({positive}) NOT {_either(self.excluded, ' OR ', _fts5_string, always=True)}"

    def tsquery(self) -> str:
        """A to_tsquery() text: `('a' | 'b') & 'c d' & !('e')`, every term a quoted operand (a phrase is quoted
        whole and becomes `c <-> d`)."""
        parts = [_either(clause, " | ", _tsquery_operand) for clause in self.clauses]
        if self.excluded:
            parts.append("!" + _either(self.excluded, " | ", _tsquery_operand, always=True))
        return " & ".join(parts)


def parse_search(text: str, limit: int = MAX_SEARCH_TERMS) -> SearchQuery:
    """The query in `text`; terms past `limit` words (in the order written) are left out."""
    # Each term as written (excluded or not); None for an OR.
    tokens: list[tuple[bool, Term] | None] = []
    for match in _TOKEN.finditer(text):
        minus_quoted, quoted, minus_bare, bare = match.groups()
        if bare == "OR" and not minus_bare:
            tokens.append(None)
        elif (term := _term(quoted if quoted is not None else bare or "")) is not None:
            tokens.append((bool(minus_quoted or minus_bare), term))
    # Each term with the clause it belongs to (None: excluded).
    placed: list[tuple[int | None, Term]] = []
    clause, n = -1, 0
    while n < len(tokens):
        token = tokens[n]
        if token is None:
            before, after = tokens[n - 1] if n else None, tokens[n + 1] if n + 1 < len(tokens) else None
            if before is not None and after is not None and not before[0] and not after[0]:
                placed.append((clause, after[1]))  # OR between two terms, neither excluded: one clause
                n += 2
                continue
            token = (False, Term(("or",), "or"))  # OR anywhere else is the word "or"
        excluded, term = token
        if not excluded:
            clause += 1
        placed.append((None if excluded else clause, term))
        n += 1
    return _bounded(placed, limit)


def search_terms(text: str) -> list[str]:
    """The different words of a reader's query, lower-cased (both backends fold case), in order of first use."""
    return parse_search(text, limit=len(text)).words


def search_size(text: str) -> int:
    """The size of a reader's whole query (see SearchQuery.size): over MAX_SEARCH_TERMS, the store would leave
    terms out."""
    return parse_search(text, limit=len(text)).size


def _term(raw: str) -> Term | None:
    words = tuple(word.lower() for word in _WORD.findall(raw))
    return Term(words, _UNQUOTABLE.sub(" ", raw).strip()) if words else None


def _bounded(placed: list[tuple[int | None, Term]], limit: int) -> SearchQuery:
    """The query of the placed terms, each different term once, keeping terms while the size stays in `limit`."""
    clauses: dict[int, dict[tuple[str, ...], Term]] = {}
    excluded: dict[tuple[str, ...], Term] = {}
    kept: set[tuple[str, ...]] = set()
    size = 0
    for clause, term in placed:
        if term.words not in kept:
            if size + len(term.words) > limit:
                continue
            kept.add(term.words)
            size += len(term.words)
        (excluded if clause is None else clauses.setdefault(clause, {})).setdefault(term.words, term)
    distinct: dict[frozenset[tuple[str, ...]], tuple[Term, ...]] = {}
    for terms in clauses.values():
        distinct.setdefault(frozenset(terms), tuple(terms.values()))
    return SearchQuery(tuple(distinct.values()), tuple(excluded.values()))


def _size(terms: Iterable[Term]) -> int:
    return sum(len(words) for words in {term.words for term in terms})


def _either(terms: Sequence[Term], operator: str, quote: Callable[[Term], str], *, always: bool = False) -> str:
    quoted = [quote(term) for term in terms]
    return f"({operator.join(quoted)})" if len(quoted) > 1 or always else quoted[0]


def _fts5_string(term: Term) -> str:
    return f'"{term.text}"'


def _tsquery_operand(term: Term) -> str:
    return f"'{term.text}'"
