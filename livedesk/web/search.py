"""Running a reader's search for the search page and the API: off the event loop, within the store's time limit,
and stopped as soon as the reader goes away (the database's work too, not only the response)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime, time, timedelta

from fastapi import HTTPException, Request
from starlette.concurrency import run_in_threadpool

from livedesk.models import InvalidCursorError, Position, SearchFilter, SearchResults, Selection
from livedesk.store import Store
from livedesk.store.web import SearchCancel, SearchCancelledError, SearchOrder, SearchTimeoutError

logger = logging.getLogger(__name__)

# nginx's "client closed request": logged, never read by anyone.
CLIENT_GONE = 499


class ClientGoneError(HTTPException):
    def __init__(self) -> None:
        super().__init__(CLIENT_GONE, "The client went away before the search finished.")


def search_filter(
    q: str, outlet: str | None, date_from: date | None, date_to: date | None, story: int | None
) -> SearchFilter:
    """Dates are whole UTC days, both ends included."""
    return SearchFilter(
        text=q,
        sites=(outlet,) if outlet else (),
        since=datetime.combine(date_from, time(), UTC) if date_from else None,
        until=datetime.combine(date_to + timedelta(days=1), time(), UTC) if date_to else None,
        story_id=story,
    )


def search_position(cursor: str | None, order: SearchOrder) -> Position | None:
    """The decoded cursor of a search page in `order`; a 400 for anything else (a cursor of the other order too:
    a page by date ends at a time, one by relevance at a score)."""
    if cursor is None:
        return None
    try:
        position = Position.decode(cursor)
    except InvalidCursorError as err:
        raise HTTPException(400, str(err)) from err
    if (position.score is not None) != (order == "relevance"):
        raise HTTPException(400, f"This cursor continues a search in another order than by {order}.")
    return position


async def run_search(
    request: Request,
    store: Store,
    selection: Selection,
    text: str,
    before: Position | None,
    *,
    order: SearchOrder,
    by_story: bool,
) -> SearchResults:
    """The store's search in a worker thread, cancelled when the client disconnects first. A 503 when it runs
    out of time; ClientGoneError (499) when the client left."""
    cancel = SearchCancel()
    searching = asyncio.ensure_future(
        run_in_threadpool(
            lambda: store.search(selection, text, order=order, by_story=by_story, before=before, cancel=cancel)
        )
    )
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({searching, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        if not searching.done():
            # Sending PostgreSQL's cancel request blocks for a round trip: not on the event loop.
            await run_in_threadpool(cancel.cancel)
    try:
        return await searching
    except SearchCancelledError:
        logger.info("search stopped: the client went away")
        raise ClientGoneError() from None
    except SearchTimeoutError as error:
        logger.warning("search stopped: %s (q=%r)", error, text[:100])
        raise HTTPException(503, "The search took too long; try fewer or rarer words.") from None


async def _disconnected(request: Request) -> None:
    """Returns once the client has disconnected (a GET's body, if any, is read and ignored)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass
