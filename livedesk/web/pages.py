"""HTML pages: story and topic live pages (with their SSE streams), article permalink, search.

Every page works without JavaScript: "Older updates" is a plain link to the next page. With JavaScript,
static/live.js fetches the same URL with `fragment=1` and appends the items.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import URL
from starlette.responses import StreamingResponse

from livedesk.models import (
    UNATTRIBUTED,
    Carrier,
    EntityFilter,
    LedgerEntry,
    PostStatus,
    Selection,
    StreamItem,
    TimeBasis,
    kind_in_words,
)
from livedesk.store import Store
from livedesk.store.web import SearchOrder
from livedesk.web.inputs import AfterId, Cursor, FormDay, FormId, Id, Outlet, SearchText, Slug, last_event_id
from livedesk.web.live import event_stream
from livedesk.web.render import (
    LIVE_WINDOW,
    TOP_CLAIMS,
    UpdateView,
    first_reports,
    is_live,
    json_ld,
    outlet_names,
    significant_claims,
    update_views,
)
from livedesk.web.search import run_search, search_filter, search_position
from livedesk.web.streams import StreamInfo, position, story_stream, topic_stream

router = APIRouter(include_in_schema=False)

# What a reader sees of an item the desk hid from the pages (410 Gone): that it was removed on purpose, not why
# (the reason is the desk's note, for editors).
REMOVED_BY_DESK = "This item was removed from this site's pages by the desk."


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """`template` rendered with `context`, and `csrf_token`: the signed-in session's, once livedesk.web.auth has
    looked the session up for this request ("" otherwise), for the forms of desk pages."""
    context.setdefault("csrf_token", getattr(request.state, "csrf_token", ""))
    html = request.app.state.templates.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code)


def _store(request: Request) -> Store:
    return request.app.state.store


@router.get("/stories/{story_id}")
def story_page(
    request: Request, story_id: Id, cursor: Cursor | None = None, fragment: bool = False, entity: Id | None = None
) -> HTMLResponse:
    store = _store(request)
    stream = mentioning(story_stream(store, story_id), entity)
    return _stream_page(request, stream, cursor, fragment, claims=store.story_claims(story_id))


@router.get("/live/{slug}")
def topic_page(
    request: Request, slug: Slug, cursor: Cursor | None = None, fragment: bool = False, entity: Id | None = None
) -> HTMLResponse:
    return _stream_page(request, mentioning(topic_stream(_store(request), slug), entity), cursor, fragment)


def mentioning(stream: StreamInfo, entity: int | None) -> StreamInfo:
    """The stream narrowed to articles mentioning `entity` (an `?entity=` filter), or as it is."""
    return stream if entity is None else replace(stream, selection=with_entity(stream.selection, entity))


def with_entity(selection: Selection, entity: int | None) -> Selection:
    return selection if entity is None else EntityFilter(entity, selection)


def _stream_page(
    request: Request, stream: StreamInfo, cursor: str | None, fragment: bool, *, claims: list[LedgerEntry] | None = None
) -> HTMLResponse:
    store = _store(request)
    # Read before the page: whatever arrives after this reaches the reader through the events stream.
    last_id = store.last_revision()
    # One card per syndication group: copies are credited on their original's card.
    page = store.page(stream.selection, before=position(cursor), one_per_group=True)
    updates = update_views(store, page.items)
    # Other query parameters (an entity filter) carry over to the next page.
    following = request.url.remove_query_params("fragment")
    next_url = f"{stream.path}?{following.include_query_params(cursor=page.next.encode()).query}" if page.next else None
    chips = store.entities_of(item.id for item in page.items)
    if fragment:
        return render(request, "_updates.html", updates=updates, next_url=next_url, entity_chips=chips)
    now = datetime.now(UTC)
    pinned = store.pinned_items(stream.selection)
    marked = store.key_events(stream.selection)
    # Without the desk's key events, the reports that first carried each new claim stand for them.
    automatic = not marked and bool(claims)
    if automatic:
        chosen = (store.stream_item(report, stream.selection) for report in first_reports(claims or []))
        marked = [item for item in chosen if item is not None and item.hidden_reason is None]
    highlights = update_views(store, [*pinned, *marked])
    ledger = significant_claims(claims) if claims is not None else None
    return render(
        request,
        "stream.html",
        pinned=highlights[: len(pinned)],
        key_events=highlights[len(pinned) :],
        automatic_key_events=automatic,
        kind=stream.kind,
        title=stream.title,
        summary=stream.summary,
        outlets=stream.outlets,
        last_update=stream.last_update,
        live=is_live(stream.last_update, now),
        live_window_seconds=int(LIVE_WINDOW.total_seconds()),
        updates=updates,
        next_url=next_url,
        events_url=f"{stream.path}/events?after={last_id}",
        feeds={"atom": f"{stream.path}/feed.atom", "json": f"{stream.path}/feed.json"},
        jsonld=json_ld(live_blog_posting(stream, updates, request.base_url, now, claims or [])),
        entity_chips=chips,
        claims=ledger,
        top_claims=TOP_CLAIMS,
        outlet_name=outlet_names(store, [c.outlet for entry in ledger or [] for c in entry.carriers]),
    )


def live_blog_posting(
    stream: StreamInfo, updates: list[UpdateView], base: URL, now: datetime, claims: Sequence[LedgerEntry] = ()
) -> dict[str, Any]:
    """schema.org LiveBlogPosting for a live page, its updates as BlogPostings crediting each outlet; a story's
    claims as its parts (`claim_nodes`)."""
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "LiveBlogPosting",
        "headline": stream.title,
        "url": str(base.replace(path=stream.path)),
        "liveBlogUpdate": [blog_posting(u, base) for u in updates],
    }
    if claims:
        data["hasPart"] = claim_nodes(stream.path, claims, base)
    if stream.summary:
        data["description"] = stream.summary
    if stream.first_seen:
        data["coverageStartTime"] = stream.first_seen.isoformat()
    if stream.last_update:
        data["dateModified"] = stream.last_update.isoformat()
    return data


def claims_graph(path: str, claims: Sequence[LedgerEntry], base: URL) -> dict[str, Any]:
    """The claims of the story at `path` as a JSON-LD document of their own (the API's)."""
    return {"@context": "https://schema.org", "@graph": claim_nodes(path, claims, base)}


def claim_nodes(path: str, claims: Sequence[LedgerEntry], base: URL) -> list[dict[str, Any]]:
    """Each claim as a schema.org Claim: its text, who asserts it, every article carrying it (`appearance`) and
    the earliest (`firstAppearance`); a ClaimReview of it only where an editor set its status (an extracted
    status is the text's cue, not a review)."""
    nodes: list[dict[str, Any]] = []
    for entry in claims:
        node_id = f"{base.replace(path=path)}#claim-{entry.id}"
        claim: dict[str, Any] = {"@type": "Claim", "@id": node_id, "text": entry.text}
        if entry.attributed_to != UNATTRIBUTED:
            claim["author"] = {"@type": "Thing", "name": entry.attributed_to}
        if entry.carriers:
            claim["appearance"] = [_appearance(c) for c in entry.carriers]
            claim["firstAppearance"] = _appearance(entry.carriers[0])
        nodes.append(claim)
        if entry.editor_set:
            nodes.append(
                {
                    "@type": "ClaimReview",
                    "itemReviewed": {"@id": node_id},
                    "claimReviewed": entry.text,
                    "reviewRating": {"@type": "Rating", "alternateName": str(entry.status)},
                    "url": str(base.replace(path=path)),
                }
            )
    return nodes


def _appearance(carrier: Carrier) -> dict[str, Any]:
    """A carrying article; its time as `datePublished` where the page gave it, else as `dateCreated` (when it was
    first seen here), so the evidence for the time stays visible."""
    when = "datePublished" if carrier.time_basis == TimeBasis.PUBLISHED else "dateCreated"
    work: dict[str, Any] = {
        "@type": "NewsArticle",
        "publisher": {"@type": "Organization", "name": carrier.outlet},
        when: carrier.first_seen.isoformat(),
    }
    if carrier.url:
        work["url"] = carrier.url
    return work


def blog_posting(u: UpdateView, base: URL) -> dict[str, Any]:
    """One update as a schema.org BlogPosting: an outlet's report credits the outlet; a desk post is the desk's
    own, by its author, at its permalink here."""
    if not u.is_post:
        return {
            "@type": "BlogPosting",
            "headline": u.item.title,
            "url": u.item.url,
            "datePublished": u.item.at.date().isoformat() if u.item.date_only else u.item.at.isoformat(),
            "articleBody": u.excerpt,
            "publisher": {"@type": "Organization", "name": u.outlet_name},
            **({"author": {"@type": "Person", "name": u.item.byline}} if u.item.byline else {}),
        }
    posting: dict[str, Any] = {
        "@type": "BlogPosting",
        "headline": u.label,
        "url": str(base.replace(path=u.permalink)),
        "datePublished": u.item.at.date().isoformat() if u.item.date_only else u.item.at.isoformat(),
        "articleBody": u.item.retracted_reason if u.item.retracted else u.item.lead,
        **({"author": {"@type": "Person", "name": u.item.byline}} if u.item.byline else {}),
    }
    if u.item.corrected_at is not None:
        posting["dateModified"] = u.item.corrected_at.isoformat()
    return posting


@router.get("/stories/{story_id}/events")
def story_events(request: Request, story_id: Id, after: AfterId | None = None) -> StreamingResponse:
    return _events(request, story_stream(_store(request), story_id), after)


@router.get("/live/{slug}/events")
def topic_events(request: Request, slug: Slug, after: AfterId | None = None) -> StreamingResponse:
    return _events(request, topic_stream(_store(request), slug), after)


def _events(request: Request, stream: StreamInfo, after: int | None) -> StreamingResponse:
    state = request.app.state
    return event_stream(_store(request), state.bus, state.live, stream.selection, resume_after(request, after))


def resume_after(request: Request, after: int | None) -> int:
    """The revision an events stream continues after: a reconnect's Last-Event-ID (the last revision the browser
    saw), else the page's `after` (the newest when the page was made), else the newest now."""
    resume = last_event_id(request.headers.get("last-event-id"))
    return resume if resume is not None else after if after is not None else _store(request).last_revision()


@router.get("/articles/{article_id}")
def article_page(request: Request, article_id: Id) -> Response:
    store = _store(request)
    item = shown_item(store, article_id)
    if item.post_id is not None:
        return RedirectResponse(f"/posts/{item.post_id}", status_code=301)  # a post's placement: the post's page
    story = store.get_story(item.story_id) if item.story_id is not None else None
    return render(request, "article.html", u=update_views(store, [item])[0], story=story)


def shown_item(store: Store, article_id: int) -> StreamItem:
    """The item as readers may see it: 404 if there is none, 410 if the desk hid it from the pages."""
    item = store.stream_item(article_id)
    if item is None:
        raise HTTPException(404, f"No article {article_id}.")
    if item.hidden_reason is not None:
        raise HTTPException(410, REMOVED_BY_DESK)
    return item


@router.get("/posts/{post_id}")
def post_page(request: Request, post_id: Id) -> HTMLResponse:
    """A desk post's permalink: the post as its pages show it, the stories and topics it is on, and whether it
    was corrected (earlier versions are kept, not shown)."""
    store = _store(request)
    post = store.get_post(post_id)
    if post is None or post.status not in (PostStatus.PUBLISHED, PostStatus.RETRACTED):
        raise HTTPException(404, f"No post {post_id}.")  # drafts and scheduled posts are on no page yet
    placements = store.post_placements(post_id)
    shown = [i for i in (store.stream_item(p.article_id) for p in placements) if i and i.hidden_reason is None]
    if not shown:
        raise HTTPException(410, REMOVED_BY_DESK)
    visible = {item.id for item in shown}
    topics = {topic.id: topic for topic in store.list_topics()}
    places: list[tuple[str, str]] = []  # (link to the post on the page, the page's title)
    for placement in placements:
        story = store.get_story(placement.story_id) if placement.story_id is not None else None
        topic = topics.get(placement.topic_id) if placement.topic_id is not None else None
        if placement.article_id in visible and story is not None:
            places.append((f"/stories/{story.id}#update-{placement.article_id}", story.title))
        elif placement.article_id in visible and topic is not None:
            places.append((f"/live/{topic.slug}#update-{placement.article_id}", topic.title))
    return render(
        request,
        "post.html",
        u=update_views(store, shown[:1])[0],
        places=places,
        earlier_versions=post.version - 1,
    )


@router.get("/entities/{entity_id}")
def entity_page(request: Request, entity_id: Id, cursor: Cursor | None = None, fragment: bool = False) -> HTMLResponse:
    """Who or what an entity is (its other names, its stories) and every update mentioning it."""
    store = _store(request)
    entity = store.get_entity(entity_id)
    if entity is None:
        raise HTTPException(404, f"No entity {entity_id}.")
    page = store.page(EntityFilter(entity_id), before=position(cursor))
    updates = update_views(store, page.items)
    next_url = f"/entities/{entity_id}?cursor={page.next.encode()}" if page.next else None
    chips = store.entities_of(item.id for item in page.items)
    if fragment:
        return render(request, "_updates.html", updates=updates, next_url=next_url, entity_chips=chips)
    stories = [s for s in (store.get_story(i) for i in entity.story_ids[:20]) if s is not None]
    return render(
        request,
        "entity.html",
        entity=entity,
        kind=kind_in_words(entity.type),
        stories=stories,
        updates=updates,
        next_url=next_url,
        entity_chips=chips,
    )


@dataclass(frozen=True)
class Hit:
    u: UpdateView
    snippet: str
    more: int  # other matching updates of its story, not shown: "N more updates in this story"
    more_url: str | None  # the same search within that story


@router.get("/search")
async def search_page(
    request: Request,
    q: SearchText = "",
    outlet: Outlet = "",
    date_from: Annotated[FormDay, Query(alias="from")] = None,
    date_to: Annotated[FormDay, Query(alias="to")] = None,
    story: FormId = None,
    entity: Id | None = None,
    sort: SearchOrder = "relevance",
    cursor: Cursor | None = None,
) -> HTMLResponse:
    store = _store(request)
    wanted = with_entity(search_filter(q, outlet or None, date_from, date_to, story), entity)
    # One entry per story, unless the search is within one story already (then every match is listed).
    by_story = story is None
    before = search_position(cursor, sort)
    found = await run_search(request, store, wanted, q, before, order=sort, by_story=by_story) if q else None

    def page() -> HTMLResponse:
        hits: list[Hit] = []
        next_url = None
        if found is not None:
            within = request.url.remove_query_params("cursor")
            for u in update_views(store, found.page.items):
                more = found.story_matches.get(u.item.id, 1) - 1 if by_story else 0
                url = f"/search?{within.include_query_params(story=u.item.story_id).query}" if more else None
                hits.append(Hit(u, found.snippets.get(u.item.id, u.excerpt), more, url))
            if found.page.next:
                next_url = f"/search?{request.url.include_query_params(cursor=found.page.next.encode()).query}"
        outlets = store.outlets()
        return render(
            request,
            "search.html",
            q=q,
            outlet=outlet,
            date_from=date_from or "",
            date_to=date_to or "",
            story=story,
            sort=sort,
            hits=hits,
            next_url=next_url,
            outlets=outlets,
            outlet_name=outlet_names(store, [o.site for o in outlets]),
            stories=store.list_stories(limit=100),
        )

    return await run_in_threadpool(page)
