"""Queries of the entity stage: named entities, their aliases, and which articles mention them.

`entities` holds one row per (normalised key, type) — global, whatever the story; `entity_aliases` the other
names folded into it; `article_entities` the mentions. Mentions are read by article (their primary key) for the
chips of a page, by entity ((entity_id, article_id) index) for entity pages and filters, and by story through
`ix_articles_story_id` when a new article of the story is resolved.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from livedesk.models import Entity, EntityRef, KnownEntity, Resolved
from livedesk.store.schema import articles, metadata

if TYPE_CHECKING:
    pass

entities = sa.Table(
    "entities",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.Text, nullable=False),  # name_key(name): case, diacritics and punctuation folded
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.UniqueConstraint("key", "type"),
)

entity_aliases = sa.Table(
    "entity_aliases",
    metadata,
    sa.Column("entity_id", sa.Integer, sa.ForeignKey("entities.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
)

article_entities = sa.Table(
    "article_entities",
    metadata,
    sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("entity_id", sa.Integer, sa.ForeignKey("entities.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Index("ix_article_entities_entity_id", "entity_id", "article_id"),
)


class EntityStore:
    """Mixed into Store; uses its _read()/_write() connections."""

    if TYPE_CHECKING:
        _insert: Any

        def _write(self) -> AbstractContextManager[sa.Connection]: ...
        def _read(self) -> sa.Connection: ...

    def story_entities(self, story_id: int, *, excluding_article: int | None = None) -> list[KnownEntity]:
        """The entities the story's articles mention (but `excluding_article`'s own, which is being redone), with
        how often they mention each."""
        query = (
            sa.select(entities.c.id, entities.c.name, entities.c.type, sa.func.sum(article_entities.c.count))
            .join(article_entities, article_entities.c.entity_id == entities.c.id)
            .join(articles, articles.c.id == article_entities.c.article_id)
            .where(articles.c.story_id == story_id)
            .group_by(entities.c.id, entities.c.name, entities.c.type)
        )
        if excluding_article is not None:
            query = query.where(articles.c.id != excluding_article)
        with self._read() as connection:
            return [KnownEntity(row[0], row[1], row[2], int(row[3])) for row in connection.execute(query)]

    def story_outlets(self, story_id: int) -> set[str]:
        """The domains and own names of the outlets that carry the story: names that are organisations."""
        query = sa.select(articles.c.site, articles.c.site_name).distinct().where(articles.c.story_id == story_id)
        with self._read() as connection:
            return {name for row in connection.execute(query) for name in row if name}

    def save_entities(self, article_id: int, story_id: int | None, resolved: Sequence[Resolved]) -> None:
        """Replace the article's mentions (idempotent), creating entities and aliases as needed; entities of the
        story absorbed by a longer name have their mentions in the story moved to it. A handful of statements
        whatever the number of entities: this runs once per ingested article."""
        with self._write() as connection:
            connection.execute(sa.delete(article_entities).where(article_entities.c.article_id == article_id))
            if not resolved:
                return
            ids = self._entity_ids(connection, resolved)
            aliases: dict[tuple[int, str], str] = {}  # one name per (entity, key)
            for entity in resolved:
                aliases.update({(ids[entity.key, entity.type], key): name for key, name in entity.aliases})
            self._add_mentions(connection, [(article_id, ids[e.key, e.type], e.count) for e in resolved])
            if aliases:
                rows = [{"entity_id": e, "key": k, "name": name} for (e, k), name in aliases.items()]
                connection.execute(self._insert(entity_aliases).values(rows).on_conflict_do_nothing())
            for entity in resolved:
                if entity.absorbs and story_id is not None:
                    self._move_mentions(connection, story_id, entity.absorbs, ids[entity.key, entity.type])

    def _entity_ids(self, connection: sa.Connection, resolved: Sequence[Resolved]) -> dict[tuple[str, str], int]:
        """The id of each resolved entity's (key, type), its row created if new."""
        rows = {(e.key, e.type): {"key": e.key, "type": e.type, "name": e.name} for e in resolved}
        connection.execute(self._insert(entities).values(list(rows.values())).on_conflict_do_nothing())
        query = sa.select(entities.c.id, entities.c.key, entities.c.type).where(
            entities.c.key.in_({key for key, _type in rows})
        )
        return {(row.key, row.type): row.id for row in connection.execute(query) if (row.key, row.type) in rows}

    def _add_mentions(self, connection: sa.Connection, rows: Iterable[tuple[int, int, int]]) -> None:
        """Add (article id, entity id, count) mentions to those stored. Rows of the same pair are summed first:
        one upsert cannot touch a row twice on PostgreSQL (SQLite would apply them one after the other)."""
        counts: Counter[tuple[int, int]] = Counter()
        for article_id, entity_id, count in rows:
            counts[article_id, entity_id] += count
        # Sorted, so concurrent writers on PostgreSQL take the row locks in the same order and never deadlock.
        values = [{"article_id": a, "entity_id": e, "count": counts[a, e]} for a, e in sorted(counts)]
        if not values:
            return
        insert = self._insert(article_entities).values(values)
        connection.execute(
            insert.on_conflict_do_update(
                index_elements=[article_entities.c.article_id, article_entities.c.entity_id],
                set_={"count": article_entities.c.count + insert.excluded.count},
            )
        )

    def _move_mentions(self, connection: sa.Connection, story_id: int, sources: Sequence[int], target: int) -> None:
        in_story = sa.select(articles.c.id).where(articles.c.story_id == story_id)
        where = sa.and_(article_entities.c.entity_id.in_(sources), article_entities.c.article_id.in_(in_story))
        mentioned = sa.select(article_entities.c.article_id, article_entities.c.count.label("mentions")).where(where)
        moved = connection.execute(mentioned).all()
        connection.execute(sa.delete(article_entities).where(where))
        self._add_mentions(connection, [(row.article_id, target, row.mentions) for row in moved])

    def entities_of(self, article_ids: Iterable[int]) -> dict[int, list[EntityRef]]:
        """Each article's entities, most mentioned first: one query for any number of articles."""
        with self._read() as connection:
            return entities_of(connection, article_ids)

    def get_entity(self, entity_id: int) -> Entity | None:
        with self._read() as connection:
            row = connection.execute(sa.select(entities).where(entities.c.id == entity_id)).first()
            if row is None:
                return None
            aliases = connection.execute(
                sa.select(entity_aliases.c.name)
                .where(entity_aliases.c.entity_id == entity_id)
                .order_by(entity_aliases.c.name)
            ).scalars()
            mentioned = article_entities.c.entity_id == entity_id
            per_story = connection.execute(
                sa.select(articles.c.story_id, sa.func.count().label("n"))
                .join(article_entities, article_entities.c.article_id == articles.c.id)
                .where(mentioned, articles.c.story_id.is_not(None))
                .group_by(articles.c.story_id)
                .order_by(sa.desc("n"), articles.c.story_id)
            ).all()
            count = connection.execute(sa.select(sa.func.count()).where(mentioned)).scalar_one()
        return Entity(row.id, row.name, row.type, tuple(aliases), count, tuple(r.story_id for r in per_story))


def entities_of(connection: sa.Connection, article_ids: Iterable[int]) -> dict[int, list[EntityRef]]:
    """Each article's entities, most mentioned first, then by name and type: one query for any number of
    articles."""
    ids = list(set(article_ids))
    if not ids:
        return {}
    query = (
        sa.select(
            article_entities.c.article_id,
            article_entities.c.count.label("mentions"),  # not `count`: a row is a tuple, whose count() it would hide
            entities.c.id,
            entities.c.name,
            entities.c.type,
        )
        .join(entities, entities.c.id == article_entities.c.entity_id)
        .where(article_entities.c.article_id.in_(ids))
    )
    found: dict[int, list[EntityRef]] = {i: [] for i in ids}
    # Ordered here by code point: in SQL, names would follow the database's collation, which differs between
    # PostgreSQL installations and SQLite. (name, type) is unique, so the order is total.
    for row in sorted(connection.execute(query).all(), key=lambda row: (-row.mentions, row.name, row.type)):
        found[row.article_id].append(EntityRef(row.id, row.name, row.type))
    return found


def entity_predicate(entity_id: int) -> sa.ColumnElement[bool]:
    """Articles mentioning the entity, through the (entity_id, article_id) index."""
    mentioning = sa.select(article_entities.c.article_id).where(article_entities.c.entity_id == entity_id)
    return articles.c.id.in_(mentioning)
