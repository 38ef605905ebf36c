"""The desk's own material: posts editors write, their versions, who did what (the audit log)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from livedesk.models.accounts import Role, User


class PostStatus(StrEnum):
    DRAFT = "draft"  # a contributor's, waiting for an editor's approval; on no page
    SCHEDULED = "scheduled"  # approved, goes live at `publish_at`
    PUBLISHED = "published"  # on its stories' and topics' pages
    RETRACTED = "retracted"  # stays on the pages as "This update was removed", with the reason


@dataclass(frozen=True)
class Actor:
    """Who did something at the desk: a signed-in user, a token's holder, or the command line (no user)."""

    user_id: int | None
    name: str
    role: Role | None = None

    @classmethod
    def for_user(cls, user: User) -> Actor:
        """A signed-in user (or a token's holder) as the service layer sees them."""
        return cls(user.id, user.name, user.role)


COMMAND_LINE = Actor(user_id=None, name="command line")


@dataclass(frozen=True)
class Post:
    id: int
    author_id: int | None
    author_name: str
    title: str | None
    body: str  # Markdown, as written
    status: PostStatus
    story_ids: tuple[int, ...]
    topic_ids: tuple[int, ...]
    pinned: bool
    key_event: bool
    publish_at: datetime | None  # when it went (or goes) live
    version: int
    correction_note: str | None
    corrected_at: datetime | None
    retracted_reason: str | None
    retracted_at: datetime | None
    approved_by: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class PostVersion:
    """A post as it read before a correction (the current text is the post itself)."""

    post_id: int
    version: int
    title: str | None
    body: str
    correction_note: str | None
    edited_by: str
    edited_at: datetime


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor_id: int | None
    actor_name: str
    action: str  # e.g. "post.publish", "article.hide", "story.merge"
    target: str  # e.g. "post:12", "article:40", "story:3"
    before: dict[str, Any] | None
    after: dict[str, Any] | None
