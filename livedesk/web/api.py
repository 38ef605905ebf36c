"""JSON API under /api: stories, their updates (cursor-paginated), topic pages, articles, search, outlets.

Every error, whatever its cause (404, 400 bad cursor, 422 bad parameter, 500), is one JSON object:
`{"error": {"code": str, "message": str}}` — `ErrorResponse` in the OpenAPI document.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel

from livedesk.store import Store
from livedesk.store.stories import Story as StoredStory
from livedesk.store.web import Page, Topic
from livedesk.web.pages import search_filter
from livedesk.web.render import UpdateView, update_views
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


class UpdateOut(BaseModel):
    id: int
    title: str
    url: str  # the original report
    permalink: str
    outlet: str
    byline: str | None
    published_at: datetime | None
    sort_at: datetime  # published, else first seen: the order of every stream
    excerpt: str
    story_id: int | None
    attributed_to: str | None
    first_reported_by: str | None  # the syndication group's original outlet, when others carried it too
    also_carried_by: list[str]
    views: int


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


class SearchHitOut(UpdateOut):
    snippet: str  # plain text; matches between U+E000 and U+E001


class SearchPage(BaseModel):
    items: list[SearchHitOut]
    next_cursor: str | None


class OutletOut(BaseModel):
    site: str
    last_article_at: datetime | None


ERRORS = {status: {"model": ErrorResponse} for status in (400, 404, 422, 500)}
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


def _update(u: UpdateView) -> UpdateOut:
    others = [] if u.group is None else [m.site for m in u.group.copies]
    return UpdateOut(
        id=u.item.id,
        title=u.item.title,
        url=u.item.url,
        permalink=f"/articles/{u.item.id}",
        outlet=u.outlet,
        byline=u.item.byline,
        published_at=u.item.published_at,
        sort_at=u.item.at,
        excerpt=u.excerpt,
        story_id=u.item.story_id,
        attributed_to=u.item.attributed_to,
        first_reported_by=None if u.group is None else u.group.original.site,
        also_carried_by=list(dict.fromkeys(others)),
        views=u.views,
    )


def _page(store: Store, page: Page) -> UpdatesPage:
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
def get_story(request: Request, story_id: int) -> StoryOut:
    story = _store(request).get_story(story_id)
    if story is None:
        raise HTTPException(404, f"No story {story_id}.")
    return _story(story)


@router.get("/stories/{story_id}/updates")
def story_updates(request: Request, story_id: int, cursor: str | None = None) -> UpdatesPage:
    """The story's updates, newest first, 20 a page; follow `next_cursor` for older ones."""
    store = _store(request)
    stream = story_stream(store, story_id)
    return _page(store, store.page(stream.selection, before=position(cursor)))


@router.get("/topics")
def list_topics(request: Request) -> list[TopicOut]:
    return [_topic(t) for t in _store(request).list_topics()]


@router.get("/topics/{slug}")
def get_topic(request: Request, slug: str) -> TopicOut:
    topic = _store(request).get_topic(slug)
    if topic is None:
        raise HTTPException(404, f"No topic page {slug!r}.")
    return _topic(topic)


@router.get("/topics/{slug}/updates")
def topic_updates(request: Request, slug: str, cursor: str | None = None) -> UpdatesPage:
    store = _store(request)
    stream = topic_stream(store, slug)
    return _page(store, store.page(stream.selection, before=position(cursor)))


@router.get("/articles/{article_id}")
def get_article(request: Request, article_id: int) -> UpdateOut:
    store = _store(request)
    item = store.stream_item(article_id)
    if item is None:
        raise HTTPException(404, f"No article {article_id}.")
    return _update(update_views(store, [item])[0])


@router.get("/search")
def search(
    request: Request,
    q: Annotated[str, Query(min_length=1, description="Words that must all occur")],
    outlet: Annotated[str | None, Query(description="Site domain, e.g. cnn.com")] = None,
    since: Annotated[date | None, Query(description="First day (UTC), included")] = None,
    until: Annotated[date | None, Query(description="Last day (UTC), included")] = None,
    story: int | None = None,
    cursor: str | None = None,
) -> SearchPage:
    """Articles holding every word of `q`, newest first, with a highlighted snippet each."""
    store = _store(request)
    page = store.page(search_filter(q, outlet, since, until, story), before=position(cursor))
    snippets = store.snippets(q, [item.id for item in page.items])
    items = [
        SearchHitOut(**_update(u).model_dump(), snippet=snippets.get(u.item.id, u.excerpt))
        for u in update_views(store, page.items)
    ]
    return SearchPage(items=items, next_cursor=page.next.encode() if page.next else None)


@router.get("/outlets")
def outlets(request: Request) -> list[OutletOut]:
    return [OutletOut(site=o.site, last_article_at=o.last_at) for o in _store(request).outlets()]
