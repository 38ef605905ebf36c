"""The desk pages: the overview, posting, a story's items and tools, a post's versions and history, sources and the
audit log. Server-rendered forms that work without JavaScript, each with the session's CSRF token.

Every route takes its user from livedesk.web.auth (`desk_user`), every change goes through the service layer
(livedesk.desk) as that user, which decides what their role allows; changed items are then announced on the bus
so open live pages follow. A change answers 303 back to its page with a `done` code (a fixed message, never text
from the request); a refused one shows the page again with the reason (400), 403 or 404.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from livedesk.desk import claims as desk_claims
from livedesk.desk import posts, story_text
from livedesk.desk import sources as desk_sources
from livedesk.desk.posts import NotAllowedError, PostDraft
from livedesk.models import MAX_ID, Actor, ClaimStatus, Post, PostStatus, Role, SourceKind, StoryStream, User
from livedesk.publish import Bus
from livedesk.store import Store
from livedesk.store.posts import Placement
from livedesk.web.auth import desk_user, local_path
from livedesk.web.edits import StoryEdits
from livedesk.web.inputs import FIRST_DAY, LAST_DAY, Cursor, Id, read_form
from livedesk.web.pages import render
from livedesk.web.streams import position

router = APIRouter(include_in_schema=False)

Contributor = Annotated[User, Depends(desk_user(Role.CONTRIBUTOR))]
Editor = Annotated[User, Depends(desk_user(Role.EDITOR))]

STORY_ITEMS = 50  # items per page of a story's desk view
AUDIT_PAGE = 50
MAX_FILTER_CHARS = 100
# How many stories and topics a post form offers to attach to (the form's field count is bounded too).
FORM_STORIES = 20
FORM_TOPICS = 30

# What a `done` code says on the page it redirects to: fixed text, so nobody can make the desk show theirs.
DONE = {
    "posted": "Posted: it is on its pages now.",
    "scheduled": "Scheduled: it goes live at its time.",
    "submitted": "Submitted: an editor approves it before it is published.",
    "edited": "Saved.",
    "corrected": "Corrected: the pages show the new version with the note.",
    "approved": "Approved.",
    "retracted": "Retracted: the pages say the update was removed, with the reason.",
    "withdrawn": "Withdrawn.",
    "pinned": "Pinned.",
    "unpinned": "Unpinned.",
    "key_event": "Marked as a key event.",
    "not_key_event": "No longer a key event.",
    "hidden": "Hidden from the pages.",
    "unhidden": "Shown on the pages again.",
    "story_edited": "The story's title and summary are saved.",
    "merged": "Merged.",
    "split": "Split off into a new story.",
    "claim": "The claim's status is saved.",
    "source_added": "Source added: it is polled on the next round.",
    "source_present": "That source exists already.",
    "enabled": "Source enabled: it is polled on the next round.",
    "disabled": "Source disabled.",
    "poll": "The source is due now: the poller fetches it on its next round.",
}


def _store(request: Request) -> Store:
    return request.app.state.store


def _bus(request: Request) -> Bus:
    return request.app.state.bus


def story_edits(request: Request) -> StoryEdits:
    """The app's merge and split (see livedesk.web.app.StoryEdits); 503 when this process was given none."""
    edits: StoryEdits | None = request.app.state.story_edits
    if edits is None:
        raise HTTPException(
            503, "Merging and splitting stories is not available in this process: use `livedesk serve`."
        )
    return edits


def _page(request: Request, template: str, me: User, status_code: int = 200, **context: Any) -> Response:
    done = request.query_params.get("done")
    return render(
        request,
        f"desk/{template}",
        status_code=status_code,
        me=me,
        is_editor=me.role.at_least(Role.EDITOR),
        done=DONE.get(done or ""),
        **context,
    )


def _back(path: str, done: str) -> Response:
    return RedirectResponse(f"{path}?{urlencode({'done': done})}", status_code=303)


async def _decide(action: Callable[[], Awaitable[Response]], refused: Callable[[str], Awaitable[Response]]) -> Response:
    """Run a desk action; the service layer's refusals become 403, 404, or the page again with the reason."""
    try:
        return await action()
    except NotAllowedError as err:
        raise HTTPException(403, str(err)) from None
    except LookupError as err:
        raise HTTPException(404, _not_found(err)) from None
    except ValueError as err:
        return await refused(str(err))


def _not_found(err: LookupError) -> str:
    text = str(err).strip("'\"")
    return text if not text.isdigit() else f"Not found: {type(err).__name__.removesuffix('Error').lower()} {text}"


# form fields


def _text(fields: dict[str, str], name: str) -> str:
    return fields.get(name, "")


def _optional(fields: dict[str, str], name: str) -> str | None:
    value = fields.get(name, "").strip()
    return value or None


def _form_id(value: str, what: str) -> int:
    """An id from a form field: ValueError (the form again) unless it is one."""
    value = value.strip()
    if not value.isascii() or not value.isdigit() or not 1 <= int(value[:12]) <= MAX_ID:
        raise ValueError(f"{what}: give an id")
    return int(value)


def _ids(fields: dict[str, str], prefix: str) -> list[int]:
    """The ids of checked boxes named `prefix-ID`."""
    return [
        _form_id(name.removeprefix(prefix), prefix) for name, on in fields.items() if name.startswith(prefix) and on
    ]


def parse_time(value: str | None) -> datetime | None:
    """A time from a form or the API (ISO 8601; without an offset: UTC); None when blank; ValueError otherwise."""
    if value is None or not value.strip():
        return None
    try:
        at = datetime.fromisoformat(value.strip()[:40])
    except ValueError:
        raise ValueError("a time as YYYY-MM-DDTHH:MM (UTC)") from None
    at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    if not FIRST_DAY <= at.astimezone(UTC).date() <= LAST_DAY:
        raise ValueError(f"a time between {FIRST_DAY.year} and {LAST_DAY.year}")
    return at.astimezone(UTC)


async def _announce(request: Request, placements: list[Placement]) -> None:
    await posts.announce(_store(request), _bus(request), placements)


# the overview


@router.get("/desk")
async def overview(request: Request, me: Contributor) -> Response:
    store = _store(request)

    def read() -> dict[str, Any]:
        return {
            "stories": store.list_stories(limit=30),
            "topics": store.list_topics(),
            "sources": store.list_sources(),
            "queue": [*store.list_posts(status=PostStatus.DRAFT), *store.list_posts(status=PostStatus.SCHEDULED)],
        }

    return _page(request, "overview.html", me, now=datetime.now(UTC), **await run_in_threadpool(read))


# posts


@dataclass(frozen=True)
class PostForm:
    """What the post form shows: the values typed so far (kept when the form comes back with a message)."""

    title: str = ""
    body: str = ""
    story_ids: tuple[int, ...] = ()
    topic_ids: tuple[int, ...] = ()
    pinned: bool = False
    key_event: bool = False
    publish_at: str = ""


async def _post_form(
    request: Request,
    me: User,
    form: PostForm,
    *,
    message: str | None = None,
    preview: str | None = None,
    status_code: int = 200,
) -> Response:
    store = _store(request)

    def read() -> tuple[list[Any], list[Any]]:
        stories = store.list_stories(limit=FORM_STORIES)
        listed = {story.id for story in stories}
        stories += [s for s in map(store.get_story, form.story_ids) if s is not None and s.id not in listed]
        return stories, store.list_topics()[:FORM_TOPICS]

    stories, topics = await run_in_threadpool(read)
    return _page(
        request,
        "post_form.html",
        me,
        status_code=status_code,
        form=form,
        stories=stories,
        topics=topics,
        message=message,
        preview=preview,
    )


@router.get("/desk/posts/new")
async def new_post(
    request: Request,
    me: Contributor,
    story: Annotated[Id | None, Query()] = None,
    topic: Annotated[Id | None, Query()] = None,
) -> Response:
    form = PostForm(story_ids=(story,) if story else (), topic_ids=(topic,) if topic else ())
    return await _post_form(request, me, form)


@router.post("/desk/posts")
async def create_post(request: Request, me: Contributor) -> Response:
    fields = await read_form(request)
    form = PostForm(
        title=_text(fields, "title"),
        body=_text(fields, "body"),
        story_ids=tuple(dict.fromkeys(_ids(fields, "story-"))),
        topic_ids=tuple(dict.fromkeys(_ids(fields, "topic-"))),
        pinned=bool(fields.get("pinned")),
        key_event=bool(fields.get("key_event")),
        publish_at=_text(fields, "publish_at"),
    )
    if fields.get("intent") == "preview":
        rendered = posts.render_markdown(form.body[: posts.MAX_BODY])
        return await _post_form(request, me, form, preview=rendered.html)

    async def create() -> Response:
        draft = PostDraft(
            body=form.body,
            story_ids=form.story_ids,
            topic_ids=form.topic_ids,
            title=form.title,
            pinned=form.pinned,
            key_event=form.key_event,
            publish_at=parse_time(form.publish_at),
        )
        post, placements = await run_in_threadpool(posts.create_post, _store(request), Actor.for_user(me), draft)
        await _announce(request, placements)
        done = {PostStatus.DRAFT: "submitted", PostStatus.SCHEDULED: "scheduled"}.get(post.status, "posted")
        return _back(f"/desk/posts/{post.id}", done)

    async def refused(message: str) -> Response:
        return await _post_form(request, me, form, message=message, status_code=400)

    return await _decide(create, refused)


async def _post_page(
    request: Request, me: User, post_id: int, *, message: str | None = None, status_code: int = 200
) -> Response:
    store = _store(request)

    def read() -> dict[str, Any] | None:
        post = store.get_post(post_id)
        if post is None:
            return None
        return {
            "post": post,
            "html": posts.render_markdown(post.body).html,
            "versions": store.post_versions(post_id),
            "history": store.audit_entries(target=f"post:{post_id}", limit=AUDIT_PAGE),
            "placements": store.post_placements(post_id),
        }

    found = await run_in_threadpool(read)
    if found is None:
        raise HTTPException(404, f"No post {post_id}.")
    return _page(request, "post.html", me, status_code=status_code, message=message, **found)


@router.get("/desk/posts/{post_id}")
async def post_page(request: Request, post_id: Id, me: Contributor) -> Response:
    return await _post_page(request, me, post_id)


def _post_action(
    request: Request, me: User, post_id: int, run: Callable[[Store, Actor], tuple[Post, list[Placement]]], done: str
) -> Awaitable[Response]:
    async def action() -> Response:
        _post, placements = await run_in_threadpool(run, _store(request), Actor.for_user(me))
        await _announce(request, placements)
        return _back(f"/desk/posts/{post_id}", done)

    async def refused(message: str) -> Response:
        return await _post_page(request, me, post_id, message=message, status_code=400)

    return _decide(action, refused)


@router.post("/desk/posts/{post_id}/edit")
async def edit_post(request: Request, post_id: Id, me: Contributor) -> Response:
    fields = await read_form(request)
    draft = PostDraft(body=_text(fields, "body"), title=_text(fields, "title"))
    note = _optional(fields, "correction_note")
    before = await run_in_threadpool(_store(request).get_post, post_id)
    published = before is not None and before.status is PostStatus.PUBLISHED
    return await _post_action(
        request,
        me,
        post_id,
        lambda store, actor: posts.correct_post(store, actor, post_id, draft, note=note),
        "corrected" if published else "edited",
    )


@router.post("/desk/posts/{post_id}/approve")
async def approve_post(request: Request, post_id: Id, me: Editor) -> Response:
    fields = await read_form(request)

    def approve(store: Store, actor: Actor) -> tuple[Post, list[Placement]]:
        return posts.approve_post(store, actor, post_id, publish_at=parse_time(fields.get("publish_at")))

    return await _post_action(request, me, post_id, approve, "approved")


@router.post("/desk/posts/{post_id}/retract")
async def retract_post(request: Request, post_id: Id, me: Contributor) -> Response:
    reason = _text(await read_form(request), "reason")
    done = "retracted" if me.role.at_least(Role.EDITOR) else "withdrawn"
    return await _post_action(
        request, me, post_id, lambda store, actor: posts.retract_post(store, actor, post_id, reason), done
    )


# a story: its items and the editors' tools


async def _story_page(
    request: Request,
    me: User,
    story_id: int,
    *,
    cursor: str | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    store = _store(request)
    before = position(cursor)

    def read() -> dict[str, Any] | None:
        story = store.get_story(story_id)
        if story is None:
            return None
        claims = store.story_claims(story_id)
        waiting = (PostStatus.DRAFT, PostStatus.SCHEDULED)
        return {
            "story": story,
            "page": store.page(StoryStream(story_id), before=before, limit=STORY_ITEMS, with_hidden=True),
            "waiting": [p for p in store.list_posts(story_id=story_id) if p.status in waiting],
            "claims": [(claim, store.claim_history(claim.id)) for claim in claims],
            "others": [s for s in store.list_stories(limit=50) if s.id != story_id],
        }

    found = await run_in_threadpool(read)
    if found is None:
        raise HTTPException(404, f"No story {story_id}.")
    return _page(
        request,
        "story.html",
        me,
        status_code=status_code,
        message=message,
        statuses=list(ClaimStatus),
        form=PostForm(story_ids=(story_id,)),
        **found,
    )


@router.get("/desk/stories/{story_id}")
async def story_page(request: Request, story_id: Id, me: Contributor, cursor: Cursor | None = None) -> Response:
    return await _story_page(request, me, story_id, cursor=cursor)


def _story_action(
    request: Request, me: User, story_id: int, run: Callable[[Actor], Awaitable[int | None]], done: str
) -> Awaitable[Response]:
    """A story tool: back to the story's page (or to the story the action names, e.g. a split's new one)."""

    async def action() -> Response:
        landed = await run(Actor.for_user(me))
        return _back(f"/desk/stories/{landed or story_id}", done)

    async def refused(message: str) -> Response:
        return await _story_page(request, me, story_id, message=message, status_code=400)

    return _decide(action, refused)


@router.post("/desk/stories/{story_id}/edit")
async def edit_story(request: Request, story_id: Id, me: Editor) -> Response:
    fields = await read_form(request)
    store, bus = _store(request), _bus(request)

    async def run(actor: Actor) -> None:
        title, summary = fields.get("title"), fields.get("summary")
        await story_text.edit(store, bus, story_id, title=title, summary=summary, actor=actor)

    return await _story_action(request, me, story_id, run, "story_edited")


@router.post("/desk/stories/{story_id}/merge")
async def merge_story(request: Request, story_id: Id, me: Editor) -> Response:
    fields = await read_form(request)
    store, bus = _store(request), _bus(request)

    async def run(actor: Actor) -> None:
        absorb = _form_id(_text(fields, "absorb"), "absorb")
        await story_edits(request).merge(store, bus, story_id, absorb, actor=actor)

    return await _story_action(request, me, story_id, run, "merged")


@router.post("/desk/stories/{story_id}/split")
async def split_story(request: Request, story_id: Id, me: Editor) -> Response:
    fields = await read_form(request)
    store, bus = _store(request), _bus(request)

    async def run(actor: Actor) -> int:
        return await story_edits(request).split(store, bus, story_id, _ids(fields, "article-"), actor=actor)

    return await _story_action(request, me, story_id, run, "split")


@router.post("/desk/claims/{claim_id}/status")
async def claim_status(request: Request, claim_id: Id, me: Editor) -> Response:
    fields = await read_form(request)
    store, bus = _store(request), _bus(request)
    claim = await run_in_threadpool(store.get_claim, claim_id)
    if claim is None:
        raise HTTPException(404, f"No claim {claim_id}.")

    async def run(actor: Actor) -> None:
        status, reason = _text(fields, "status"), _text(fields, "reason")
        await desk_claims.set_claim_status(store, bus, claim_id, status, editor=me.name, reason=reason, actor=actor)

    return await _story_action(request, me, claim.story_id, run, "claim")


# items on the pages: pin, key event, hide


async def _item_action(
    request: Request, me: User, article_id: int, run: Callable[[Store, Actor], Placement], done: str
) -> Response:
    fields = await read_form(request)
    store = _store(request)
    item = await run_in_threadpool(store.stream_item, article_id)
    if item is None:
        raise HTTPException(404, f"No item {article_id}.")
    back = local_path(fields.get("back")) if fields.get("back") else f"/desk/stories/{item.story_id}"

    async def action() -> Response:
        placement = await run_in_threadpool(run, store, Actor.for_user(me))
        await _announce(request, [placement])
        return _back(back, done)

    async def refused(message: str) -> Response:
        if item.story_id is None:
            raise HTTPException(400, message)
        return await _story_page(request, me, item.story_id, message=message, status_code=400)

    return await _decide(action, refused)


@router.post("/desk/items/{article_id}/pin")
async def pin_item(request: Request, article_id: Id, me: Editor) -> Response:
    on = (await read_form(request)).get("on") == "1"
    done = "pinned" if on else "unpinned"
    return await _item_action(
        request, me, article_id, lambda store, actor: posts.set_pinned(store, actor, article_id, on), done
    )


@router.post("/desk/items/{article_id}/key-event")
async def key_event_item(request: Request, article_id: Id, me: Editor) -> Response:
    on = (await read_form(request)).get("on") == "1"
    done = "key_event" if on else "not_key_event"
    return await _item_action(
        request, me, article_id, lambda store, actor: posts.set_key_event(store, actor, article_id, on), done
    )


@router.post("/desk/items/{article_id}/hide")
async def hide_item(request: Request, article_id: Id, me: Editor) -> Response:
    fields = await read_form(request)
    on = fields.get("on") == "1"
    reason = _text(fields, "reason") if on else None
    done = "hidden" if on else "unhidden"
    return await _item_action(
        request, me, article_id, lambda store, actor: posts.hide_item(store, actor, article_id, reason), done
    )


# sources


async def _sources_page(request: Request, me: User, *, message: str | None = None, status_code: int = 200) -> Response:
    sources = await run_in_threadpool(_store(request).list_sources)
    return _page(
        request,
        "sources.html",
        me,
        status_code=status_code,
        message=message,
        sources=sources,
        kinds=list(SourceKind),
        now=datetime.now(UTC),
    )


@router.get("/desk/sources")
async def sources_page(request: Request, me: Editor) -> Response:
    return await _sources_page(request, me)


def _source_action(request: Request, me: User, run: Callable[[Store, Actor], str]) -> Awaitable[Response]:
    async def action() -> Response:
        return _back("/desk/sources", await run_in_threadpool(run, _store(request), Actor.for_user(me)))

    async def refused(message: str) -> Response:
        return await _sources_page(request, me, message=message, status_code=400)

    return _decide(action, refused)


@router.post("/desk/sources")
async def add_source(request: Request, me: Editor) -> Response:
    fields = await read_form(request)

    def add(store: Store, actor: Actor) -> str:
        kind = fields.get("kind") or SourceKind.FEED
        _source, created = desk_sources.add_source(store, _text(fields, "url"), kind, actor=actor)
        return "source_added" if created else "source_present"

    return await _source_action(request, me, add)


@router.post("/desk/sources/{source_id}/enable")
async def enable_source(request: Request, source_id: Id, me: Editor) -> Response:
    def enable(store: Store, actor: Actor) -> str:
        desk_sources.enable_source(store, source_id, actor=actor)
        return "enabled"

    return await _source_action(request, me, enable)


@router.post("/desk/sources/{source_id}/disable")
async def disable_source(request: Request, source_id: Id, me: Editor) -> Response:
    reason = _text(await read_form(request), "reason")

    def disable(store: Store, actor: Actor) -> str:
        desk_sources.disable_source(store, source_id, reason, actor=actor)
        return "disabled"

    return await _source_action(request, me, disable)


@router.post("/desk/sources/{source_id}/poll")
async def poll_source(request: Request, source_id: Id, me: Editor) -> Response:
    def poll(store: Store, actor: Actor) -> str:
        desk_sources.poll_now(store, source_id, actor=actor)
        return "poll"

    return await _source_action(request, me, poll)


# the audit log

FilterText = Annotated[str | None, Query(max_length=MAX_FILTER_CHARS, pattern=r"^[^\x00-\x1f\x7f]*$")]


@router.get("/desk/audit")
async def audit_page(
    request: Request,
    me: Editor,
    target: FilterText = None,
    actor: FilterText = None,
    before: Annotated[Id | None, Query()] = None,
) -> Response:
    target, actor = target or None, actor or None
    entries = await run_in_threadpool(
        lambda: _store(request).audit_entries(before_id=before, target=target, actor=actor, limit=AUDIT_PAGE + 1)
    )
    older = None
    if len(entries) > AUDIT_PAGE:
        entries = entries[:AUDIT_PAGE]
        query = {
            "before": entries[-1].id,
            **({"target": target} if target else {}),
            **({"actor": actor} if actor else {}),
        }
        older = "/desk/audit?" + urlencode(query)
    return _page(request, "audit.html", me, entries=entries, target=target or "", actor=actor or "", older=older)
