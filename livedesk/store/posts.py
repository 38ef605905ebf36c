"""Queries of the desk's posts and of the desk's decisions about stream items (pin, key event, hide).

A published post is shown through `articles` rows of kind "post", one per story or topic it is attached to (its
placements): every stream, feed, search and live page then shows posts exactly as it shows articles, in one order.
The post itself (Markdown, status, versions) stays in `posts`; a correction rewrites its placements, a retraction
empties them (the text is kept in `post_versions`, the reason on the post).

Every write here is one transaction with its audit entry, and touches the revisions of the rows readers see.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from livedesk.models import Actor, Post, PostStatus, PostVersion
from livedesk.store import audit, revisions
from livedesk.store.schema import UTCDateTime, articles, metadata
from livedesk.urls import url_hash

posts = sa.Table(
    "posts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("author_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("author_name", sa.Text, nullable=False),
    sa.Column("title", sa.Text),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("story_ids", sa.JSON, nullable=False),
    sa.Column("topic_ids", sa.JSON, nullable=False),
    sa.Column("pinned", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("key_event", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("publish_at", UTCDateTime),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("correction_note", sa.Text),
    sa.Column("corrected_at", UTCDateTime),
    sa.Column("retracted_reason", sa.Text),
    sa.Column("retracted_at", UTCDateTime),
    sa.Column("approved_by", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

post_versions = sa.Table(
    "post_versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("post_id", sa.Integer, sa.ForeignKey("posts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("title", sa.Text),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("correction_note", sa.Text),
    sa.Column("edited_by", sa.Text, nullable=False),
    sa.Column("edited_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("post_id", "version", name="uq_post_versions_post_id"),
)

# The site name of posts' rows: not a domain, so never an ingested outlet's.
DESK_SITE = "desk"


class PostNotFoundError(LookupError):
    pass


class ItemNotFoundError(LookupError):
    """No article (or post placement) with that id."""


class PostStateError(ValueError):
    """The post is not in a state that allows this (e.g. correcting a retracted post)."""


@dataclass(frozen=True)
class Rendered:
    """A post body made ready for readers: sanitised HTML and its plain text (for search and feeds)."""

    html: str
    text: str


@dataclass(frozen=True)
class Placement:
    """A stream row that changed: what live pages must hear of (article id, its story, its new revision)."""

    article_id: int
    story_id: int | None
    topic_id: int | None


def _target(post_id: int) -> str:
    return f"post:{post_id}"


def _post_snapshot(post: Post) -> dict[str, Any]:
    return {
        "title": post.title,
        "body": post.body,
        "status": str(post.status),
        "story_ids": list(post.story_ids),
        "topic_ids": list(post.topic_ids),
        "pinned": post.pinned,
        "key_event": post.key_event,
        "publish_at": post.publish_at.isoformat() if post.publish_at else None,
        "version": post.version,
        "correction_note": post.correction_note,
        "retracted_reason": post.retracted_reason,
    }


class PostStore:
    """Mixed into Store; uses its _read()/_write() connections."""

    if TYPE_CHECKING:
        dialect: str

        def _write(self) -> AbstractContextManager[sa.Connection]: ...
        def _read(self) -> sa.Connection: ...

    # posts

    def create_post(
        self,
        actor: Actor,
        *,
        title: str | None,
        body: str,
        status: PostStatus,
        story_ids: Sequence[int],
        topic_ids: Sequence[int],
        pinned: bool,
        key_event: bool,
        publish_at: datetime | None,
        rendered: Rendered,
    ) -> tuple[Post, list[Placement]]:
        """A new post; a PUBLISHED one is placed on its pages at once (`publish_at` is then now)."""
        now = _now()
        values = {
            "author_id": actor.user_id,
            "author_name": actor.name,
            "title": title,
            "body": body,
            "status": str(status),
            "story_ids": list(story_ids),
            "topic_ids": list(topic_ids),
            "pinned": pinned,
            "key_event": key_event,
            "publish_at": now if status is PostStatus.PUBLISHED else publish_at,
            "approved_by": actor.name if status is not PostStatus.DRAFT else None,
            "created_at": now,
            "updated_at": now,
        }
        with self._write() as connection:
            row = connection.execute(sa.insert(posts).values(**values).returning(*posts.c)).one()
            post = _post(row)
            placements = _place(connection, post, rendered) if status is PostStatus.PUBLISHED else []
            audit.record(connection, actor, "post.create", _target(post.id), None, _post_snapshot(post))
        return post, placements

    def get_post(self, post_id: int) -> Post | None:
        with self._read() as connection:
            row = connection.execute(sa.select(posts).where(posts.c.id == post_id)).first()
        return None if row is None else _post(row)

    def list_posts(
        self, *, status: PostStatus | None = None, story_id: int | None = None, limit: int = 100
    ) -> list[Post]:
        """Posts, newest first; of one status, or attached to one story."""
        query = sa.select(posts).order_by(posts.c.id.desc()).limit(limit)
        if status is not None:
            query = query.where(posts.c.status == str(status))
        with self._read() as connection:
            found = [_post(row) for row in connection.execute(query)]
        # JSON lists differ per backend: filtered here, on at most `limit` rows.
        return [post for post in found if story_id is None or story_id in post.story_ids]

    def post_versions(self, post_id: int) -> list[PostVersion]:
        """The earlier versions of a post, oldest first."""
        query = sa.select(post_versions).where(post_versions.c.post_id == post_id).order_by(post_versions.c.version)
        with self._read() as connection:
            return [
                PostVersion(**{k: v for k, v in row._mapping.items() if k != "id"}) for row in connection.execute(query)
            ]

    def post_placements(self, post_id: int) -> list[Placement]:
        with self._read() as connection:
            return _placements(connection, post_id)

    def due_posts(self, now: datetime) -> list[Post]:
        """Scheduled posts whose time has come, earliest first."""
        query = (
            sa.select(posts)
            .where(posts.c.status == str(PostStatus.SCHEDULED), posts.c.publish_at <= sa.literal(now, UTCDateTime))
            .order_by(posts.c.publish_at, posts.c.id)
        )
        with self._read() as connection:
            return [_post(row) for row in connection.execute(query)]

    def edit_post(
        self,
        actor: Actor,
        post_id: int,
        *,
        title: str | None,
        body: str,
        rendered: Rendered,
        note: str | None,
        story_ids: Sequence[int] | None = None,
        topic_ids: Sequence[int] | None = None,
        pinned: bool | None = None,
        key_event: bool | None = None,
        publish_at: datetime | None = None,
    ) -> tuple[Post, list[Placement]]:
        """Change a post. A draft or scheduled post is simply rewritten (its targets and flags too); a published
        one is corrected: the version before is kept, the pages show "Updated" with `note`."""
        with self._write() as connection:
            before = _lock_post(connection, post_id)
            if before.status is PostStatus.RETRACTED:
                raise PostStateError(f"post {post_id} was retracted; it cannot be edited")
            now = _now()
            values: dict[str, Any] = {"title": title, "body": body, "updated_at": now}
            placements: list[Placement] = []
            if before.status is PostStatus.PUBLISHED:
                _keep_version(connection, before, actor, now)
                values.update(version=before.version + 1, correction_note=note, corrected_at=now)
                connection.execute(
                    sa.update(articles)
                    .where(articles.c.post_id == post_id)
                    .values(**_shown(title, rendered), updated_at=now)
                )
                placements = _placements(connection, post_id)
                revisions.touch(connection, [p.article_id for p in placements])
            else:
                values.update(
                    story_ids=list(story_ids if story_ids is not None else before.story_ids),
                    topic_ids=list(topic_ids if topic_ids is not None else before.topic_ids),
                    pinned=before.pinned if pinned is None else pinned,
                    key_event=before.key_event if key_event is None else key_event,
                    publish_at=before.publish_at if publish_at is None else publish_at,
                )
            row = connection.execute(
                sa.update(posts).where(posts.c.id == post_id).values(**values).returning(*posts.c)
            ).one()
            after = _post(row)
            action = "post.correct" if before.status is PostStatus.PUBLISHED else "post.edit"
            audit.record(connection, actor, action, _target(post_id), _post_snapshot(before), _post_snapshot(after))
        return after, placements

    def publish_post(
        self, actor: Actor, post_id: int, rendered: Rendered, *, at: datetime | None = None
    ) -> tuple[Post, list[Placement]]:
        """Put a draft or scheduled post on its pages now (an editor's approval, or its scheduled time).
        Publishing a published post changes nothing (a scheduler racing an editor publishes once)."""
        with self._write() as connection:
            before = _lock_post(connection, post_id)
            if before.status is PostStatus.PUBLISHED:
                return before, []
            if before.status is PostStatus.RETRACTED:
                raise PostStateError(f"post {post_id} was retracted; it cannot be published")
            now = at or _now()
            approved = before.approved_by or actor.name
            row = connection.execute(
                sa.update(posts)
                .where(posts.c.id == post_id)
                .values(status=str(PostStatus.PUBLISHED), publish_at=now, approved_by=approved, updated_at=_now())
                .returning(*posts.c)
            ).one()
            post = _post(row)
            placements = _place(connection, post, rendered)
            audit.record(
                connection, actor, "post.publish", _target(post_id), _post_snapshot(before), _post_snapshot(post)
            )
        return post, placements

    def schedule_post(self, actor: Actor, post_id: int, publish_at: datetime) -> Post:
        """Approve a draft (or move a scheduled post) to go live at `publish_at`."""
        with self._write() as connection:
            before = _lock_post(connection, post_id)
            if before.status not in (PostStatus.DRAFT, PostStatus.SCHEDULED):
                raise PostStateError(
                    f"post {post_id} is {before.status}; only drafts and scheduled posts are scheduled"
                )
            row = connection.execute(
                sa.update(posts)
                .where(posts.c.id == post_id)
                .values(
                    status=str(PostStatus.SCHEDULED),
                    publish_at=publish_at,
                    approved_by=before.approved_by or actor.name,
                    updated_at=_now(),
                )
                .returning(*posts.c)
            ).one()
            post = _post(row)
            audit.record(
                connection, actor, "post.schedule", _target(post_id), _post_snapshot(before), _post_snapshot(post)
            )
        return post

    def retract_post(self, actor: Actor, post_id: int, reason: str) -> tuple[Post, list[Placement]]:
        """Take a post's text off every page; its placements stay, as "This update was removed" with `reason`.
        A draft or scheduled post is retracted without ever being shown."""
        with self._write() as connection:
            before = _lock_post(connection, post_id)
            if before.status is PostStatus.RETRACTED:
                return before, []
            now = _now()
            _keep_version(connection, before, actor, now)
            row = connection.execute(
                sa.update(posts)
                .where(posts.c.id == post_id)
                .values(status=str(PostStatus.RETRACTED), retracted_reason=reason, retracted_at=now, updated_at=now)
                .returning(*posts.c)
            ).one()
            connection.execute(
                sa.update(articles)
                .where(articles.c.post_id == post_id)
                .values(**_shown(None, Rendered("", "")), key_event=False, pinned_at=None, updated_at=now)
            )
            placements = _placements(connection, post_id)
            revisions.touch(connection, [p.article_id for p in placements])
            post = _post(row)
            audit.record(
                connection, actor, "post.retract", _target(post_id), _post_snapshot(before), _post_snapshot(post)
            )
        return post, placements

    # stream items: pin, key event, hide

    def set_pinned(self, actor: Actor, article_id: int, pinned: bool) -> Placement:
        return self._decide(
            actor, article_id, "item.pin" if pinned else "item.unpin", pinned_at=_now() if pinned else None
        )

    def set_key_event(self, actor: Actor, article_id: int, key_event: bool) -> Placement:
        return self._decide(
            actor, article_id, "item.key_event" if key_event else "item.not_key_event", key_event=key_event
        )

    def set_hidden(self, actor: Actor, article_id: int, reason: str | None) -> Placement:
        """Hide an item from every page with `reason`, or show it again (None)."""
        return self._decide(actor, article_id, "item.hide" if reason else "item.unhide", hidden_reason=reason)

    def _decide(self, actor: Actor, article_id: int, action: str, **values: Any) -> Placement:
        decided = (articles.c.pinned_at, articles.c.key_event, articles.c.hidden_reason)
        with self._write() as connection:
            row = connection.execute(
                sa.select(articles.c.id, articles.c.story_id, articles.c.topic_id, *decided)
                .where(articles.c.id == article_id)
                .with_for_update()
            ).first()
            if row is None:
                raise ItemNotFoundError(f"no article {article_id}")
            connection.execute(sa.update(articles).where(articles.c.id == article_id).values(**values))
            revisions.touch(connection, [article_id])
            before = {
                "pinned": row.pinned_at is not None,
                "key_event": row.key_event,
                "hidden_reason": row.hidden_reason,
            }
            after = dict(before)
            if "pinned_at" in values:
                after["pinned"] = values["pinned_at"] is not None
            if "key_event" in values:
                after["key_event"] = values["key_event"]
            if "hidden_reason" in values:
                after["hidden_reason"] = values["hidden_reason"]
            audit.record(connection, actor, action, f"article:{article_id}", before, after)
        return Placement(row.id, row.story_id, row.topic_id)

    def revision_of(self, article_id: int) -> int:
        """The item's current revision (0 if absent)."""
        with self._read() as connection:
            value = connection.execute(sa.select(articles.c.revision).where(articles.c.id == article_id)).scalar()
        return value or 0

    def last_revision(self) -> int:
        """The highest revision handed out (0 before any): a live page opened now continues after it."""
        with self._read() as connection:
            return revisions.last_revision(connection)


def _now() -> datetime:
    return datetime.now(UTC)


def _lock_post(connection: sa.Connection, post_id: int) -> Post:
    row = connection.execute(sa.select(posts).where(posts.c.id == post_id).with_for_update()).first()
    if row is None:
        raise PostNotFoundError(f"no post {post_id}")
    return _post(row)


def _keep_version(connection: sa.Connection, post: Post, actor: Actor, at: datetime) -> None:
    connection.execute(
        sa.insert(post_versions).values(
            post_id=post.id,
            version=post.version,
            title=post.title,
            body=post.body,
            correction_note=post.correction_note,
            edited_by=actor.name,
            edited_at=at,
        )
    )


def _shown(title: str | None, rendered: Rendered) -> dict[str, Any]:
    """The columns of a placement row that show the post's content."""
    return {
        "title": title or "",
        "text": rendered.text,
        "html": rendered.html,
        "content_hash": hashlib.sha256(rendered.text.encode()).hexdigest(),
    }


def _place(connection: sa.Connection, post: Post, rendered: Rendered) -> list[Placement]:
    """One row per story and topic of `post` (none yet), stamped with its publication time."""
    at = post.publish_at or _now()
    targets = [(story_id, None) for story_id in post.story_ids] + [(None, topic_id) for topic_id in post.topic_ids]
    rows = []
    for story_id, topic_id in targets:
        where = f"story/{story_id}" if story_id is not None else f"topic/{topic_id}"
        url = f"/posts/{post.id}"
        rows.append(
            {
                **_shown(post.title, rendered),
                "url": url,
                "canonical_url": url,
                "url_hash": url_hash(f"livedesk:post/{post.id}/{where}"),
                "site": DESK_SITE,
                "byline": post.author_name,
                "published_at": at,
                "first_seen_at": at,
                "updated_at": at,
                "processed_at": at,  # written at the desk: no stage of the chain is due
                "kind": "post",
                "post_id": post.id,
                "story_id": story_id,
                "topic_id": topic_id,
                "pinned_at": at if post.pinned else None,
                "key_event": post.key_event,
            }
        )
    placed = [
        connection.execute(sa.insert(articles).values(**row).returning(articles.c.id)).scalar_one() for row in rows
    ]
    revisions.touch(connection, placed)
    return [
        Placement(article_id, story_id, topic_id)
        for article_id, (story_id, topic_id) in zip(placed, targets, strict=True)
    ]


def _placements(connection: sa.Connection, post_id: int) -> list[Placement]:
    query = (
        sa.select(articles.c.id, articles.c.story_id, articles.c.topic_id)
        .where(articles.c.post_id == post_id)
        .order_by(articles.c.id)
    )
    return [Placement(row.id, row.story_id, row.topic_id) for row in connection.execute(query)]


def _post(row: sa.Row[Any]) -> Post:
    data = dict(row._mapping)
    data["status"] = PostStatus(data["status"])
    data["story_ids"] = tuple(data["story_ids"])
    data["topic_ids"] = tuple(data["topic_ids"])
    return Post(**data)
