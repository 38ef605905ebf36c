"""Plain-text helpers shared by every stage: the one sentence splitter, and the key a name is known by.

A sentence ends at a word closing with ".", "!", "?" or an ellipsis (closing quotes and brackets may follow) when
the next word opens a sentence (a capital, a digit, an opening quote or bracket), and always at a line break. A
full stop after an abbreviation that precedes a name or a number ("Gen. Smith", "Jan. 5", "No. 10") or after an
initial ("J. R. R. Tolkien", "the U.S. Navy") ends nothing; decimals ("3.5") have no space to cut at.

The splitter errs towards cutting too little: two sentences left together still read well in a summary and are
still parsed correctly, whereas a sentence cut in two loses its subject or its statement. It looks at each word
once, so its cost is linear in the text whatever the text holds (no regex backtracking over runs of stops).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

__all__ = [
    "MAX_OUTLET_NAME",
    "display_name",
    "ends_sentence",
    "name_key",
    "outlet_name",
    "sentence_spans",
    "split_sentences",
]

# A dateline opening the lead: "LOWMERE, Aldmoor (Meridian Wire) – ", "WASHINGTON (Reuters) - ", "PARIS — ": a place
# in capitals, maybe its region, maybe the outlet in brackets, then a dash. NER reads it as one name with the
# words around it ("Aldmoor (Meridian Wire", "Lowmere LOWMERE" across the title's end).
DATELINE = re.compile(
    r"\A\s*[A-Z][A-Z'’.\- ]{1,40}(?:,\s*[A-Z][\w'’.\- ]{0,40})?\s*(?:\(\s*[^()\n]{1,60}\)\s*)?(?:--|[-–—:])\s+"
)
_TERMINALS = ".!?…"
_CLOSERS = "\"'”’)]»"
_OPENERS = "\"'“‘([«"
# Followed by a name or a number, never the end of a sentence: titles, saints and streets, months.
_ABBREVIATIONS = frozenset(
    {"mr", "mrs", "ms", "mx", "dr", "prof", "gen", "lt", "col", "maj", "capt", "cmdr", "sgt", "cpl", "pvt", "adm"}
    | {"sen", "rep", "gov", "pres", "rev", "hon", "fr", "st", "mt", "ft", "supt", "insp", "det", "atty", "messrs"}
    | {"jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "vs", "approx", "ca"}
)
# Followed by a number they are abbreviations ("No. 10", "Vol. 3"); followed by a word, "no." ends a sentence.
_NUMBER_ABBREVIATIONS = frozenset({"no", "nos", "vol", "fig", "p", "pp", "art", "ch", "sec"})
_INITIALS = re.compile(r"(?:[^\W\d_]\.)*[^\W\d_]")  # "J", "U.S", "p.m" (the final full stop excluded)
_WORD = re.compile(r"\S+")
_LINE = re.compile(r"[^\n]+")


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`, in order, without surrounding whitespace; a line break always ends one."""
    return [text[start:end] for start, end in sentence_spans(text)]


def sentence_spans(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) offsets of each sentence of `text`, lazily: a caller that needs the first few stops early."""
    for line in _LINE.finditer(text):
        start: int | None = None
        previous: re.Match[str] | None = None
        for word in _WORD.finditer(text, line.start(), line.end()):
            if previous is not None and ends_sentence(previous.group(), word.group()):
                assert start is not None
                yield start, previous.end()
                start = None
            if start is None:
                start = word.start()
            previous = word
        if start is not None and previous is not None:
            yield start, previous.end()


def ends_sentence(word: str, following: str) -> bool:
    """Whether `word` closes its sentence, given the (whitespace-delimited) word after it."""
    core = word.rstrip(_CLOSERS)
    if not core.endswith(tuple(_TERMINALS)):
        return False
    opening = following.lstrip(_OPENERS)
    if opening and opening[0].isalpha() and opening[0].islower():
        return False  # "5 a.m. and …", "He paused... then went on"
    if not opening or not (opening[0].isalnum() or len(opening) < len(following)):
        return False  # what follows is punctuation (a dash, a stray stop): the sentence goes on
    stem = core.rstrip(_TERMINALS)
    if core[len(stem) :] != ".":
        return True  # "!", "?", "?!", an ellipsis: the next word opens, so a new sentence starts
    bare = stem.lstrip(_OPENERS).lower()
    if bare in _ABBREVIATIONS or _INITIALS.fullmatch(stem.lstrip(_OPENERS)):
        return False
    return not (bare in _NUMBER_ABBREVIATIONS and opening[0].isdigit())


# -- names ------------------------------------------------------------------------------------------------------

_DETERMINERS = ("the ", "a ", "an ")
_POSSESSIVE = re.compile(r"['’]s?$")
_EDGE_PUNCTUATION = "\"'“”‘’()[],.;:!?-–— "
_KEY_DROP = re.compile(r"[^\w\s]")


def display_name(text: str) -> str:
    """The name as shown: whitespace collapsed, a leading article and a trailing possessive removed."""
    name = " ".join(text.split()).strip(_EDGE_PUNCTUATION)
    lowered = name.lower()
    for determiner in _DETERMINERS:
        if lowered.startswith(determiner):
            name = name[len(determiner) :]
            break
    return _POSSESSIVE.sub("", name).strip(_EDGE_PUNCTUATION)


def name_key(name: str) -> str:
    """Case-, whitespace-, punctuation- and diacritics-insensitive key: "Zelenskyy’s" and "ZELENSKYY" agree."""
    decomposed = unicodedata.normalize("NFKD", display_name(name))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_KEY_DROP.sub("", plain).casefold().split())


# Longest outlet name kept: a name is a few words, not a slogan or a page title.
MAX_OUTLET_NAME = 80
# What separates a site's name from the rest of a feed's title: "BBC News - World", "The Post | Politics".
_TITLE_PARTS = re.compile(r"\s+[-|–—:·]\s+")


def outlet_name(value: str | None, domain: str, *, from_title: bool = False) -> str | None:
    """The name an outlet gives itself (og:site_name, or the first part of a feed's title `from_title`), or None
    when that says nothing more than the domain, is a URL, or is too long to be a name."""
    if not value:
        return None
    name = " ".join(value.split())
    if from_title:
        name = _TITLE_PARTS.split(name, maxsplit=1)[0]
    key = name.lower().removeprefix("www.").rstrip("/")
    bare = domain.lower().removeprefix("www.")
    if not name or len(name) > MAX_OUTLET_NAME or "://" in key or key in (bare, bare.split(".")[0]):
        return None
    return name if any(c.isalpha() for c in name) else None
