"""The desk's JSON API under /api: posts, decisions about items, story, claim and source actions, the audit log.

Every operation needs `Authorization: Bearer TOKEN` (`livedesk tokens create`; the `bearer` security scheme of the
OpenAPI document) and acts as the token's user through the same service layer as the desk pages, which decides
what the user's role allows. Errors have the API's one shape, `{"error": {"code", "message"}}`: 401 without a
valid token, 403 for a role that may not, 404 for an unknown id, 409 for a post in a state that does not allow
it, 422 for a body that is not acceptable.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, TypeVar

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request, Security
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPBearer
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from starlette.concurrency import run_in_threadpool

from livedesk.desk import claims as desk_claims
from livedesk.desk import posts, story_text
from livedesk.desk import sources as desk_sources
from livedesk.desk.posts import NotAllowedError, PostDraft, PostStateError
from livedesk.models import Actor, AuditEntry, ClaimStatus, Post, Role, Source, SourceKind, User
from livedesk.publish import Bus
from livedesk.store import Store
from livedesk.store.posts import Placement
from livedesk.web.api import ErrorResponse, StoryOut
from livedesk.web.api import _story as story_out
from livedesk.web.auth import api_user
from livedesk.web.desk import story_edits
from livedesk.web.inputs import FIRST_DAY, LAST_DAY, Id

MAX_TOPICS = 20  # topics one post may be attached to
MAX_SPLIT = 500  # articles one split may move
MAX_URL_CHARS = 2000
MAX_FILTER_CHARS = 100
MAX_AUDIT_PAGE = 200

bearer = HTTPBearer(
    scheme_name="bearer",
    description="An API token from `livedesk tokens create NAME`: `Authorization: Bearer TOKEN`.",
    auto_error=False,  # livedesk.web.auth.api_user checks it, and answers in the API's error shape
)
ERRORS = {status: {"model": ErrorResponse} for status in (401, 403, 404, 409, 422, 500)}
router = APIRouter(prefix="/api", tags=["desk"], responses=ERRORS, dependencies=[Security(bearer)])  # type: ignore[arg-type]

Contributor = Annotated[User, Depends(api_user(Role.CONTRIBUTOR))]
Editor = Annotated[User, Depends(api_user(Role.EDITOR))]

_T = TypeVar("_T")


def _utc(at: datetime | None) -> datetime | None:
    """A time without an offset is UTC; one outside the years a desk schedules in is refused."""
    if at is None:
        return None
    at = (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).astimezone(UTC)
    if not FIRST_DAY <= at.date() <= LAST_DAY:
        raise ValueError(f"a time between {FIRST_DAY.year} and {LAST_DAY.year}")
    return at


When = Annotated[datetime | None, AfterValidator(_utc)]
Title = Annotated[str, StringConstraints(max_length=posts.MAX_TITLE)]
Markdown = Annotated[str, StringConstraints(max_length=posts.MAX_BODY)]
Note = Annotated[str, StringConstraints(max_length=posts.MAX_NOTE)]
FilterText = Annotated[str | None, Query(max_length=MAX_FILTER_CHARS, pattern=r"^[^\x00-\x1f\x7f]*$")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PostIn(_Body):
    title: Title | None = None
    body: Markdown
    pinned: bool = False
    key_event: bool = False
    publish_at: When = Field(None, description="Schedule it (editors); a contributor's post waits for approval")
    topic_ids: list[Id] = Field(default_factory=list, max_length=MAX_TOPICS, description="Also on these topics")


class PostPatch(_Body):
    """Only the fields sent change; a published post is corrected (its earlier version kept)."""

    title: Title | None = None
    body: Markdown | None = None
    correction_note: Note | None = None


class Reason(_Body):
    reason: Note


class ApproveIn(_Body):
    publish_at: When = None


class PostOut(BaseModel):
    id: int
    status: str  # draft | scheduled | published | retracted
    title: str | None
    body: str  # Markdown, as written
    html: str  # as the pages show it (sanitised)
    author: str
    story_ids: list[int]
    topic_ids: list[int]
    article_ids: list[int]  # its items on the pages (one per story or topic), once published
    pinned: bool
    key_event: bool
    publish_at: datetime | None
    version: int
    correction_note: str | None
    corrected_at: datetime | None
    retracted_reason: str | None
    retracted_at: datetime | None
    approved_by: str | None
    created_at: datetime
    updated_at: datetime
    desk_url: str


class ItemOut(BaseModel):
    id: int
    story_id: int | None
    topic_id: int | None
    pinned: bool
    key_event: bool
    hidden_reason: str | None


class MergeIn(_Body):
    absorb: Id


class SplitIn(_Body):
    article_ids: list[Id] = Field(min_length=1, max_length=MAX_SPLIT)


class SplitOut(BaseModel):
    story: StoryOut
    new_story: StoryOut


class StoryPatch(_Body):
    """A title or summary readers see instead of the computed one; "" gives the computed one back."""

    title: Annotated[str, StringConstraints(max_length=story_text.MAX_TITLE)] | None = None
    summary: Annotated[str, StringConstraints(max_length=story_text.MAX_SUMMARY)] | None = None


class ClaimStatusIn(_Body):
    status: ClaimStatus
    reason: Annotated[str, StringConstraints(min_length=1, max_length=desk_claims.MAX_REASON)]


class StatusChangeOut(BaseModel):
    claim_id: int
    status: str
    previous: str
    editor: str
    reason: str
    at: datetime


class SourceIn(_Body):
    url: Annotated[str, StringConstraints(max_length=MAX_URL_CHARS)]
    kind: SourceKind = SourceKind.FEED


class SourceOut(BaseModel):
    id: int
    url: str
    kind: str
    title: str | None
    disabled: bool
    disabled_reason: str | None
    error_count: int
    last_error: str | None
    last_polled_at: datetime | None
    next_poll_at: datetime | None


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    actor_id: int | None
    action: str
    target: str
    before: dict[str, object] | None
    after: dict[str, object] | None


class AuditPage(BaseModel):
    items: list[AuditOut]
    next_before: int | None  # pass as ?before= for older entries; null at the end


# helpers


def _store(request: Request) -> Store:
    return request.app.state.store


def _bus(request: Request) -> Bus:
    return request.app.state.bus


@contextmanager
def _refusals() -> Iterator[None]:
    """The service layer's refusals as the API's errors."""
    try:
        yield
    except NotAllowedError as err:
        raise HTTPException(403, str(err)) from None
    except PostStateError as err:
        raise HTTPException(409, str(err)) from None
    except LookupError as err:
        raise HTTPException(404, _not_found(err)) from None
    except ValueError as err:
        raise HTTPException(422, str(err)) from None


async def _call(operation: Callable[[], _T]) -> _T:
    """Run a service-layer operation off the event loop."""
    with _refusals():
        return await run_in_threadpool(operation)


async def _announced(operation: Awaitable[_T]) -> _T:
    """Await a service-layer operation that announces its change itself."""
    with _refusals():
        return await operation


def _not_found(err: LookupError) -> str:
    text = str(err).strip("'\"")
    return text if not text.isdigit() else f"no {type(err).__name__.removesuffix('NotFoundError').lower()} {text}"


async def _post_out(request: Request, post: Post) -> PostOut:
    placements = await run_in_threadpool(_store(request).post_placements, post.id)
    return PostOut(
        id=post.id,
        status=str(post.status),
        title=post.title,
        body=post.body,
        html=posts.render_markdown(post.body).html,
        author=post.author_name,
        story_ids=list(post.story_ids),
        topic_ids=list(post.topic_ids),
        article_ids=[p.article_id for p in placements],
        pinned=post.pinned,
        key_event=post.key_event,
        publish_at=post.publish_at,
        version=post.version,
        correction_note=post.correction_note,
        corrected_at=post.corrected_at,
        retracted_reason=post.retracted_reason,
        retracted_at=post.retracted_at,
        approved_by=post.approved_by,
        created_at=post.created_at,
        updated_at=post.updated_at,
        desk_url=f"/desk/posts/{post.id}",
    )


async def _posted(request: Request, done: tuple[Post, list[Placement]]) -> PostOut:
    post, placements = done
    await posts.announce(_store(request), _bus(request), placements)
    return await _post_out(request, post)


async def _item_out(request: Request, placement: Placement) -> ItemOut:
    await posts.announce(_store(request), _bus(request), [placement])
    item = await run_in_threadpool(_store(request).stream_item, placement.article_id)
    if item is None:
        raise HTTPException(404, f"no item {placement.article_id}")
    return ItemOut(
        id=item.id,
        story_id=placement.story_id,
        topic_id=placement.topic_id,
        pinned=item.pinned,
        key_event=item.key_event,
        hidden_reason=item.hidden_reason,
    )


def _source_out(source: Source) -> SourceOut:
    assert source.id is not None  # a stored source
    return SourceOut(
        id=source.id,
        url=source.url,
        kind=str(source.kind),
        title=source.title,
        disabled=source.disabled,
        disabled_reason=source.disabled_reason,
        error_count=source.error_count,
        last_error=source.last_error,
        last_polled_at=source.last_polled_at,
        next_poll_at=source.next_poll_at,
    )


async def _story_out(request: Request, story_id: int) -> StoryOut:
    story = await run_in_threadpool(_store(request).get_story, story_id)
    if story is None:
        raise HTTPException(404, f"no story {story_id}")
    return story_out(story)


# posts


@router.post("/stories/{story_id}/posts", status_code=201)
async def create_post(request: Request, story_id: Id, post: PostIn, me: Contributor) -> PostOut:
    """Post to a story (and to `topic_ids`): live now, at `publish_at`, or — a contributor's — as a draft for an
    editor to approve."""
    draft = PostDraft(
        body=post.body,
        story_ids=(story_id,),
        topic_ids=tuple(post.topic_ids),
        title=post.title,
        pinned=post.pinned,
        key_event=post.key_event,
        publish_at=post.publish_at,
    )
    store = _store(request)
    return await _posted(request, await _call(lambda: posts.create_post(store, Actor.for_user(me), draft)))


@router.get("/posts/{post_id}")
async def get_post(request: Request, post_id: Id, me: Contributor) -> PostOut:
    post = await run_in_threadpool(_store(request).get_post, post_id)
    if post is None:
        raise HTTPException(404, f"no post {post_id}")
    return await _post_out(request, post)


@router.patch("/posts/{post_id}")
async def edit_post(request: Request, post_id: Id, patch: PostPatch, me: Contributor) -> PostOut:
    """Edit a draft or scheduled post, or correct a published one (the pages show "Updated" with the note).
    Publishes nothing."""
    store = _store(request)

    def edit() -> tuple[Post, list[Placement]]:
        post = store.get_post(post_id)
        if post is None:
            raise posts.PostNotFoundError(post_id)
        sent = patch.model_fields_set
        draft = PostDraft(
            body=patch.body if patch.body is not None else post.body,
            title=patch.title if "title" in sent else post.title,
        )
        return posts.correct_post(store, Actor.for_user(me), post_id, draft, note=patch.correction_note)

    return await _posted(request, await _call(edit))


@router.delete("/posts/{post_id}")
async def retract_post(
    request: Request,
    post_id: Id,
    me: Contributor,
    body: Annotated[Reason | None, Body()] = None,
    reason: Annotated[str | None, Query(max_length=posts.MAX_NOTE)] = None,
) -> PostOut:
    """Retract a post (a contributor: withdraw their own draft). It is never deleted: its pages keep "This update
    was removed" with the reason, given in the body or as `?reason=`."""
    why = body.reason if body is not None else reason or ""
    store = _store(request)
    return await _posted(request, await _call(lambda: posts.retract_post(store, Actor.for_user(me), post_id, why)))


@router.post("/posts/{post_id}/approve")
async def approve_post(
    request: Request, post_id: Id, me: Editor, approval: Annotated[ApproveIn | None, Body()] = None
) -> PostOut:
    """Approve a draft: live now, or at `publish_at`."""
    at = approval.publish_at if approval is not None else None
    store = _store(request)
    return await _posted(
        request, await _call(lambda: posts.approve_post(store, Actor.for_user(me), post_id, publish_at=at))
    )


# items on the pages


async def _pin(request: Request, article_id: int, me: User, on: bool) -> ItemOut:
    store = _store(request)
    return await _item_out(request, await _call(lambda: posts.set_pinned(store, Actor.for_user(me), article_id, on)))


async def _key_event(request: Request, article_id: int, me: User, on: bool) -> ItemOut:
    store = _store(request)
    placement = await _call(lambda: posts.set_key_event(store, Actor.for_user(me), article_id, on))
    return await _item_out(request, placement)


async def _hide(request: Request, article_id: int, me: User, reason: str | None) -> ItemOut:
    store = _store(request)
    return await _item_out(request, await _call(lambda: posts.hide_item(store, Actor.for_user(me), article_id, reason)))


@router.post("/items/{article_id}/pin")
async def pin_item(request: Request, article_id: Id, me: Editor) -> ItemOut:
    """Pin an article or post to the top of its pages."""
    return await _pin(request, article_id, me, True)


@router.delete("/items/{article_id}/pin")
async def unpin_item(request: Request, article_id: Id, me: Editor) -> ItemOut:
    return await _pin(request, article_id, me, False)


@router.post("/items/{article_id}/key-event")
async def mark_key_event(request: Request, article_id: Id, me: Editor) -> ItemOut:
    """List the item among the page's key events."""
    return await _key_event(request, article_id, me, True)


@router.delete("/items/{article_id}/key-event")
async def unmark_key_event(request: Request, article_id: Id, me: Editor) -> ItemOut:
    return await _key_event(request, article_id, me, False)


@router.post("/items/{article_id}/hide")
async def hide_item(request: Request, article_id: Id, hiding: Reason, me: Editor) -> ItemOut:
    """Hide an item from every page, with the reason (reversible)."""
    return await _hide(request, article_id, me, hiding.reason)


@router.delete("/items/{article_id}/hide")
async def unhide_item(request: Request, article_id: Id, me: Editor) -> ItemOut:
    return await _hide(request, article_id, me, None)


# stories and claims


@router.patch("/stories/{story_id}")
async def edit_story(request: Request, story_id: Id, patch: StoryPatch, me: Editor) -> StoryOut:
    """Set the title and/or summary readers see."""
    story = await _announced(
        story_text.edit(
            _store(request), _bus(request), story_id, title=patch.title, summary=patch.summary, actor=Actor.for_user(me)
        )
    )
    return story_out(story)


@router.post("/stories/{story_id}/merge")
async def merge_story(request: Request, story_id: Id, merge: MergeIn, me: Editor) -> StoryOut:
    """Move every article of story `absorb` into this one; `absorb` is deleted."""
    await _announced(
        story_edits(request).merge(_store(request), _bus(request), story_id, merge.absorb, actor=Actor.for_user(me))
    )
    return await _story_out(request, story_id)


@router.post("/stories/{story_id}/split")
async def split_story(request: Request, story_id: Id, split: SplitIn, me: Editor) -> SplitOut:
    """Move the given articles of this story into a new story."""
    new = await _announced(
        story_edits(request).split(
            _store(request), _bus(request), story_id, split.article_ids, actor=Actor.for_user(me)
        )
    )
    return SplitOut(story=await _story_out(request, story_id), new_story=await _story_out(request, new))


@router.put("/claims/{claim_id}/status")
async def set_claim_status(request: Request, claim_id: Id, decision: ClaimStatusIn, me: Editor) -> StatusChangeOut:
    """An editor's decision on a claim's status, kept with who, when and why."""
    change = await _announced(
        desk_claims.set_claim_status(
            _store(request),
            _bus(request),
            claim_id,
            decision.status,
            editor=me.name,
            reason=decision.reason,
            actor=Actor.for_user(me),
        )
    )
    return StatusChangeOut(
        claim_id=change.claim_id,
        status=str(change.status),
        previous=str(change.previous),
        editor=change.editor,
        reason=change.reason,
        at=change.at,
    )


# sources


@router.post(
    "/sources",
    status_code=201,
    response_model=SourceOut,
    responses={200: {"model": SourceOut, "description": "Already a source"}},
)
async def add_source(request: Request, source: SourceIn, me: Editor) -> Response:
    """Add a source (the same URL checks as `livedesk sources add`: http(s), no private addresses); 201 when new,
    200 with the existing one."""
    store = _store(request)
    added, created = await _call(
        lambda: desk_sources.add_source(store, source.url, source.kind, actor=Actor.for_user(me))
    )
    return JSONResponse(jsonable_encoder(_source_out(added)), status_code=201 if created else 200)


@router.post("/sources/{source_id}/enable")
async def enable_source(request: Request, source_id: Id, me: Editor) -> SourceOut:
    store = _store(request)
    return _source_out(await _call(lambda: desk_sources.enable_source(store, source_id, actor=Actor.for_user(me))))


@router.post("/sources/{source_id}/disable")
async def disable_source(request: Request, source_id: Id, disabling: Reason, me: Editor) -> SourceOut:
    store = _store(request)
    return _source_out(
        await _call(lambda: desk_sources.disable_source(store, source_id, disabling.reason, actor=Actor.for_user(me)))
    )


@router.post("/sources/{source_id}/poll")
async def poll_source(request: Request, source_id: Id, me: Editor) -> SourceOut:
    """Make the source due now: the running poller fetches it on its next round."""
    store = _store(request)
    return _source_out(await _call(lambda: desk_sources.poll_now(store, source_id, actor=Actor.for_user(me))))


# the audit log


@router.get("/audit")
async def audit_log(
    request: Request,
    me: Editor,
    target: FilterText = None,
    actor: FilterText = None,
    before: Annotated[Id | None, Query(description="`next_before` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_AUDIT_PAGE)] = 50,
) -> AuditPage:
    """Every desk action with its actor, time and before/after, newest first."""
    store = _store(request)
    entries = await run_in_threadpool(
        lambda: store.audit_entries(before_id=before, target=target, actor=actor, limit=limit + 1)
    )
    more = len(entries) > limit
    entries = entries[:limit]
    return AuditPage(items=[_audit_out(e) for e in entries], next_before=entries[-1].id if more and entries else None)


def _audit_out(entry: AuditEntry) -> AuditOut:
    return AuditOut(
        id=entry.id,
        at=entry.at,
        actor=entry.actor_name,
        actor_id=entry.actor_id,
        action=entry.action,
        target=entry.target,
        before=entry.before,
        after=entry.after,
    )
