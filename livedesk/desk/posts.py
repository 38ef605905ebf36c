"""The desk's posts and its decisions about live pages: write, approve, schedule, correct and retract posts; pin,
mark as key events and hide items. The CLI, the desk pages and the JSON API all come through here.

Who may do what is decided here, whatever a caller shows or checks: contributors write drafts (and edit their own
until approved); editors and admins publish, schedule, correct, retract, pin, mark and hide. Every change is one
transaction with its audit entry (livedesk.store.posts), then announced so open live pages show it within the
second.

Posts are Markdown (markdown-it-py, CommonMark with raw HTML off); the rendered HTML is sanitised again with nh3,
allowing only text structure, links (http, https, mailto) and images by http(s) URL.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import nh3
from lxml import html as lxml_html
from markdown_it import MarkdownIt

from livedesk.models import Actor, Post, PostStatus, Role
from livedesk.publish import Bus, Update
from livedesk.store import Store
from livedesk.store.posts import ItemNotFoundError, Placement, PostNotFoundError, PostStateError, Rendered

__all__ = [
    "MAX_BODY",
    "MAX_NOTE",
    "MAX_TITLE",
    "SCHEDULER",
    "ItemNotFoundError",
    "NotAllowedError",
    "PostDraft",
    "PostNotFoundError",
    "PostStateError",
    "announce",
    "approve_post",
    "correct_post",
    "create_post",
    "hide_item",
    "publish_due",
    "render_markdown",
    "retract_post",
    "set_key_event",
    "set_pinned",
]

MAX_TITLE = 300
MAX_BODY = 50_000  # about 8,000 words: far beyond a live update, far below a cost worth worrying about
MAX_NOTE = 1_000  # a correction note, a retraction or a hiding reason

SCHEDULER = Actor(user_id=None, name="scheduler")

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_TAGS = {
    "p", "br", "hr", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li",
    "h2", "h3", "h4", "a", "img",
}  # fmt: skip
_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}}

logger = logging.getLogger(__name__)


class NotAllowedError(PermissionError):
    """The actor's role does not allow this."""


@dataclass(frozen=True)
class PostDraft:
    """What a writer sends: the text, where it goes, how it shows, and when (None: now, or when approved)."""

    body: str
    story_ids: Sequence[int] = ()
    topic_ids: Sequence[int] = ()
    title: str | None = None
    pinned: bool = False
    key_event: bool = False
    publish_at: datetime | None = None


def render_markdown(body: str) -> Rendered:
    """A post body as sanitised HTML and its plain text."""
    html = nh3.clean(
        _markdown.render(body),
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow ugc",
    ).strip()
    text = " ".join(lxml_html.fromstring(f"<div>{html}</div>").text_content().split()) if html else ""
    return Rendered(html=html, text=text)


def require(actor: Actor, role: Role) -> None:
    """NotAllowedError unless the actor's role is `role` or above (the command line may do everything)."""
    if actor.user_id is None and actor.role is None:
        return  # the command line or the scheduler: whoever runs them runs the server
    if actor.role is None or not actor.role.at_least(role):
        raise NotAllowedError(f"{actor.name} may not do this: it needs the {role} role")


def _clean_text(value: str | None, limit: int, what: str) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > limit:
        raise ValueError(f"the {what} is longer than {limit:,} characters")
    return value or None


def _check_draft(store: Store, draft: PostDraft) -> tuple[str | None, str]:
    title = _clean_text(draft.title, MAX_TITLE, "title")
    body = _clean_text(draft.body, MAX_BODY, "text")
    if body is None:
        raise ValueError("a post needs some text")
    if not draft.story_ids and not draft.topic_ids:
        raise ValueError("attach the post to at least one story or topic")
    for story_id in draft.story_ids:
        if store.get_story(story_id) is None:
            raise LookupError(f"no story {story_id}")
    topics = {topic.id for topic in store.list_topics()}
    for topic_id in draft.topic_ids:
        if topic_id not in topics:
            raise LookupError(f"no topic {topic_id}")
    return title, body


def create_post(
    store: Store, actor: Actor, draft: PostDraft, *, now: datetime | None = None
) -> tuple[Post, list[Placement]]:
    """A contributor's post is a draft; an editor's goes live now, or at `publish_at` if that is later."""
    require(actor, Role.CONTRIBUTOR)
    title, body = _check_draft(store, draft)
    now = now or datetime.now(UTC)
    if actor.role is Role.CONTRIBUTOR:
        status = PostStatus.DRAFT
    elif draft.publish_at is not None and draft.publish_at > now:
        status = PostStatus.SCHEDULED
    else:
        status = PostStatus.PUBLISHED
    return store.create_post(
        actor,
        title=title,
        body=body,
        status=status,
        story_ids=list(dict.fromkeys(draft.story_ids)),
        topic_ids=list(dict.fromkeys(draft.topic_ids)),
        pinned=draft.pinned,
        key_event=draft.key_event,
        publish_at=draft.publish_at if status is PostStatus.SCHEDULED else None,
        rendered=render_markdown(body),
    )


def _post(store: Store, post_id: int) -> Post:
    post = store.get_post(post_id)
    if post is None:
        raise PostNotFoundError(f"no post {post_id}")
    return post


def approve_post(
    store: Store, actor: Actor, post_id: int, *, publish_at: datetime | None = None, now: datetime | None = None
) -> tuple[Post, list[Placement]]:
    """An editor approves a draft: live now, or scheduled for `publish_at`."""
    require(actor, Role.EDITOR)
    now = now or datetime.now(UTC)
    if publish_at is not None and publish_at > now:
        return store.schedule_post(actor, post_id, publish_at), []
    post = _post(store, post_id)
    return store.publish_post(actor, post_id, render_markdown(post.body))


def correct_post(
    store: Store, actor: Actor, post_id: int, draft: PostDraft, *, note: str | None = None
) -> tuple[Post, list[Placement]]:
    """Edit a post. A published one is corrected (editors only; the earlier version is kept and the page says
    "Updated" with `note`); a contributor may edit only their own drafts."""
    post = _post(store, post_id)
    if actor.role is Role.CONTRIBUTOR and (post.author_id != actor.user_id or post.status is not PostStatus.DRAFT):
        raise NotAllowedError(f"{actor.name} may edit only their own drafts")
    require(actor, Role.CONTRIBUTOR)
    title = _clean_text(draft.title, MAX_TITLE, "title")
    body = _clean_text(draft.body, MAX_BODY, "text")
    if body is None:
        raise ValueError("a post needs some text")
    unpublished = post.status in (PostStatus.DRAFT, PostStatus.SCHEDULED)
    if unpublished and (draft.story_ids or draft.topic_ids):
        _check_draft(store, draft)
    return store.edit_post(
        actor,
        post_id,
        title=title,
        body=body,
        rendered=render_markdown(body),
        note=_clean_text(note, MAX_NOTE, "correction note"),
        story_ids=list(draft.story_ids) if unpublished and draft.story_ids else None,
        topic_ids=list(draft.topic_ids) if unpublished and draft.topic_ids else None,
    )


def retract_post(store: Store, actor: Actor, post_id: int, reason: str) -> tuple[Post, list[Placement]]:
    """Take a post down: its pages keep "This update was removed" with `reason`. A contributor may withdraw
    their own draft."""
    post = _post(store, post_id)
    if actor.role is Role.CONTRIBUTOR and (post.author_id != actor.user_id or post.status is not PostStatus.DRAFT):
        raise NotAllowedError(f"{actor.name} may withdraw only their own drafts")
    require(actor, Role.CONTRIBUTOR)
    cleaned = _clean_text(reason, MAX_NOTE, "reason")
    if cleaned is None:
        raise ValueError("say why the post is retracted")
    return store.retract_post(actor, post_id, cleaned)


def set_pinned(store: Store, actor: Actor, article_id: int, pinned: bool) -> Placement:
    require(actor, Role.EDITOR)
    return store.set_pinned(actor, article_id, pinned)


def set_key_event(store: Store, actor: Actor, article_id: int, key_event: bool) -> Placement:
    require(actor, Role.EDITOR)
    return store.set_key_event(actor, article_id, key_event)


def hide_item(store: Store, actor: Actor, article_id: int, reason: str | None) -> Placement:
    """Hide an item from every page with `reason` (required), or show it again (None)."""
    require(actor, Role.EDITOR)
    if reason is not None:
        reason = _clean_text(reason, MAX_NOTE, "reason")
        if reason is None:
            raise ValueError("say why the item is hidden")
    return store.set_hidden(actor, article_id, reason)


def publish_due(store: Store, *, now: datetime | None = None) -> list[Placement]:
    """Publish every scheduled post whose time has come; returns the placements to announce."""
    placed: list[Placement] = []
    for post in store.due_posts(now or datetime.now(UTC)):
        placed.extend(store.publish_post(SCHEDULER, post.id, render_markdown(post.body), at=post.publish_at)[1])
    return placed


async def announce(store: Store, bus: Bus, placements: Sequence[Placement]) -> None:
    """Tell open live pages about changed items (each with its new revision)."""
    for placement in placements:
        revision = await asyncio.to_thread(store.revision_of, placement.article_id)
        await bus.publish(Update(article_id=placement.article_id, story_id=placement.story_id, revision=revision))


async def publish_due_forever(store: Store, bus: Bus, *, every: float = 5.0) -> None:
    """Publish scheduled posts as their time comes, for as long as the server runs."""
    while True:
        try:
            await announce(store, bus, await asyncio.to_thread(publish_due, store))
        except Exception:  # the database or the bus away for a while: the next round catches up
            logger.warning("could not publish the scheduled posts; trying again in %g s", every, exc_info=True)
        await asyncio.sleep(every)
