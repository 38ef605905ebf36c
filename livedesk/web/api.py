"""JSON API under /api: stories, their updates (cursor-paginated), topic pages, articles, search, outlets.

Every error, whatever its cause (404, 400 bad cursor, 422 bad parameter, 500), is one JSON object:
`{"error": {"code": str, "message": str}}` — `ErrorResponse` in the OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from livedesk.models import Carrier, LedgerEntry, StreamItem, StreamPage, Topic
from livedesk.models import Story as StoredStory
from livedesk.store import Store
from livedesk.store.web import SearchOrder
from livedesk.web.inputs import Cursor, Day, Id, Outlet, SearchText, Slug
from livedesk.web.pages import claims_graph, mentioning, shown_item, with_entity
from livedesk.web.render import UpdateView, outlet_names, update_views
from livedesk.web.search import run_search, search_filter, search_position
from livedesk.web.streams import position, story_stream, topic_stream


class ErrorDetail(BaseModel):
    code: str  # "bad_request" (e.g. a bad cursor), "not_found", "invalid_request", "internal_error"
    message: str


class ErrorResponse(BaseModel):
    error: ErrorDetail


class StoryOut(BaseModel):
    id: int
    title: str
    summary: str
    first_seen: datetime
    last_update: datetime
    article_count: int
    outlet_count: int
    url: str


class AppearanceOut(BaseModel):
    """One article carrying a claim."""

    article_id: int
    outlet: str
    url: str | None
    at: datetime
    time_basis: str  # published (the page's own time) | first_seen (the page gave none)
    original_id: int | None  # the syndication group's original, for a copy; copies count as one source
    drift: list[str]  # dropped_hedge | dropped_attribution: how this carrier's wording departs from the claim


class ClaimOut(BaseModel):
    id: int
    text: str
    attributed_to: str
    cue: str
    status: str  # confirmed | unconfirmed | denied | alleged | disputed
    status_set_by_editor: bool
    outlets: list[str]  # every outlet carrying the claim (domains), the first to report it first
    independent_outlets: int  # how many of them reported it on their own (copies of one original count once)
    first_reported_by: str | None  # domain
    first_reported_by_name: str | None  # its display name
    first_reported_at: datetime | None
    independent_sources: int  # carriers counted as independent: every copy of one original counts once
    first_appearance: AppearanceOut | None  # the earliest carrier, with what its time rests on
    appearances: list[AppearanceOut]  # every carrier, earliest first
    drifted: bool  # some carrier drops the claim's hedge or attribution


class StoryDetailOut(StoryOut):
    claims: list[ClaimOut]


class UpdateOut(BaseModel):
    id: int
    title: str
    url: str  # the original report
    permalink: str
    outlet: str  # the outlet's domain
    outlet_name: str  # its display name: configured, else the one it gives itself, else the domain
    byline: str | None
    published_at: datetime | None
    published_date_only: bool  # published_at is the start of a day the page gave without a time of day
    sort_at: datetime  # published, else first seen: the order of every stream
    excerpt: str
    story_id: int | None
    attributed_to: str | None
    first_reported_by: str | None  # the syndication group's original outlet, when others carried it too
    also_carried_by: list[str]
    views: int
    kind: str  # "article" (an outlet's report) or "post" (written at the desk)
    post_id: int | None
    pinned: bool
    key_event: bool
    body_html: str | None  # a post's sanitised HTML; null for articles and retracted posts
    version: int  # a post's; above 1 once corrected
    corrected_at: datetime | None
    correction_note: str | None
    retracted: bool  # the post shows as "This update was removed"
    retracted_reason: str | None


class UpdatesPage(BaseModel):
    items: list[UpdateOut]
    next_cursor: str | None  # pass as ?cursor= for older items; null at the end


class TopicQueryOut(BaseModel):
    keywords: str
    sources: list[str]
    story_ids: list[int]


class TopicOut(BaseModel):
    slug: str
    title: str
    query: TopicQueryOut
    url: str


class StoryMatchesOut(BaseModel):
    id: int
    matches: int  # updates of this story matching the search, this one included
    search: str  # the same search within this story: every one of them


class SearchHitOut(UpdateOut):
    snippet: str  # plain text; matches between U+E000 and U+E001
    story: StoryMatchesOut | None  # null for an update of no story, or in a search within one story


class SearchPage(BaseModel):
    items: list[SearchHitOut]
    next_cursor: str | None


class EntityOut(BaseModel):
    id: int
    name: str
    type: str  # PERSON, ORG, GPE, NORP, LOC, EVENT or FAC
    aliases: list[str]
    article_count: int
    story_ids: list[int]  # most mentions first
    url: str


SEARCH_SYNTAX = (
    'Words that must all occur (in any form: "flooding" finds "floods"); "a phrase"; a OR b; -word to exclude'
)
EntityQuery = Annotated[Id | None, Query(description="Only updates mentioning this entity id")]
CursorQuery = Annotated[Cursor | None, Query(description="`next_cursor` of the previous page")]


class OutletOut(BaseModel):
    site: str
    name: str  # display name: configured, else the one it gives itself, else the domain
    last_article_at: datetime | None


ERRORS = {status: {"model": ErrorResponse} for status in (400, 404, 410, 422, 500)}
router = APIRouter(prefix="/api", responses=ERRORS)  # type: ignore[arg-type]


def _store(request: Request) -> Store:
    return request.app.state.store


def _story(story: StoredStory) -> StoryOut:
    return StoryOut(
        id=story.id,
        title=story.title,
        summary=story.summary,
        first_seen=story.first_seen,
        last_update=story.last_update,
        article_count=story.article_count,
        outlet_count=story.outlet_count,
        url=f"/stories/{story.id}",
    )


def _claims(store: Store, entries: list[LedgerEntry]) -> list[ClaimOut]:
    name = outlet_names(store, [c.outlet for entry in entries for c in entry.carriers])
    return [_claim(entry, name) for entry in entries]


def _claim(entry: LedgerEntry, name: Callable[[str], str]) -> ClaimOut:
    first = entry.first_reported
    return ClaimOut(
        id=entry.id,
        text=entry.text,
        attributed_to=entry.attributed_to,
        cue=entry.cue,
        status=entry.status,
        status_set_by_editor=entry.editor_set,
        outlets=entry.outlets,
        independent_outlets=entry.independent_count,
        first_reported_by=first.outlet if first else None,
        first_reported_by_name=name(first.outlet) if first else None,
        first_reported_at=first.first_seen if first else None,
        independent_sources=entry.independent_sources,
        first_appearance=_appearance(first) if first else None,
        appearances=[_appearance(c) for c in entry.carriers],
        drifted=bool(entry.drifted),
    )


def _appearance(c: Carrier) -> AppearanceOut:
    return AppearanceOut(
        article_id=c.article_id,
        outlet=c.outlet,
        url=c.url,
        at=c.first_seen,
        time_basis=c.time_basis,
        original_id=c.original_id,
        drift=[str(d) for d in c.drift],
    )


def _update(u: UpdateView) -> UpdateOut:
    others = [] if u.group is None else [m.site for m in u.group.copies]
    return UpdateOut(
        id=u.item.id,
        title=u.item.title,
        url=u.item.url,
        permalink=u.permalink,
        outlet=u.outlet,
        outlet_name=u.outlet_name,
        byline=u.item.byline,
        published_at=u.item.published_at,
        published_date_only=u.item.date_only,
        sort_at=u.item.at,
        excerpt=u.excerpt,
        story_id=u.item.story_id,
        attributed_to=u.item.attributed_to,
        first_reported_by=None if u.group is None else u.group.original.site,
        also_carried_by=list(dict.fromkeys(others)),
        views=u.views,
        kind=u.item.kind,
        post_id=u.item.post_id,
        pinned=u.item.pinned,
        key_event=u.item.key_event,
        body_html=None if u.item.retracted else u.item.body_html,
        version=u.item.version,
        corrected_at=u.item.corrected_at,
        correction_note=u.item.correction_note,
        retracted=u.item.retracted,
        retracted_reason=u.item.retracted_reason,
    )


def _json(model: BaseModel) -> Response:
    """The model serialised once, by pydantic: FastAPI passes a Response through without validating the model
    again (the route's `response_model` still documents it)."""
    return Response(model.model_dump_json(), media_type="application/json")


def _page(store: Store, page: StreamPage) -> UpdatesPage:
    return UpdatesPage(
        items=[_update(u) for u in update_views(store, page.items)],
        next_cursor=page.next.encode() if page.next else None,
    )


def _topic(topic: Topic) -> TopicOut:
    query = TopicQueryOut(
        keywords=topic.query.keywords, sources=list(topic.query.sources), story_ids=list(topic.query.story_ids)
    )
    return TopicOut(slug=topic.slug, title=topic.title, query=query, url=f"/live/{topic.slug}")


@router.get("/stories")
def list_stories(request: Request, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[StoryOut]:
    """Stories, the most recently updated first."""
    return [_story(s) for s in _store(request).list_stories(limit=limit)]


@router.get("/stories/{story_id}")
def get_story(request: Request, story_id: Id) -> StoryDetailOut:
    store = _store(request)
    story = store.get_story(story_id)
    if story is None:
        raise HTTPException(404, f"No story {story_id}.")
    claims = _claims(store, store.story_claims(story_id))
    return StoryDetailOut(**_story(story).model_dump(), claims=claims)


@router.get("/stories/{story_id}/claims")
def story_claims(request: Request, story_id: Id) -> list[ClaimOut]:
    """The story's claim ledger: who claims what, how solid it is, who carries it, in order of first report."""
    store = _store(request)
    if store.get_story(story_id) is None:
        raise HTTPException(404, f"No story {story_id}.")
    return _claims(store, store.story_claims(story_id))


@router.get("/stories/{story_id}/claims.jsonld")
def story_claims_jsonld(request: Request, story_id: Id) -> JSONResponse:
    """The story's claims as schema.org `Claim`s (with `appearance`/`firstAppearance`), and a `ClaimReview` for
    each claim whose status an editor set: JSON-LD, as the story page embeds it."""
    store = _store(request)
    if store.get_story(story_id) is None:
        raise HTTPException(404, f"No story {story_id}.")
    graph = claims_graph(f"/stories/{story_id}", store.story_claims(story_id), request.base_url)
    return JSONResponse(graph, media_type="application/ld+json")


# As the pages show them: one update per syndication group (a copy is on its original's `also_carried_by`);
# `copies=true` lists every article.
CopiesQuery = Annotated[bool, Query(description="list copies as updates of their own, not only on their original")]


@router.get("/stories/{story_id}/updates", response_model=UpdatesPage)
async def story_updates(
    request: Request, story_id: Id, cursor: CursorQuery = None, entity: EntityQuery = None, copies: CopiesQuery = False
) -> Response:
    """The story's updates, newest first, 20 a page, one per syndication group as the page shows them; follow
    `next_cursor` for older ones."""
    store = _store(request)

    def read() -> Response:
        stream = mentioning(story_stream(store, story_id), entity)
        page = store.page(stream.selection, before=position(cursor), one_per_group=not copies)
        return _json(_page(store, page))

    # The hottest endpoint: a story's page is a few index lookups (~2 ms), cheaper on the event loop than a hop
    # to the thread pool and back. An entity filter may read many mentions: that goes to the pool.
    return read() if entity is None else await run_in_threadpool(read)


@router.get("/topics")
def list_topics(request: Request) -> list[TopicOut]:
    return [_topic(t) for t in _store(request).list_topics()]


@router.get("/topics/{slug}")
def get_topic(request: Request, slug: Slug) -> TopicOut:
    topic = _store(request).get_topic(slug)
    if topic is None:
        raise HTTPException(404, f"No topic page {slug!r}.")
    return _topic(topic)


@router.get("/topics/{slug}/updates", response_model=UpdatesPage)
def topic_updates(
    request: Request, slug: Slug, cursor: CursorQuery = None, entity: EntityQuery = None, copies: CopiesQuery = False
) -> Response:
    """The topic's updates, newest first, one per syndication group as its page shows them."""
    store = _store(request)
    stream = mentioning(topic_stream(store, slug), entity)
    return _json(_page(store, store.page(stream.selection, before=position(cursor), one_per_group=not copies)))


@router.get("/articles/{article_id}", response_model=UpdateOut)
def get_article(request: Request, article_id: Id) -> Response:
    store = _store(request)
    return _json(_update(update_views(store, [shown_item(store, article_id)])[0]))


@router.get("/search", responses={503: {"model": ErrorResponse}})
async def search(
    request: Request,
    q: Annotated[SearchText, Query(min_length=1, description=SEARCH_SYNTAX)],
    outlet: Annotated[Outlet | None, Query(description="Site domain, e.g. cnn.com")] = None,
    since: Annotated[Day | None, Query(description="First day (UTC), included")] = None,
    until: Annotated[Day | None, Query(description="Last day (UTC), included")] = None,
    story: Annotated[Id | None, Query()] = None,
    entity: EntityQuery = None,
    sort: Annotated[SearchOrder, Query(description="The best matches first, or the newest")] = "relevance",
    by_story: Annotated[bool, Query(description="One update per story, its best (or newest) match")] = False,
    cursor: CursorQuery = None,
) -> SearchPage:
    """Updates matching `q`, the most relevant first (`sort=date`: the newest first), with a highlighted snippet
    each. Every matching update is listed; each says in `story` how many updates of its story match, and where
    to list them (`by_story=true` lists only the first of each story, as the search page does)."""
    store = _store(request)
    wanted = with_entity(search_filter(q, outlet, since, until, story), entity)
    grouped = by_story and story is None
    found = await run_search(request, store, wanted, q, search_position(cursor, sort), order=sort, by_story=grouped)

    def within(item: StreamItem) -> StoryMatchesOut | None:
        if item.story_id is None or story is not None:
            return None
        url = request.url.remove_query_params(["cursor", "by_story"]).include_query_params(story=item.story_id)
        matches = found.story_matches[item.id]
        return StoryMatchesOut(id=item.story_id, matches=matches, search=f"{url.path}?{url.query}")

    def page() -> SearchPage:
        items = [
            SearchHitOut(
                **_update(u).model_dump(),
                snippet=found.snippets.get(u.item.id, u.excerpt),
                story=within(u.item),
            )
            for u in update_views(store, found.page.items)
        ]
        return SearchPage(items=items, next_cursor=found.page.next.encode() if found.page.next else None)

    return await run_in_threadpool(page)


@router.get("/entities/{entity_id}")
def get_entity(request: Request, entity_id: Id) -> EntityOut:
    """A named entity: its other names and the stories mentioning it; its updates via `entity=` filters."""
    entity = _store(request).get_entity(entity_id)
    if entity is None:
        raise HTTPException(404, f"No entity {entity_id}.")
    return EntityOut(
        id=entity.id,
        name=entity.name,
        type=entity.type,
        aliases=list(entity.aliases),
        article_count=entity.article_count,
        story_ids=list(entity.story_ids),
        url=f"/entities/{entity.id}",
    )


@router.get("/outlets")
def outlets(request: Request) -> list[OutletOut]:
    store = _store(request)
    found = store.outlets()
    name = outlet_names(store, [o.site for o in found])
    return [OutletOut(site=o.site, name=name(o.site), last_article_at=o.last_at) for o in found]
