"""The home page: stories by recent activity, kept current over server-sent events (`/events`); and the site's
icon at the address browsers ask for.

Without JavaScript the page is a plain list, `HOME_STORIES` at a time, with a "More stories" link to the next
ones. With it, static/home.js follows `/events`: each event is one story's entry as the list shows it (title,
Live badge, outlets, last update), which replaces the story's entry or joins the list at its place.

The stream is fed by the bus like the story pages' (livedesk.web.live): a connection never polls the database.
What an update means for the home page — its story's current entry — is read and rendered once per publication in
the process (`LiveStories`), however many home pages are open. Event ids are live revisions (the newest of the
story's articles), so a reconnecting page resumes with Last-Event-ID: the replay sends the current entry of each
story changed since, once, however many of its articles changed — the list's state, not its history. An editor's
change to a story (title, merge, split) is sent unnumbered, as the story's entry, or `removed` when it is gone;
a reconnect does not replay a removal (the story's articles now belong to another one, which is replayed), so a
story merged away while the page was offline stays on it until the reader reloads.
"""

from __future__ import annotations

import json
from importlib.resources import files

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from jinja2 import Environment
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from livedesk.models import Position, Story
from livedesk.publish import Update, UpdateKind
from livedesk.store import Store
from livedesk.web.inputs import AfterId, Cursor
from livedesk.web.live import Memo, publication, source_stream
from livedesk.web.pages import render, resume_after
from livedesk.web.render import sort_micros
from livedesk.web.streams import position

router = APIRouter(include_in_schema=False)

HOME_STORIES = 50
FAVICON = files("livedesk.web") / "static" / "favicon.svg"
# The memo's audience for home page answers (story pages' are their selections).
_HOME = "home"


class LiveStories:
    """The process-wide view of the home page: a story's entry, rendered and encoded once per publication."""

    def __init__(self, store: Store, env: Environment) -> None:
        self._store = store
        self._template = env.get_template("_story.html")
        self._events = Memo[tuple[int | None, bytes] | None]()

    def encode(self, story: Story, revision: int | None) -> bytes:
        """The story's entry as one event; its id `revision` when the entry shows that revision's state."""
        data = {"story_id": story.id, "html": self._template.render(s=story), "sort": sort_micros(story.last_update)}
        return _event(revision, data)

    async def event(self, update: Update) -> tuple[int | None, bytes] | None:
        if update.story_id is None:
            return None  # a topic page's post: on no story
        return await self._events.get(publication(update, _HOME), lambda: run_in_threadpool(self._entry, update))

    def _entry(self, update: Update) -> tuple[int | None, bytes] | None:
        if update.kind is UpdateKind.STORY:
            assert update.story_id is not None
            story = self._store.get_story(update.story_id)
            if story is None:
                return None, _event(None, {"story_id": update.story_id, "removed": True})
            return None, self.encode(story, None)
        item = self._store.stream_item(update.article_id)
        if item is None or item.story_id is None:
            return None
        story = self._store.get_story(item.story_id)  # the article's story now: it may have moved since
        return None if story is None else (item.revision, self.encode(story, item.revision))


def _event(revision: int | None, data: dict[str, object]) -> bytes:
    numbered = f"id: {revision}\r\n" if revision is not None else ""
    return f"{numbered}data: {json.dumps(data)}\r\n\r\n".encode()


class StorySource:
    """The home page's live source (livedesk.web.live.LiveSource): stories whose articles changed."""

    def __init__(self, store: Store, live: LiveStories) -> None:
        self._store, self._live = store, live

    async def missed(self, floor: int, delivered: set[int]) -> tuple[list[bytes], int | None]:
        changed = await run_in_threadpool(self._store.stories_changed_since, floor)
        if not changed:
            return [], None
        fresh = [(story, revision) for story, revision in changed if revision not in delivered]
        events = await run_in_threadpool(lambda: [self._live.encode(story, revision) for story, revision in fresh])
        return events, changed[-1][1]

    async def event(self, update: Update) -> tuple[int | None, bytes] | None:
        return await self._live.event(update)


def _store(request: Request) -> Store:
    return request.app.state.store


@router.get("/")
def home(request: Request, cursor: Cursor | None = None) -> HTMLResponse:
    store = _store(request)
    # Read before the list: whatever changes after this reaches the page through /events.
    last_id = store.last_revision()
    stories = store.list_stories(limit=HOME_STORIES + 1, before=position(cursor))
    shown = stories[:HOME_STORIES]
    next_url = None
    if len(stories) > HOME_STORIES:
        next_url = f"/?cursor={Position(shown[-1].last_update, shown[-1].id).encode()}"
    first_page = cursor is None
    return render(
        request,
        "home.html",
        stories=shown,
        topics=store.list_topics() if first_page else [],
        next_url=next_url,
        # Only the first page follows: newer stories join at its top.
        events_url=f"/events?after={last_id}" if first_page else None,
    )


@router.get("/events")
def home_events(request: Request, after: AfterId | None = None) -> StreamingResponse:
    state = request.app.state
    return source_stream(state.bus, StorySource(_store(request), state.live_stories), resume_after(request, after))


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    """The site's icon (an SVG: every current browser shows one), for browsers and tools that ask here rather
    than follow the pages' <link rel=icon>."""
    return FileResponse(str(FAVICON), media_type="image/svg+xml", headers={"cache-control": "public, max-age=86400"})
