"""Copies → originals: exact and near duplicates grouped, and the original of each group chosen on evidence.

Near duplicates are found by MinHash over word shingles with an LSH index kept in the database (band keys), then
confirmed by containment: the share of the smaller text's shingles found in the larger one. Containment rather
than Jaccard similarity, so a copy keeping only the first paragraphs of a long report still matches it.

The transforms (shingles, signature, band keys, containment, choose_original) are pure; `trace` and `group_of`
do the I/O through the store.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter, deque
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

import numpy as np
from datasketch import MinHash

from livedesk.models import Evidence, StoredArticle, SyndicationGroup, SyndicationMember, SyndicationResult
from livedesk.store import Store
from livedesk.store.syndication import Link, SyndicationSession
from livedesk.urls import canonicalize_url, outlet

__all__ = [
    "Evidence",
    "SyndicationGroup",
    "SyndicationResult",
    "band_keys",
    "choose_original",
    "containment",
    "group_of",
    "index_keys",
    "shingle_sequence",
    "shingles",
    "signature",
    "trace",
]

# Chosen on bench/syndication.py (see its report). Five-word shingles: long enough that unrelated reports on the
# same story rarely share one, short enough that a typo costs only a few.
SHINGLE_WORDS = 5
# 64 bands of 2 rows: a pair at Jaccard 0.2 (a copy holding a fifth of its original) still shares a band
# with probability 1 - (1 - 0.2²)⁶⁴ ≈ 0.93; containment then decides.
NUM_PERM = 128
ROWS_PER_BAND = 2
# The lead: about the first two paragraphs. 32 bands of 4 rows catch leads at Jaccard ≥ 0.6 almost surely,
# and rarely those of different reports.
LEAD_SHINGLES = 60
LEAD_ROWS_PER_BAND = 4
# Measured: different reports of one event (ECB+) share at most 0.35 of the smaller; copies with typos keep ≥ 0.7.
MIN_CONTAINMENT = 0.6
# Shorter texts (a headline, a one-line brief) say too little to call anything a copy.
MIN_SHINGLES = 10
# A text is compared by its first shingles only: twice the longest article of the benchmark sets (about 9,000
# words), while a 10 MB page of text would otherwise cost gigabytes of hashes here, for it and each candidate.
MAX_SHINGLES = 20_000
# A band key shared by this many articles is boilerplate, not evidence: it stops growing, which bounds the
# rows read per lookup however large the store.
MAX_BAND_POSTINGS = 64
# Candidates verified per article, the most band hits first.
MAX_CANDIDATES = 32

_MINHASH_SEED = 1
_MINHASH_SCHEME = "affine32"  # datasketch ≥ 2 wants it explicit; index keys depend on it
_WORD = re.compile(r"\w+")


# -- pure transforms --------------------------------------------------------------------------------------------


def shingle_sequence(text: str) -> list[int]:
    """32-bit hashes of the word shingles of each paragraph of the normalised text, in text order.

    Shingles never span two paragraphs, so reordering paragraphs changes nothing and dropping one removes
    only its own shingles. At most MAX_SHINGLES, from the start of the text.
    """
    found: list[int] = []
    for paragraph in text.split("\n\n"):
        # Words are read lazily: a one-paragraph page of millions of words stops at the cap, not after listing all.
        window: deque[str] = deque(maxlen=SHINGLE_WORDS)
        shingled = False
        for word in _WORD.finditer(unicodedata.normalize("NFKC", paragraph).casefold()):
            window.append(word.group())
            if len(window) == SHINGLE_WORDS:
                found.append(_hash32(" ".join(window)))
                shingled = True
                if len(found) == MAX_SHINGLES:
                    return found
        if window and not shingled:  # a paragraph shorter than a shingle is one shingle; an empty one is none
            found.append(_hash32(" ".join(window)))
            if len(found) == MAX_SHINGLES:
                return found
    return found


def shingles(text: str) -> frozenset[int]:
    return frozenset(shingle_sequence(text))


def index_keys(sequence: Sequence[int]) -> list[int]:
    """The LSH band keys an article is indexed and looked up under: bands of the whole text's signature, and
    bands of its lead's, which a copy keeping only the first paragraphs of a long report shares."""
    lead = list(dict.fromkeys(sequence))[:LEAD_SHINGLES]
    return [
        *band_keys(signature(sequence), ROWS_PER_BAND),
        *band_keys(signature(lead), LEAD_ROWS_PER_BAND, first_band=NUM_PERM // ROWS_PER_BAND),
    ]


def _hash32(value: str) -> int:
    # Stable across processes (unlike hash()): the band keys in the database depend on it.
    return int.from_bytes(hashlib.blake2b(value.encode(), digest_size=4).digest(), "little")


@cache
def _permutations() -> np.ndarray:
    return MinHash(num_perm=NUM_PERM, seed=_MINHASH_SEED, scheme=_MINHASH_SCHEME).permutations


def signature(shingle_hashes: Collection[int]) -> np.ndarray:
    """The MinHash signature (NUM_PERM uint32 values) of a set of shingle hashes."""
    minhash = MinHash(
        num_perm=NUM_PERM,
        seed=_MINHASH_SEED,
        scheme=_MINHASH_SCHEME,
        hashfunc=int,  # the shingles are hashed already
        permutations=_permutations(),
    )
    minhash.update_batch(shingle_hashes)
    return minhash.hashvalues


def band_keys(hashvalues: np.ndarray, rows_per_band: int, first_band: int = 0) -> list[int]:
    """One signed 64-bit key per LSH band; the band's number is part of the key."""
    keys = []
    for band in range(len(hashvalues) // rows_per_band):
        rows = hashvalues[band * rows_per_band : (band + 1) * rows_per_band]
        digest = hashlib.blake2b((first_band + band).to_bytes(2, "little") + rows.tobytes(), digest_size=8).digest()
        keys.append(int.from_bytes(digest, "little", signed=True))
    return keys


def containment(a: Collection[int], b: Collection[int]) -> float:
    """Share of the smaller set found in the larger: 1.0 when one text is (a part of) the other."""
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    if not small:
        return 0.0
    large = large if isinstance(large, (set, frozenset)) else set(large)
    return sum(1 for item in small if item in large) / len(small)


def choose_original(members: Sequence[SyndicationMember]) -> tuple[SyndicationMember, Evidence]:
    """The original of a group of copies of one report, and the evidence that chose it.

    In order: the outlet the copies credit (following chains: a copy crediting a member that itself credits
    another is not the original), the target of a canonical link, the earliest publication, the earliest arrival.
    """
    outlets = {m.id: outlet(m.site) for m in members}
    credits = {m.id: _credited(m, outlets[m.id], set(outlets.values())) for m in members}
    named = Counter(c for c in credits.values() if c is not None)
    credited = [m for m in members if outlets[m.id] in named and credits[m.id] is None]
    if credited:
        return min(credited, key=lambda m: (-named[outlets[m.id]], *_age(m))), Evidence.ATTRIBUTION

    pointing = {m.id: _canonical_target(m, members) for m in members}
    targets = {t for t in pointing.values() if t is not None}
    canonical = [m for m in members if m.id in targets and pointing[m.id] is None]
    if canonical:
        return min(canonical, key=_age), Evidence.CANONICAL

    earliest = min(members, key=_age)
    unique_date = earliest.published_at is not None and all(
        m.published_at != earliest.published_at for m in members if m.id != earliest.id
    )
    return earliest, Evidence.PUBLISHED if unique_date else Evidence.FIRST_SEEN


def _credited(member: SyndicationMember, own: str, group_outlets: set[str]) -> str | None:
    """The outlet of the group this member credits, if any (crediting oneself says nothing)."""
    if not member.attributed_to:
        return None
    named = outlet(member.attributed_to)
    return named if named in group_outlets and named != own else None


def _canonical_target(member: SyndicationMember, members: Sequence[SyndicationMember]) -> int | None:
    """The id of the other member this one declares canonical, if any."""
    declared = member.canonical_url
    if declared == canonicalize_url(member.url):
        return None
    # Only a page of the declared site is the target: two copies declaring the same absent page are not.
    targets = (
        other.id
        for other in members
        if other.id != member.id
        and outlet(other.site) == outlet(declared)
        and declared in (other.canonical_url, canonicalize_url(other.url))
    )
    return next(targets, None)


_NEVER = datetime.max.replace(tzinfo=UTC)


def _age(member: SyndicationMember) -> tuple[datetime, datetime, int]:
    return member.published_at or _NEVER, member.first_seen_at, member.id


def _links(group: Sequence[SyndicationMember]) -> tuple[list[Link], SyndicationMember, Evidence | None]:
    """The link every member of `group` should have, its original and the evidence."""
    if len(group) == 1:
        (alone,) = group
        return [Link(alone.id, None, None, None)], alone, None
    original, evidence = choose_original(group)
    wanted = [
        Link(m.id, None, None, None)
        if m.id == original.id
        else Link(m.id, original.id, original.canonical_url, evidence)
        for m in group
    ]
    return wanted, original, evidence


def _changed(wanted: list[Link], members: dict[int, SyndicationMember]) -> list[Link]:
    return [
        link
        for link in wanted
        if (
            members[link.article_id].original_id,
            members[link.article_id].syndicated_from,
            members[link.article_id].evidence,
        )
        != (link.original_id, link.syndicated_from, link.evidence)
    ]


# -- I/O --------------------------------------------------------------------------------------------------------


def trace(store: Store, stored: StoredArticle) -> SyndicationResult:
    """Find the group of a new or updated article and (re)choose its original; idempotent.

    Call after every NEW or UPDATED upsert. Writes the links of every member whose link changed, including
    the members of a group the article has left (its text changed) or merged into.
    """
    article = stored.article
    sequence = shingle_sequence(article.text)
    own = frozenset(sequence)
    keys = index_keys(sequence) if len(own) >= MIN_SHINGLES else []
    urls = {article.canonical_url, canonicalize_url(article.url)}
    with store.syndication_session() as session:
        postings = session.band_postings(keys)
        session.update_bands(stored.id, keys, _keys_to_add(stored.id, keys, postings))
        matches = _matches(session, stored, own, postings, urls) if keys else []
        (me,) = session.members([stored.id])
        roots = _roots(matches, {m.id: m.root_id for m in session.members([match.id for match in matches])})
        involved = session.groups(roots | {me.root_id})
        group = [m for m in involved if m.root_id in roots or m.id == me.id]
        # Left behind when the article no longer matches its former group: they stay together.
        former = [m for m in involved if m.root_id == me.root_id and m.id != me.id and me.root_id not in roots]
        wanted, original, evidence = _links(group)
        if former:
            wanted += _links(former)[0]
        changed = _changed(wanted, {m.id: m for m in involved})
        session.write_links(changed)
    return SyndicationResult(
        article_id=stored.id,
        original_id=original.id,
        syndicated_from=None if original.id == stored.id else original.canonical_url,
        member_ids=tuple(m.id for m in group),
        evidence=evidence,
        changed_ids=tuple(link.article_id for link in changed),
    )


def _keys_to_add(article_id: int, keys: list[int], postings: list[tuple[int, int]]) -> list[int]:
    """The article's band keys it is not yet indexed under, less those already full."""
    counts = Counter(key for key, _ in postings)
    held = {key for key, holder in postings if holder == article_id}
    return [key for key in dict.fromkeys(keys) if key not in held and counts[key] < MAX_BAND_POSTINGS]


@dataclass(frozen=True)
class _Match:
    id: int
    containment: float
    within: bool  # the traced article is the smaller text: a part of the other


def _matches(
    session: SyndicationSession,
    article: StoredArticle,
    own: frozenset[int],
    postings: list[tuple[int, int]],
    urls: Collection[str],
) -> list[_Match]:
    """The stored articles this one copies or is copied by: LSH and exact candidates, confirmed."""
    hits = Counter(holder for _, holder in postings if holder != article.id)
    exact = session.exact_duplicates(article.id, article.article.content_hash, urls, MAX_CANDIDATES)
    candidates = session.candidates(
        dict.fromkeys([*exact, *(holder for holder, _ in hits.most_common(MAX_CANDIDATES))])
    )
    sets = {c.id: shingles(c.text) for c in candidates}
    # What this article shares with other pages of its own outlet is the outlet's template (furniture the
    # extractor left), not reporting: it must neither make a match nor dilute one.
    site = outlet(article.article.site)
    template = frozenset().union(*(own & sets[c.id] for c in candidates if outlet(c.site) == site))
    core = own - template
    found = []
    for candidate in candidates:
        other = sets[candidate.id] - template
        if candidate.content_hash == article.article.content_hash:
            found.append(_Match(candidate.id, 1.0, within=False))
        elif len(core) >= MIN_SHINGLES and (share := containment(core, other)) >= MIN_CONTAINMENT:
            found.append(_Match(candidate.id, share, within=len(core) <= len(other)))
    return found


def _roots(matches: list[_Match], root_of: dict[int, int]) -> set[int]:
    """The groups the traced article belongs with.

    Groups it contains are all one report (partial copies arriving before their original). Of the groups it is a
    part of, only the closest: a short copy that also quotes another report must not fuse the two reports.
    """
    roots = {root_of[m.id] for m in matches if not m.within}
    within = [m for m in matches if m.within]
    if within:
        roots.add(root_of[max(within, key=lambda m: (m.containment, -m.id)).id])
    return roots


def group_of(store: Store, article_id: int) -> SyndicationGroup:
    """The group of an article: its original first, then the copies by first seen."""
    members = store.syndication_group(article_id)
    if not members:
        raise LookupError(f"no article {article_id}")
    original = next(m for m in members if m.original_id is None)
    copies = tuple(m for m in members if m.id != original.id)
    evidence = Evidence(copies[0].evidence) if copies and copies[0].evidence else None
    return SyndicationGroup(original=original, copies=copies, evidence=evidence)
