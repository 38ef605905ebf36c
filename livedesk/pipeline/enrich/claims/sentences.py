"""Which sentences of a text can hold a claim: the shared sentence splitter and a cue filter, no parsing.

The dependency parse is the costly part of the claim rules, and most sentences of a news page attribute nothing.
Every rule of extract.py starts from a cue word (a speech verb, "according", a hedge), so a sentence without one
of the cue words' surface forms can hold no claim and is never parsed. The text-level rules (a pronoun source, "has
not independently confirmed", a denial disputing an assertion) only relate claims to each other, so the cue
sentences are all the context they need.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import cache

from livedesk.pipeline.enrich.claims import cues
from livedesk.text import DATELINE, sentence_spans

# Past forms the regular rules below do not produce.
_IRREGULAR: dict[str, tuple[str, ...]] = {
    "say": ("said",),
    "tell": ("told",),
    "write": ("wrote", "written"),
    "think": ("thought",),
}
_VOWELS = frozenset("aeiou")

# What one article's claim search may cost, whatever the page holds (a 20 MB page of "X said Y" sentences was
# parsed sentence by sentence for minutes). Each bound is several times what real articles need: across the
# 181 pages of the scrapinghub article-extraction corpus the longest text has 53,000 characters, the most cue
# sentences in one article are 58 and the longest sentence has 584 characters. Beyond these, a "sentence" is a
# list or markup debris, and text past the first 100,000 characters is an archive, not an article.
MAX_CLAIM_TEXT_CHARS = 100_000
MAX_CLAIM_SENTENCES = 200
MAX_SENTENCE_CHARS = 2_000


@dataclass(frozen=True)
class Sentence:
    """A sentence of a text: its index among the text's sentences, where it starts, and its text."""

    index: int
    start: int
    text: str

    @property
    def end(self) -> int:
        return self.start + len(self.text)


def past_forms(lemma: str) -> frozenset[str]:
    """The past tense and participle of an English verb: "deny" → denied, "admit" → admitted, "say" → said."""
    if lemma in _IRREGULAR:
        return frozenset(_IRREGULAR[lemma])
    if lemma.endswith("e"):
        return frozenset({f"{lemma}d"})
    if lemma.endswith("y") and lemma[-2] not in _VOWELS:
        return frozenset({f"{lemma[:-1]}ied"})
    return frozenset({f"{lemma}ed", *(f"{stem}ed" for stem in _doubled(lemma))})


def inflections(lemma: str) -> frozenset[str]:
    """The surface forms of an English verb: "deny" → denies, denied, denying; "admit" → admitted, …"""
    forms = {lemma, *past_forms(lemma)}
    if lemma.endswith("e"):
        forms |= {f"{lemma}s", f"{lemma[:-1]}ing"}
    elif lemma.endswith("y") and lemma[-2] not in _VOWELS:
        forms |= {f"{lemma[:-1]}ies", f"{lemma}ing"}
    else:
        plural = "es" if lemma.endswith(("s", "sh", "ch", "x", "z")) else "s"
        forms |= {lemma + plural, f"{lemma}ing", *(f"{stem}ing" for stem in _doubled(lemma))}
    return frozenset(forms)


def _doubled(lemma: str) -> tuple[str, ...]:
    """A final consonant-vowel-consonant doubles before a suffix: admit → admitt(ed)."""
    last, middle, before = lemma[-1], lemma[-2:-1], lemma[-3:-2]
    if last not in _VOWELS | {"w", "x", "y"} and middle in _VOWELS and before and before not in _VOWELS:
        return (lemma + last,)
    return ()


def cue_words() -> frozenset[str]:
    """Every word a rule of extract.py can start from, in all the forms it can take there, lower-cased."""
    verbs = {
        *cues.SPEECH_VERBS,
        *cues.HEDGE_VERBS,
        *cues.REFUSING_VERBS,
        *(cues.WITHHOLDING_VERBS - {"give", "name", "detail", "release"}),  # these only with a refusing verb
        *cues.ANSWER_VERBS,
        *cues.ACCUSING_VERBS,
        "reach",
    }
    words = {form for lemma in verbs for form in inflections(lemma)}
    # Passive hedges ("is believed to", "is thought to") only ever use the participle.
    words |= {form for lemma in cues.PASSIVE_HEDGES for form in past_forms(lemma)}
    return frozenset(words | {*cues.HEDGE_ADVERBS, "according"})


@cache
def _cue_pattern() -> re.Pattern[str]:
    """A cue word in lower case, or capitalised where it opens the sentence (after any quote or bracket): a
    capitalised cue inside a sentence is a name ("the United States", "Daily Report")."""
    words = sorted(cue_words(), key=lambda w: (-len(w), w))
    lower = "|".join(map(re.escape, words))
    opening = "|".join(re.escape(w.capitalize()) for w in words)
    return re.compile(rf"\b(?:{lower})\b|^[\"'“‘(\[]*(?:{opening})\b")


def has_cue(sentence: str) -> bool:
    return _cue_pattern().search(sentence) is not None


def sentences(text: str) -> Iterator[Sentence]:
    """The sentences of `text`, never across a line break, surrounding whitespace left out."""
    for index, (start, end) in enumerate(sentence_spans(text)):
        yield Sentence(index, start, text[start:end])


def claim_sentences(text: str) -> list[Sentence]:
    """The sentences of `text` that can hold a claim: those with a cue word, at most MAX_SENTENCE_CHARS long,
    within the first MAX_CLAIM_TEXT_CHARS characters, the first MAX_CLAIM_SENTENCES of them."""
    searched = text[:MAX_CLAIM_TEXT_CHARS]
    found: list[Sentence] = []
    for sentence in sentences(searched):
        if len(found) == MAX_CLAIM_SENTENCES or (len(searched) < len(text) and sentence.end == len(searched)):
            break  # the last sentence of a cut text may be cut itself
        if len(sentence.text) <= MAX_SENTENCE_CHARS and has_cue(sentence.text):
            found.append(_without_dateline(sentence))
    return found


def _without_dateline(sentence: Sentence) -> Sentence:
    """The text's first sentence without its dateline ("VARENHOLM, Pellmark (Meridian Wire) – "): where the report
    was filed, not who said what — the parse would otherwise take the place for the subject."""
    dateline = DATELINE.match(sentence.text) if sentence.start == 0 else None
    if dateline is None or dateline.end() == len(sentence.text):
        return sentence
    return replace(sentence, start=sentence.start + dateline.end(), text=sentence.text[dateline.end() :])
