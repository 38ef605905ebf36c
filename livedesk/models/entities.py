"""Entities: the people, organisations and places the articles name, folded within a story."""

from __future__ import annotations

from dataclasses import dataclass

# What each entity type (spaCy's labels, as the enrich stage keeps them) is called on the pages.
KIND_IN_WORDS = {
    "PERSON": "Person",
    "ORG": "Organisation",
    "GPE": "Place",
    "LOC": "Place",
    "FAC": "Building or facility",
    "NORP": "Group",
    "EVENT": "Event",
}


def kind_in_words(entity_type: str) -> str:
    """The entity's kind as a reader says it ("Person", "Organisation", "Place"); unknown labels capitalised."""
    return KIND_IN_WORDS.get(entity_type.upper(), entity_type.capitalize())


@dataclass(frozen=True)
class KnownEntity:
    """An entity already linked to an article of the story being enriched."""

    id: int
    name: str
    type: str
    count: int = 1  # mentions in the story's articles: its votes for the name's kind


@dataclass(frozen=True)
class Resolved:
    """Where an article's mentions of one entity land: its key and canonical name, the other names folded in as
    (key, name), how often the article names it, and the story's entities it absorbs (their mentions move here)."""

    key: str
    name: str
    type: str
    aliases: tuple[tuple[str, str], ...]
    count: int
    absorbs: tuple[int, ...] = ()


@dataclass(frozen=True)
class EntityRef:
    """An entity as a chip or an export record shows it."""

    id: int
    name: str
    type: str


@dataclass(frozen=True)
class Entity:
    id: int
    name: str
    type: str
    aliases: tuple[str, ...]
    article_count: int
    story_ids: tuple[int, ...]  # stories mentioning it, most mentions first
