"""Atom 1.0 and JSON Feed 1.1 for every story and topic page, and for the whole site: the newest page of updates
— outlets' reports as excerpts linking to them, the desk's own posts in full (their sanitised HTML) linking to
their pages here. A retracted post stays as "This update was removed" with the reason; hidden items are absent."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree as ET

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from markupsafe import escape

from livedesk.web.inputs import Id, Slug
from livedesk.web.render import REMOVED, UpdateView, update_views
from livedesk.web.streams import StreamInfo, site_stream, story_stream, topic_stream

ATOM_NS = "http://www.w3.org/2005/Atom"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"

router = APIRouter(include_in_schema=False)


def _updates(request: Request, stream: StreamInfo) -> list[UpdateView]:
    store = request.app.state.store
    # As the page shows them: one entry per syndication group, the copies credited on the original's.
    return update_views(store, store.page(stream.selection, one_per_group=True).items)


def _absolute(request: Request, path: str) -> str:
    return str(request.base_url.replace(path=path, query=""))


def _link(u: UpdateView, site_url: str) -> str:
    """Where the entry points: the outlet's report, or a post's permalink here (absolute)."""
    return site_url.rstrip("/") + u.permalink if u.is_post else u.item.url


def _post_html(u: UpdateView) -> str:
    """A post's content: its sanitised HTML, and the correction note when it was corrected."""
    html = u.item.body_html or ""
    if u.item.version > 1 and u.item.correction_note:
        html += f"<p><em>Correction: {escape(u.item.correction_note)}</em></p>"
    return html


def _modified(u: UpdateView) -> datetime:
    return u.item.corrected_at or u.item.at


def _summary(u: UpdateView) -> str:
    parts = [u.excerpt, f"Read the full report at {u.outlet_name}: {u.item.url}"]
    if u.credit:
        parts.append(u.credit[:1].upper() + u.credit[1:] + ".")
    return "\n\n".join(parts)


def atom(stream: StreamInfo, updates: list[UpdateView], page_url: str, feed_url: str, site_url: str) -> bytes:
    ET.register_namespace("", ATOM_NS)

    def add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        element.text = text
        return element

    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    add(feed, "id", page_url)
    add(feed, "title", stream.title)
    if stream.summary:
        add(feed, "subtitle", stream.summary)
    updated = max((_modified(u) for u in updates), default=stream.last_update or datetime.now(UTC))
    add(feed, "updated", _rfc3339(updated))
    add(feed, "link", rel="alternate", type="text/html", href=page_url)
    add(feed, "link", rel="self", type="application/atom+xml", href=feed_url)
    add(add(feed, "author"), "name", "livedesk")
    add(feed, "generator", "livedesk")
    for u in updates:
        entry = add(feed, "entry")
        add(entry, "id", f"{page_url}#update-{u.item.id}")
        add(entry, "title", u.label if u.is_post else u.item.title)
        add(entry, "updated", _rfc3339(_modified(u)))
        if u.item.published_at:
            add(entry, "published", _rfc3339(u.item.published_at))
        add(entry, "link", rel="alternate", type="text/html", href=_link(u, site_url))
        add(add(entry, "author"), "name", u.item.byline or u.outlet_name)
        if u.item.retracted:
            add(entry, "content", u.item.retracted_reason, type="text")
        elif u.is_post:
            add(entry, "content", _post_html(u), type="html")  # escaped by the XML writer: markup as text
        else:
            add(entry, "summary", _summary(u), type="text")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def json_feed(
    stream: StreamInfo, updates: list[UpdateView], page_url: str, feed_url: str, site_url: str
) -> dict[str, Any]:
    feed: dict[str, Any] = {
        "version": JSON_FEED_VERSION,
        "title": stream.title,
        "home_page_url": page_url,
        "feed_url": feed_url,
        "language": "en",
        "items": [_json_item(u, site_url) for u in updates],
    }
    if stream.summary:
        feed["description"] = stream.summary
    return feed


def _json_item(u: UpdateView, site_url: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": str(u.item.id),
        "url": _link(u, site_url),
        "title": u.label if u.is_post else u.item.title,
        "date_published": _rfc3339(u.item.at),
        "authors": [{"name": u.item.byline or u.outlet_name}],
        **({"language": u.item.language} if u.item.language else {}),
    }
    if u.item.retracted:
        item["content_text"] = f"{REMOVED}: {u.item.retracted_reason}"
    elif u.is_post:
        item.update(content_html=_post_html(u), summary=u.excerpt)
    else:
        item.update(content_text=_summary(u), summary=u.excerpt)
    if u.item.corrected_at is not None:
        item["date_modified"] = _rfc3339(u.item.corrected_at)
    return item


def _rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _atom_response(request: Request, stream: StreamInfo) -> Response:
    page_url, site_url = _absolute(request, stream.path), _absolute(request, "/")
    body = atom(stream, _updates(request, stream), page_url, str(request.url), site_url)
    return Response(body, media_type="application/atom+xml; charset=utf-8")


def _json_response(request: Request, stream: StreamInfo) -> Response:
    page_url, site_url = _absolute(request, stream.path), _absolute(request, "/")
    body = json_feed(stream, _updates(request, stream), page_url, str(request.url), site_url)
    return JSONResponse(body, media_type="application/feed+json")


@router.get("/feed.atom")
def site_atom(request: Request) -> Response:
    return _atom_response(request, site_stream())


@router.get("/feed.json")
def site_json(request: Request) -> Response:
    return _json_response(request, site_stream())


@router.get("/stories/{story_id}/feed.atom")
def story_atom(request: Request, story_id: Id) -> Response:
    return _atom_response(request, story_stream(request.app.state.store, story_id))


@router.get("/stories/{story_id}/feed.json")
def story_json(request: Request, story_id: Id) -> Response:
    return _json_response(request, story_stream(request.app.state.store, story_id))


@router.get("/live/{slug}/feed.atom")
def topic_atom(request: Request, slug: Slug) -> Response:
    return _atom_response(request, topic_stream(request.app.state.store, slug))


@router.get("/live/{slug}/feed.json")
def topic_json(request: Request, slug: Slug) -> Response:
    return _json_response(request, topic_stream(request.app.state.store, slug))
