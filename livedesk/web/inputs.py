"""Bounds on everything a request carries, in one place.

Every route takes its ids, cursors, dates, slugs, outlets and search text through these types, so a value out
of range is refused as a 4xx (422 from validation, 400 from a parser) before it reaches the database, never a
500 from it: ids past the columns' range, days whose next day does not exist, headers of thousands of digits.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import HTTPException, Request
from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

from livedesk.models import MAX_ID
from livedesk.store.search_syntax import MAX_SEARCH_TERMS, search_size

# A cursor the server hands out is under 60 characters.
MAX_CURSOR_CHARS = 120
MAX_SLUG_CHARS = 100  # the topics.slug column
MAX_OUTLET_CHARS = 253  # a DNS name
MAX_QUERY_CHARS = 500
# A desk form: a post's text and its fields, with room to spare; a password is at most a few kilobytes encoded.
MAX_FORM_BYTES = 256 * 1024
MAX_FORM_FIELDS = 100
FORM_TYPE = "application/x-www-form-urlencoded"
# Days a reader can filter on; outside them a day (or the day after it) is not a date a news desk holds.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)
_EVENT_ID = re.compile(r"[0-9]{1,10}")  # ASCII digits only: int() also reads "²" and "٣"

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
AfterId = Annotated[int, Field(ge=0, le=MAX_ID)]  # an event id to resume after; 0: from the start
Cursor = Annotated[str, StringConstraints(max_length=MAX_CURSOR_CHARS)]
# No control characters in names: PostgreSQL text cannot hold NUL, and no slug or host name has any.
_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
Slug = Annotated[str, StringConstraints(max_length=MAX_SLUG_CHARS, pattern=_PRINTABLE)]
Outlet = Annotated[str, StringConstraints(max_length=MAX_OUTLET_CHARS, pattern=_PRINTABLE)]


def _within_days(day: date) -> date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"a day between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}")
    return day


def _few_terms(text: str) -> str:
    if search_size(text) > MAX_SEARCH_TERMS:
        raise ValueError(f"at most {MAX_SEARCH_TERMS} different words (a phrase counts each of its words)")
    return text


def _blank_is_none(value: object) -> object:
    return None if value == "" else value


Day = Annotated[date, AfterValidator(_within_days)]
SearchText = Annotated[str, StringConstraints(max_length=MAX_QUERY_CHARS), AfterValidator(_few_terms)]
# An HTML form sends its unset fields empty: they mean "any".
FormDay = Annotated[Day | None, BeforeValidator(_blank_is_none)]
FormId = Annotated[Id | None, BeforeValidator(_blank_is_none)]


def last_event_id(header: str | None) -> int | None:
    """The id in a reconnecting EventSource's Last-Event-ID header (None when absent); 400 when it is not one
    the server could have sent."""
    if not header:
        return None
    if _EVENT_ID.fullmatch(header) is None or int(header) > MAX_ID:
        raise HTTPException(400, "Last-Event-ID must be an event id sent by this server.")
    return int(header)


async def read_form(request: Request) -> dict[str, str]:
    """The fields of an HTML form (`application/x-www-form-urlencoded`; any other body has none), the last value
    of a repeated name winning: 413 past MAX_FORM_BYTES, 400 for a body that is not a form. Read once per request
    (the CSRF check and the route share it); values are never echoed in an error."""
    cached: dict[str, str] | None = getattr(request.state, "form", None)
    if cached is not None:
        return cached
    fields: dict[str, str] = {}
    if request.headers.get("content-type", "").partition(";")[0].strip().lower() == FORM_TYPE:
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM_BYTES:
                raise HTTPException(413, f"A form is at most {MAX_FORM_BYTES // 1024} KiB.")
        try:
            fields = dict(
                parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=False, max_num_fields=MAX_FORM_FIELDS)
            )
        except (UnicodeDecodeError, ValueError):
            raise HTTPException(400, "The form could not be read.") from None
    request.state.form = fields
    return fields
