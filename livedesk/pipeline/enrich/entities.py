"""Named entities: spaCy's NER over an article's title and lead, names normalised and folded within a story.

Entity rows are global, one per (normalised key, type). Which row a mention lands on is decided within its story,
where the context makes short forms safe to resolve: "Putin" is "Vladimir Putin" in a story that names him in full,
"Wagner" is "Wagner Group", and "Vagner" is a transliteration of "Wagner". Each rule is a small pure function.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from livedesk.models import KnownEntity, Resolved
from livedesk.text import DATELINE, display_name, name_key

if TYPE_CHECKING:
    from spacy.tokens import Span

KEPT_TYPES = frozenset({"PERSON", "ORG", "GPE", "NORP", "LOC", "EVENT", "FAC"})
# Words of the text read after the title. On the demo corpus, a 200-word lead finds 97% of the entities the full
# text names twice or more, 300 words all of them (bench/enrich.py); 250 keeps the seed page's "Wagner Group".
LEAD_WORDS = 250
# Characters NER reads at most, title included: 250 words of prose take about 1,500. Without it a page whose
# "words" are huge (no spaces, markup debris) would feed spaCy megabytes, or fail beyond nlp.max_length.
MAX_NER_CHARS = 5_000
# Entities linked to one article, the most mentioned first: a title and lead name a few dozen at most, and each
# is a row written and a name compared within the story.
MAX_ENTITIES_PER_ARTICLE = 100
# Longer "names" are runs of words NER took for one (the longest real ones are under 100 characters); their key
# would not fit PostgreSQL's unique index on entities (2,704 bytes at most).
MAX_NAME_CHARS = 200
# Transliteration variants: at most this many edits, and only between names this long (shorter names collide).
MAX_EDITS = 1
MIN_VARIANT_LETTERS = 5
# The last word of a name that says what kind of thing it names, whatever NER says ("Orrin Dam" is no person).
FACILITY_WORDS = frozenset(
    [
        "dam",
        "bridge",
        "port",
        "airport",
        "harbour",
        "harbor",
        "canal",
        "reservoir",
        "spillway",
        "station",
        "tower",
        "stadium",
        "street",
        "lane",
        "road",
        "avenue",
        "square",
        "terminal",
        "pier",
        "dock",
        "docks",
        "quay",
        "tunnel",
        "highway",
        "motorway",
        "railway",
        "prison",
        "hospital",
    ]
)
PLACE_WORDS = frozenset(
    [
        "river",
        "lake",
        "valley",
        "hills",
        "hill",
        "mountains",
        "mountain",
        "bay",
        "sea",
        "island",
        "islands",
        "forest",
        "coast",
        "gulf",
        "strait",
        "delta",
    ]
)
# A tie between kinds, in a new story, goes to the first of these: what NER calls a person as often as a thing is
# more often a thing ("Herald").
TIE_ORDER = ("ORG", "GPE", "LOC", "FAC", "NORP", "EVENT", "PERSON")
# Outlets the text names without an article of theirs in the store: the wires that most news repeats.
KNOWN_OUTLETS = frozenset(
    ["ap", "associated press", "reuters", "afp", "agence france presse", "upi", "bloomberg", "cnn", "bbc"]
)


@dataclass(frozen=True)
class Mention:
    """A normalised name found in an article, with how often."""

    name: str
    type: str
    count: int = 1


# -- names ----------------------------------------------------------------------------------------------------


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (two rows)."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def same_word(a: str, b: str) -> bool:
    """Equal keys, or transliteration variants of a long enough word ("vagner" ~ "wagner")."""
    if a == b:
        return True
    return min(len(a), len(b)) >= MIN_VARIANT_LETTERS and edit_distance(a, b) <= MAX_EDITS


def is_variant(a: str, b: str) -> bool:
    """Two keys of the same length in words, each word the same up to a transliteration."""
    words_a, words_b = a.split(), b.split()
    return len(words_a) == len(words_b) and all(same_word(x, y) for x, y in zip(words_a, words_b, strict=True))


def is_surname_of(short: str, full: str) -> bool:
    """A one-word person ("putin") named in full elsewhere ("vladimir putin")."""
    words = full.split()
    return len(short.split()) == 1 and len(words) > 1 and same_word(short, words[-1])


def is_head_of(short: str, full: str) -> bool:
    """An organisation called by the head of its name: "wagner" for "wagner group"."""
    head, words = short.split(), full.split()
    return 0 < len(head) < len(words) and all(same_word(x, y) for x, y in zip(head, words, strict=False))


# -- extraction -----------------------------------------------------------------------------------------------


def ner_text(title: str, text: str, lead_words: int = LEAD_WORDS) -> str:
    """What NER reads: the title, then the first `lead_words` words of the text, its dateline left out;
    MAX_NER_CHARS at most."""
    lead = " ".join(DATELINE.sub("", text[:MAX_NER_CHARS], count=1).split()[:lead_words])
    return f"{title[:MAX_NER_CHARS]}\n\n{lead}"[:MAX_NER_CHARS]


def mentions(ents: Iterable[Span]) -> list[Mention]:
    """The kept entity types of `doc.ents`, normalised, counted per (key, type); the most frequent surface form
    names each. The MAX_ENTITIES_PER_ARTICLE most mentioned."""
    counts: Counter[tuple[str, str]] = Counter()
    surfaces: dict[tuple[str, str], Counter[str]] = {}
    for ent in ents:
        if ent.label_ not in KEPT_TYPES:
            continue
        for name in names_in(ent.text):
            key = name_key(name)
            counts[key, ent.label_] += 1
            surfaces.setdefault((key, ent.label_), Counter())[name] += 1
    return [
        Mention(name=surfaces[item].most_common(1)[0][0], type=item[1], count=n)
        for item, n in counts.most_common(MAX_ENTITIES_PER_ARTICLE)
    ]


_BRACKETED_END = re.compile(r"\s*[(\[][^()\[\]]*[)\]]\s*$")


def names_in(span: str) -> list[str]:
    """The names a span NER took for one holds: split where it crosses a line (the title's end), a word repeated
    in another case dropped ("Lowmere LOWMERE"); none if a bracket is left open (a half-read dateline) or it is
    no name at all."""
    names = []
    for line in span.splitlines():
        if len(line) > MAX_NAME_CHARS:
            continue
        words: list[str] = []
        for word in line.split():
            # The same word again in other letters is a heading's capitals, never part of a name.
            if not words or word == words[-1] or word.casefold() != words[-1].casefold():
                words.append(word)
        balanced = line.count("(") == line.count(")") and line.count("[") == line.count("]")
        # "Organisation of American States (OAS)": the short form in brackets is no part of the name.
        name = display_name(_BRACKETED_END.sub("", " ".join(words)))
        if balanced and any(c.isalpha() for c in name_key(name)):
            names.append(name)
    return names


def outlet_keys(names: Iterable[str]) -> set[str]:
    """Keys that name outlets, from their own names ("Northgate Herald") and domains ("meridian-wire.example"):
    the name, its last word ("the Herald"), and a domain's first label with its hyphens as spaces."""
    keys = set(KNOWN_OUTLETS)
    for name in names:
        if "." in name and " " not in name:  # a domain
            name = name.lower().removeprefix("www.").split(".")[0].replace("-", " ")
        key = name_key(name)
        if key:
            keys.update({key, key.rsplit(" ", 1)[-1]})
    return keys


def hinted_type(mention: Mention, outlets: set[str]) -> str:
    """The kind the name itself says it is: an outlet is an organisation; a dam or a bridge a facility, a river or
    a valley a place; otherwise NER's."""
    key = name_key(mention.name)
    if key in outlets:
        return "ORG"
    last = key.rsplit(" ", 1)[-1]
    if " " in key and last in FACILITY_WORDS and mention.type in ("PERSON", "ORG", "NORP"):
        return "FAC"
    if " " in key and last in PLACE_WORDS and mention.type in ("PERSON", "ORG", "NORP", "FAC"):
        return "LOC"
    return mention.type


def with_hints(found: Iterable[Mention], outlets: Iterable[str] = ()) -> list[Mention]:
    """The mentions with the kinds their names say (`hinted_type`), those of one name and kind counted together;
    `outlets` are names and domains of outlets."""
    keys = outlet_keys(outlets)
    counts: Counter[tuple[str, str]] = Counter()
    for mention in found:
        counts[mention.name, hinted_type(mention, keys)] += mention.count
    return [Mention(name, kind, n) for (name, kind), n in counts.items()]


# -- resolution within a story --------------------------------------------------------------------------------


@dataclass
class _Node:
    name: str
    type: str
    key: str
    count: int
    known_id: int | None


def resolve(found: Sequence[Mention], known: Sequence[KnownEntity] = ()) -> list[Resolved]:
    """Fold an article's mentions together and into the entities its story already has.

    Variants of the same length merge; a short name joins a longer one only when exactly one fits (two
    "Putin"s in a story stay apart from a bare "Putin"). The longest name of a group names it. A name has one kind
    in a story: the one most of its mentions in the story and the article give it (the story's on a tie); the
    story's entities of that name with another kind are absorbed.
    """
    kinds = _story_kinds(found, known)
    nodes = [_Node(m.name, kinds[name_key(m.name)], name_key(m.name), m.count, None) for m in found]
    nodes += [_Node(k.name, kinds.get(name_key(k.name), k.type), name_key(k.name), 0, k.id) for k in known]
    parent = list(range(len(nodes)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    # Only pairs whose first (or, for surnames, last) words are within one edit can fold: looking those up
    # instead of trying every pair keeps an article cheap in a story that already names thousands of entities.
    by_first = _word_index(nodes, _first_word)
    by_last = _word_index(nodes, _last_word)
    for i, a in enumerate(nodes):
        for j in sorted(_near(by_first, _first_word(a.key))):
            b = nodes[j]
            if j > i and a.type == b.type and is_variant(a.key, b.key):
                parent[root(j)] = root(i)
    for i, a in enumerate(nodes):
        candidates = _near(by_first, _first_word(a.key)) | _near(by_last, _first_word(a.key))
        targets = {root(j) for j in candidates if _joins(a, nodes[j])}
        if len(targets) == 1:
            parent[root(i)] = targets.pop()

    # The story's entities whose kind the vote changed: their mentions move to the name's one kind.
    retyped: dict[str, set[int]] = {}
    for k in known:
        if k.type != kinds.get(name_key(k.name), k.type):
            retyped.setdefault(name_key(k.name), set()).add(k.id)
    groups: dict[int, list[_Node]] = {}
    for i, node in enumerate(nodes):
        groups.setdefault(root(i), []).append(node)
    resolved = []
    for members in groups.values():
        count = sum(n.count for n in members)
        if count == 0:
            continue  # only the story's entities: this article does not mention them
        # Longest name, then one the story already uses (stable ids), then the most mentioned.
        head = min(members, key=lambda n: (-len(n.key.split()), n.known_id is None, -n.count, n.name))
        resolved.append(
            Resolved(
                key=head.key,
                name=head.name,
                type=head.type,
                aliases=tuple(sorted({(n.key, n.name) for n in members if n.name != head.name})),
                count=count,
                absorbs=tuple(
                    sorted(
                        {n.known_id for n in members if n.known_id is not None and n.key != head.key}
                        | retyped.get(head.key, set())
                    )
                ),
            )
        )
    return sorted(resolved, key=lambda r: (-r.count, r.name))


def _story_kinds(found: Sequence[Mention], known: Sequence[KnownEntity]) -> dict[str, str]:
    """Each name's kind within the story, by the votes of its mentions; the story's kind wins a tie."""
    votes: dict[str, Counter[str]] = {}
    first: dict[str, str] = {}
    for k in known:
        votes.setdefault(name_key(k.name), Counter())[k.type] += k.count
        first.setdefault(name_key(k.name), k.type)
    for m in found:
        votes.setdefault(name_key(m.name), Counter())[m.type] += m.count
    return {
        key: max(counts, key=lambda kind: (counts[kind], kind == first.get(key), -_tie_rank(kind)))
        for key, counts in votes.items()
    }


def _tie_rank(kind: str) -> int:
    return TIE_ORDER.index(kind) if kind in TIE_ORDER else len(TIE_ORDER)


def _first_word(key: str) -> str:
    return key.split(" ", 1)[0]


def _last_word(key: str) -> str:
    return key.rsplit(" ", 1)[-1]


def _one_deletion(word: str) -> set[str]:
    """The word and the words one deletion away: two words within one edit of each other share one of these."""
    return {word, *(word[:i] + word[i + 1 :] for i in range(len(word)))}


def _word_index(nodes: Sequence[_Node], pick: Callable[[str], str]) -> dict[str, list[int]]:
    index: dict[str, list[int]] = {}
    for j, node in enumerate(nodes):
        for variant in _one_deletion(pick(node.key)):
            index.setdefault(variant, []).append(j)
    return index


def _near(index: dict[str, list[int]], word: str) -> set[int]:
    """The nodes whose indexed word is within one edit of `word` (and a few more, checked by the caller)."""
    return {j for variant in _one_deletion(word) for j in index.get(variant, ())}


def _joins(short: _Node, full: _Node) -> bool:
    if short.type == "PERSON" and full.type == "PERSON":
        return is_surname_of(short.key, full.key)
    # spaCy tags a bare "Wagner" PERSON as often as ORG; the story's full organisation name decides.
    return short.type in ("ORG", "PERSON") and full.type == "ORG" and is_head_of(short.key, full.key)
