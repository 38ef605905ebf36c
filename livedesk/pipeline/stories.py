"""Articles → stories: incremental, online clustering of originals; copies follow their original.

Each original is turned into a TF-IDF vector over its title and lead (sublinear term frequency, title counted
twice, proper nouns and numbers boosted: they name the event; each name NER found in them is one more term),
compared by cosine with the centroids of the stories that share its strongest terms and are still warm, the score
decaying with the time since the story's last update. It joins the best story above a threshold, or starts a new
one. Document frequencies are counted as articles arrive; a centroid is the sum of its originals' vectors, capped
to its strongest terms.

Editors' merges and splits rebuild the centroids from the stories' articles, so later arrivals follow them.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from livedesk.models import StoredArticle, Story, StoryMember
from livedesk.store import Store
from livedesk.store.edits import EditSession
from livedesk.store.stories import Candidate, StoryNotFoundError, StorySession, StoryState
from livedesk.text import ends_sentence, name_key, sentence_spans
from livedesk.urls import canonicalize_url, url_hash

__all__ = ["StoryNotFoundError", "StorySettings", "assign", "lock_stories", "rebuild"]


@dataclass(frozen=True)
class StorySettings:
    # Least time-decayed cosine between an article and a story centroid for the article to join the story.
    threshold: float = 0.24
    # A story that has had no article for this long is cold: new articles no longer join it.
    cold_gap: timedelta = timedelta(days=4)
    # Score multiplier at the cold gap (1 at no gap, linear in between): a fresher story wins a close call.
    decay_at_gap: float = 0.85
    # Words of the text read after the title; the lead of a news article names its event.
    lead_words: int = 400
    # Each title word counts as this many occurrences.
    title_weight: float = 2.0
    # Multipliers for capitalised words inside sentences (names of people, places, bodies) and numbers.
    proper_boost: float = 1.6
    number_boost: float = 2.5
    # Each entity name NER found in the title and lead counts as this many occurrences of one term for the whole
    # name (boosted as a proper noun); 0 leaves entities out. Counts under 1 would weigh negatively (sublinear tf).
    entity_weight: float = 1.0
    # The article's strongest terms that score it against the stories (and find them). Enough for most of its
    # lead: a new angle on an event leads with its own words and shares the event's words further down, among the
    # many lead words of equal weight, which a shorter cut drops (at 60, the demo's strike split in two).
    query_terms: int = 120
    # Terms in more than this share of documents are too common to find stories by (their postings would list
    # every active story); they still count in the score of the stories found through rarer terms.
    lookup_max_df: float = 0.05
    # ... and in more than this many documents: in a young store every term is in a large share of them.
    lookup_min_df: int = 100
    # Terms kept in a story centroid: a bounded cost per story, whatever its size.
    centroid_terms: int = 120
    # Length of a story summary, in characters, cut at a sentence end.
    summary_chars: int = 300

    def __post_init__(self) -> None:
        if 0 < self.entity_weight < 1:
            raise ValueError("entity_weight must be 0 (off) or at least 1")


DEFAULT = StorySettings()


# -- pure text → vector --------------------------------------------------------------------------------------

# Longer "words" are not words (markup debris, a page of one endless token) and would not fit a PostgreSQL index
# row of story_terms (8 KB); German compounds, the longest real words, stay well under it.
MAX_TERM_CHARS = 64
_TOKEN = re.compile(r"\d+(?:[.,:]\d+)*|[^\W\d_]+(?:['’][^\W\d_]+)*")
_STOPWORD_LIST = """
    a about after again against all also am an and any are as at be because been before being between both but
    by can could did do does doing down during each few for from further had has have having he her here hers
    him his how i if in into is it its itself just me more most my no nor not now of off on once only or other
    our out over own same she should so some such than that the their theirs them then there these they this
    those through to too under until up very was we were what when where which while who whom why will with
    would you your said says say told tell new one two year years day days week time people mr mrs ms
    according including
"""
_STOPWORDS = frozenset(_STOPWORD_LIST.split())


def _stem(word: str) -> str:
    """A light English suffix strip: enough to fold plurals and possessives, cheap, never over-eager."""
    for possessive in ("'s", "’s"):
        word = word.removesuffix(possessive)
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def entity_term(name: str) -> str:
    """One term for a whole name, "Barack Obama" → "barackobama": rarer than its words; a one-word name adds to
    its word's count."""
    return _stem("".join(name_key(name).split()))


def features(
    title: str, text: str, settings: StorySettings = DEFAULT, entity_names: Sequence[str] = ()
) -> dict[str, float]:
    """Term → weight before IDF: sublinear frequency over title + lead, boosted for names and numbers, plus the
    article's `entity_names` (NER's, over the same title and lead) at `settings.entity_weight`."""
    counts: dict[str, float] = defaultdict(float)
    proper: set[str] = set()
    numbers: set[str] = set()
    lead = text.split(maxsplit=settings.lead_words)[: settings.lead_words]  # no list of every word of a long text
    for source, weight in ((title.split(), settings.title_weight), (lead, 1.0)):
        sentence_start = True
        for position, chunk in enumerate(source):
            for token in _TOKEN.findall(chunk):
                term = _stem(token.lower())
                if term in _STOPWORDS or (len(term) < 2 and not term.isdigit()) or len(term) > MAX_TERM_CHARS:
                    continue
                counts[term] += weight
                if token[0].isdigit():
                    numbers.add(term)
                # Title case says nothing in headlines; mid-sentence capitals in the lead mark names.
                elif source is lead and not sentence_start and token[0].isupper():
                    proper.add(term)
            following = source[position + 1] if position + 1 < len(source) else ""
            sentence_start = ends_sentence(chunk, following)  # "Gen. Smith": Smith is still mid-sentence
    if settings.entity_weight:
        for name in entity_names:
            term = entity_term(name)
            if 1 < len(term) <= MAX_TERM_CHARS and term not in _STOPWORDS:
                counts[term] += settings.entity_weight
                proper.add(term)
    return {
        term: (1.0 + math.log(tf))
        * (settings.proper_boost if term in proper else settings.number_boost if term in numbers else 1.0)
        for term, tf in counts.items()
    }


def idf(document_count: int, df: int) -> float:
    return math.log((document_count + 1) / (df + 1)) + 1.0


def vectorize(raw: Mapping[str, float], document_count: int, df: Mapping[str, int]) -> dict[str, float]:
    """L2-normalised TF-IDF vector."""
    weighted = {term: w * idf(document_count, df.get(term, 0)) for term, w in raw.items()}
    norm = math.sqrt(sum(w * w for w in weighted.values())) or 1.0
    return {term: w / norm for term, w in weighted.items()}


def strongest(vector: Mapping[str, float], n: int) -> dict[str, float]:
    return dict(sorted(vector.items(), key=lambda item: (-item[1], item[0]))[:n])


def norm(vector: Mapping[str, float]) -> float:
    return math.sqrt(sum(w * w for w in vector.values()))


def cosine(vector: Mapping[str, float], other: Mapping[str, float], other_norm: float | None = None) -> float:
    """Cosine of a unit `vector` with `other`; `other` may hold only the shared terms if its norm is given."""
    denominator = norm(other) if other_norm is None else other_norm
    if denominator == 0:
        return 0.0
    return sum(w * other.get(term, 0.0) for term, w in vector.items()) / denominator


def centroid(vectors: Iterable[Mapping[str, float]], cap: int) -> dict[str, float]:
    total: Counter[str] = Counter()
    for vector in vectors:
        total.update(vector)
    return strongest(total, cap)


def lookup_terms(query: Mapping[str, float], df: Mapping[str, int], too_common: float, threshold: float) -> set[str]:
    """The query terms to find candidate stories by: never those in more than `too_common` documents, and not the
    most frequent others either, as long as the norm of the query over all the terms left out stays below
    `threshold`. A story holding none of the lookup terms shares only left-out terms with the query, so its score
    (times a unit centroid, at most that norm) could not reach the threshold: leaving it unfound changes no choice,
    and the long postings of frequent terms are not read."""
    left_out = {t for t in query if df.get(t, 0) > too_common}
    # Squared norms; the margin keeps a rounding error from ever letting the bound reach the threshold.
    budget = threshold * threshold * (1 - 1e-9) - sum(query[t] ** 2 for t in left_out)
    for term in sorted(query.keys() - left_out, key=lambda t: (-df.get(t, 0), t)):
        if query[term] ** 2 < budget:
            budget -= query[term] ** 2
            left_out.add(term)
    return query.keys() - left_out


def freshness(gap: timedelta, settings: StorySettings) -> float:
    """Score multiplier for a story last updated `gap` before the article: 1 → decay_at_gap at the cold gap."""
    fraction = min(max(gap / settings.cold_gap, 0.0), 1.0)
    return 1.0 - (1.0 - settings.decay_at_gap) * fraction


def choose(
    vector: Mapping[str, float], at: datetime, candidates: Iterable[Candidate], settings: StorySettings = DEFAULT
) -> Candidate | None:
    """The warm candidate with the best time-decayed cosine at or above the threshold, if any."""
    best, best_score = None, settings.threshold
    for candidate in candidates:
        story = candidate.story
        if story.first_seen - at > settings.cold_gap or at - story.last_update > settings.cold_gap:
            continue
        score = cosine(vector, candidate.weights, candidate.norm) * freshness(at - story.last_update, settings)
        if score >= best_score:
            best, best_score = candidate, score
    return best


def summarize(text: str, max_chars: int) -> str:
    """The lead sentences of `text` that fit in `max_chars` (at least one, cut at a word if it alone is too long)."""
    summary = ""
    for start, end in sentence_spans(text):  # lazily: a long text is not split beyond the summary
        candidate = f"{summary} {' '.join(text[start:end].split())}".strip()
        if len(candidate) > max_chars:
            break
        summary = candidate
    if not summary:
        summary = text[:max_chars].rsplit(" ", 1)[0] + "…" if len(text) > max_chars else text
    return summary


# -- the stage -----------------------------------------------------------------------------------------------


def assign(
    store: Store, stored: StoredArticle, *, entity_names: Sequence[str] = (), settings: StorySettings | None = None
) -> int:
    """The story of `stored`, assigning it first if it has none. Call in arrival order, after syndication.

    `entity_names` are the names NER found in the article's title and lead (`enrich.entity_names`): a signal of
    their own; a copy ignores them, as it follows its original."""
    settings = settings or DEFAULT
    if stored.story_id is not None:
        return stored.story_id
    member = _member(stored)
    # A copy follows its original, which is placed first if it has not been (in its own transaction).
    followed = None if stored.syndicated_from is None else _story_of_original(store, stored.syndicated_from, settings)
    with store.story_session() as session:
        current = session.article_story(stored.id)
        if current is not None:  # assigned meanwhile (a repeated or concurrent call): that assignment stands
            return current
        if followed is not None:
            return _add(session, member, followed, {}, settings)
        raw = features(member.title, member.text, settings, entity_names)
        document_count, df = session.document_frequencies(raw)
        vector = vectorize(raw, document_count, df)
        query = strongest(vector, settings.query_terms)
        too_common = max(settings.lookup_max_df * document_count, settings.lookup_min_df)
        lookup = lookup_terms(query, df, too_common, settings.threshold)
        candidates = session.candidates(lookup, member.at - settings.cold_gap, also=query.keys() - lookup)
        chosen = choose(vector, member.at, candidates, settings)
        # The headline contest compares texts: the current headline's vector is rebuilt from its text alone.
        named = bool(entity_names) and bool(settings.entity_weight)
        plain = vectorize(features(member.title, member.text, settings), document_count, df) if named else None
        return _add(session, member, None if chosen is None else chosen.story.id, vector, settings, plain)


def _member(stored: StoredArticle) -> StoryMember:
    a = stored.article
    at = a.published_at or a.first_seen_at
    return StoryMember(stored.id, a.title, a.text, a.site, at, is_copy=stored.syndicated_from is not None)


def _story_of_original(store: Store, url: str, settings: StorySettings) -> int | None:
    original = store.find_article(url, url_hash(canonicalize_url(url)))
    if original is None or original.syndicated_from is not None:
        return None
    # An original that has not been through this stage yet (ingested before it existed) is placed first.
    return original.story_id if original.story_id is not None else assign(store, original, settings=settings)


def _vectors(
    store: Store | StorySession,
    members: list[StoryMember],
    settings: StorySettings,
    names: Mapping[int, Sequence[str]] | None = None,
) -> list[dict[str, float]]:
    """TF-IDF vectors of the members (with each one's entity `names`, by article id, when given), with one look-up
    of document frequencies for all of them."""
    names = names or {}
    raws = [features(m.title, m.text, settings, names.get(m.id, ())) for m in members]
    document_count, df = store.document_frequencies(term for raw in raws for term in raw)
    return [vectorize(raw, document_count, df) for raw in raws]


def _headline(
    members: list[StoryMember], vectors: list[dict[str, float]], center: Mapping[str, float], settings: StorySettings
) -> tuple[str, str, int]:
    """(title, summary, article id) of the member closest to the centroid; the earliest wins a tie."""
    best = max(range(len(members)), key=lambda i: (cosine(vectors[i], center), -i))
    return members[best].title, summarize(members[best].text, settings.summary_chars), members[best].id


def _add(
    session: StorySession,
    member: StoryMember,
    story_id: int | None,
    vector: dict[str, float],
    settings: StorySettings,
    plain: dict[str, float] | None = None,
) -> int:
    """Put `member` (with its vector, empty for a copy, and `plain`, its vector without entity terms if it has
    any) into a story, a new one if `story_id` is None."""
    found = None if story_id is None else session.story(story_id)
    if found is None:
        center = strongest(vector, settings.centroid_terms)
        state = StoryState(
            None,
            member.title,
            summarize(member.text, settings.summary_chars),
            member.at,
            member.at,
            member.id,
            center,
            norm(center),
        )
        return session.add(member, state, new_terms=vector.keys())
    story, existing = found
    center = centroid([existing, vector], settings.centroid_terms) if vector else existing
    title, summary, title_id = story.title, story.summary, story.title_article_id
    if vector:
        # Only the current headline article and the newcomer compete: a constant cost per article.
        current = session.member(title_id) if title_id is not None else None
        rivals = [current, member] if current is not None else [member]
        title, summary, title_id = _headline(
            rivals, [*_vectors(session, rivals[:-1], settings), plain or vector], center, settings
        )
    state = StoryState(
        story.id,
        title,
        summary,
        min(story.first_seen, member.at),
        max(story.last_update, member.at),
        title_id,
        center,
        norm(center),
    )
    return session.add(member, state, previous=story, previous_centroid=existing, new_terms=vector.keys())


def lock_stories(edit: EditSession, *story_ids: int) -> dict[int, Story]:
    """Lock the stories an editor's decision rewrites (and return them as they were); StoryNotFoundError for one
    that does not exist."""
    found = edit.lock_stories(story_ids)
    for story_id in story_ids:
        if story_id not in found:
            raise StoryNotFoundError(story_id)
    return found


def rebuild(
    store: Store | EditSession, story_id: int | None, members: list[StoryMember], settings: StorySettings = DEFAULT
) -> StoryState:
    """A story's state recomputed from its articles, after an editor's merge or split: later arrivals then follow
    the decision."""
    reports = [m for m in members if not m.is_post] or members
    originals = [m for m in reports if not m.is_copy] or reports
    # The names the enrich stage linked to each article stand for those NER found when it was assigned.
    linked = store.entities_of(m.id for m in originals) if settings.entity_weight else {}
    names = {article_id: [e.name for e in refs] for article_id, refs in linked.items()}
    vectors = _vectors(store, originals, settings, names)
    center = centroid(vectors, settings.centroid_terms)
    title, summary, title_id = _headline(originals, vectors, center, settings)
    return StoryState(
        story_id, title, summary, min(m.at for m in members), max(m.at for m in members), title_id, center, norm(center)
    )
