"""The story ledger: claims merged per story across outlets and copies, conflicts marked, editors' decisions kept."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Collection, Iterable, Sequence

from livedesk.models import Drift, LedgerEntry, NewClaim, StoredArticle
from livedesk.pipeline.enrich.claims import cues
from livedesk.pipeline.enrich.claims.extract import Claim, conflicting
from livedesk.store import Store
from livedesk.store.edits import EditSession
from livedesk.text import sentence_spans

# Share of topic terms (Jaccard) two claims with the same source and cue need to be one ledger entry: another
# outlet's rewording of the same statement still shares most of its content words.
SAME_CLAIM_OVERLAP = 0.6
# Rewordings are looked for among the latest entries with the same source and cue only, not the whole ledger: a
# story's ledger grows with every article, and comparing each claim with all of it made de-duplication quadratic
# (a page of thousands of "X said Y" locked other writers out for minutes). Rewordings arrive close together.
NEAR_DUP_CANDIDATES = 100
# Share of a claim's topic terms a sentence of a copy must hold to be the copy's wording of it; below, the copy
# does not word the claim at all (cut short, rewritten) and no drift is read from it.
WORDING_OVERLAP = 0.5
# Claims one article adds to the ledger, in text order: its extraction is bounded already (sentences.py); this
# bounds the rows and statements of its write transaction. Real articles hold a few dozen at most.
MAX_CLAIMS_PER_ARTICLE = 200


def record_claims(store: Store, stored: StoredArticle, extracted: Sequence[Claim] | None) -> list[int]:
    """Put the claims `stored` carries into its story's ledger; returns the ids of the entries it carries.
    Idempotent.

    An original's claims are `extracted` from its text (required); a copy's are not (`extracted` may be None): it
    carries the claims of its original, so the ledger lists its outlet too.
    """
    if stored.story_id is None:
        return []
    group = store.syndication_group(stored.id)
    if stored.syndicated_from is not None:
        original = next((m.root_id for m in group if m.id == stored.id), None)
        if original is None or original == stored.id:
            return []
        text = stored.article.text
        drift = {entry.id: wording_drift(entry, text) for entry in store.article_claims(original)}
        return store.carry_claims(original, stored.id, drift)
    if extracted is None:
        raise ValueError(f"article {stored.id} is an original: its extracted claims are needed")
    found = [ledger_claim(c) for c in extracted[:MAX_CLAIMS_PER_ARTICLE]]
    recorded = store.merge_claims(stored.story_id, stored.id, found, match=SameClaims)
    # Copies stored before their original was enriched carry its claims from now on.
    for member in group:
        if member.id != stored.id and member.original_id == stored.id:
            store.carry_claims(stored.id, member.id)
    mark_disputes(store, stored.story_id, among=recorded)
    return list(dict.fromkeys(recorded))


def wording_drift(entry: LedgerEntry | NewClaim, text: str) -> tuple[Drift, ...]:
    """How `text` (a copy's) words the claim `entry` compared with the claim itself: the hedge dropped (none of
    the claim's hedge words left in the copy's sentence for it), the attribution dropped (the source's name in
    neither that sentence nor the one before). Nothing when no sentence of the copy words the claim."""
    terms = set(entry.key.split())
    spans = list(sentence_spans(text))
    lowered = [_words(text[start:end]) for start, end in spans]
    best = max(range(len(spans)), key=lambda n: len(terms & lowered[n]), default=None)
    if best is None or not terms or len(terms & lowered[best]) < WORDING_OVERLAP * len(terms):
        return ()
    drift: list[Drift] = []
    hedges = (_words(entry.text) | _words(entry.cue)) & cues.HEDGE_WORDS
    if hedges and not hedges & lowered[best]:
        drift.append(Drift.DROPPED_HEDGE)
    name = [w for w in re.findall(r"\w+", entry.attributed_to.lower()) if w not in cues.RESOLVABLE_PRONOUNS]
    context = lowered[best] | (lowered[best - 1] if best else set())
    if entry.attributed_to != cues.UNATTRIBUTED and name and name[-1] not in context:
        drift.append(Drift.DROPPED_ATTRIBUTION)
    return tuple(drift)


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def move_claims_on_merge(store: Store | EditSession, keep: int, absorb: int) -> None:
    """Story `absorb` is being merged into `keep`: its ledger joins `keep`'s, the same claim (by `SameClaims`)
    becoming one entry with both stories' carriers and editors' history.

    Call before the story `absorb` is deleted (its entries would go with it), i.e. in `stories.merge` before
    `rewrite_stories`.
    """
    store.move_claims(absorb, keep, match=SameClaims)
    mark_disputes(store, keep)


def rehome_claims_on_split(store: Store | EditSession, old: int, new: int, article_ids: Collection[int]) -> None:
    """`article_ids` left story `old` for story `new`: the entries they carry follow them (whole when nobody
    else in `old` carries them, as a copy for their carriers otherwise). Call once `new` exists."""
    store.move_claims(old, new, match=SameClaims, article_ids=article_ids)
    mark_disputes(store, new)


def ledger_claim(claim: Claim) -> NewClaim:
    key = " ".join(claim.terms) or claim.text.lower()
    return NewClaim(key=key, text=claim.text, attributed_to=claim.attributed_to, cue=claim.cue, status=claim.status)


class SameClaims:
    """A story's ledger entries, indexed to find the entry a claim is another report of: same source and cue, and
    the same content (a dict look-up) or mostly the same (among the latest NEAR_DUP_CANDIDATES such entries)."""

    def __init__(self, entries: Iterable[tuple[int, NewClaim]] = ()) -> None:
        self._exact: dict[tuple[str, str, str], int] = {}
        self._recent: dict[tuple[str, str], deque[tuple[int, frozenset[str]]]] = {}
        for entry_id, claim in entries:
            self.add(entry_id, claim)

    def add(self, entry_id: int, claim: NewClaim) -> None:
        self._exact.setdefault((claim.key, *_speaker(claim)), entry_id)  # the first entry with that key wins
        recent = self._recent.setdefault(_speaker(claim), deque(maxlen=NEAR_DUP_CANDIDATES))
        recent.append((entry_id, frozenset(claim.key.split())))

    def find(self, claim: NewClaim) -> int | None:
        exact = self._exact.get((claim.key, *_speaker(claim)))
        if exact is not None:
            return exact
        terms = frozenset(claim.key.split())
        if not terms:
            return None
        for entry_id, other in self._recent.get(_speaker(claim), ()):
            if len(terms & other) / len(terms | other) >= SAME_CLAIM_OVERLAP:
                return entry_id
        return None


def _speaker(claim: NewClaim) -> tuple[str, str]:
    return claim.attributed_to.lower(), claim.cue


def mark_disputes(store: Store | EditSession, story_id: int, *, among: Collection[int] | None = None) -> None:
    """Claims of the story that a denial in the same story contradicts become disputed.

    With `among` (the entries an article just recorded) only pairs holding one of them are compared: the others
    were compared when their own article was recorded, and a disputed status never reverts. Each article then
    costs a pass over the story's ledger, not a comparison of all its claims with all its denials.
    """
    entries = store.story_claims(story_id)
    fresh = set(among) if among is not None else {e.id for e in entries}
    terms = {e.id: set(e.key.split()) for e in entries}
    denials = [e.id for e in entries if e.status == cues.DENIED]
    fresh_denials = [d for d in denials if d in fresh]
    disputed = {
        e.id: cues.DISPUTED
        for e in entries
        if e.status not in (cues.DENIED, cues.CONFIRMED, cues.DISPUTED)
        and any(conflicting(terms[e.id], terms[d]) for d in (denials if e.id in fresh else fresh_denials))
    }
    if disputed:
        store.update_claim_statuses(disputed)
