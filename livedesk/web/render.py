"""What the pages show of an article, as pure functions, and the one Jinja environment.

We link to other outlets' reporting rather than republish it: every page (the permalink included) shows an
excerpt of a few sentences and "Read the full report at {outlet}", never an outlet's full text or HTML.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from typing import Any

from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup, escape

from livedesk.models import StreamItem, SyndicationGroup, SyndicationMember
from livedesk.store import Store
from livedesk.store.web import MARK_END, MARK_START
from livedesk.text import sentence_spans
from livedesk.urls import outlet
from livedesk.web.views import format_views

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EXCERPT_SENTENCES = 3
EXCERPT_WORDS = 60
# Untitled posts are named in lists (key events) by this many words of their text.
LABEL_WORDS = 12
# What a retracted post shows instead of its text, everywhere.
REMOVED = "This update was removed"
# A story is "Live" while it was updated within this window.
LIVE_WINDOW = timedelta(hours=1)


def excerpt(text: str, *, sentences: int = EXCERPT_SENTENCES, words: int = EXCERPT_WORDS) -> str:
    """The first sentences of the first paragraphs, at most `sentences` of them and about `words` words."""
    taken: list[str] = []
    count = 0
    for start, end in sentence_spans(text):  # lazily: only the first few are needed
        sentence = " ".join(text[start:end].split())
        length = len(sentence.split())
        if taken and (len(taken) == sentences or count + length > words):
            break
        taken.append(sentence)
        count += length
    result = " ".join(taken)
    cut = result.split()
    # One endless first sentence: cut it at the word limit rather than quote it whole.
    return " ".join(cut[:words]) + "…" if len(cut) > words else result


def relative_time(at: datetime, now: datetime) -> str:
    """ "just now", "12 min ago", "3 h ago", "2 days ago", else the date (static/live.js says the same)."""
    seconds = (now - at).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    if seconds < 7 * 86400:
        days = int(seconds // 86400)
        return f"{days} day{'s' if days > 1 else ''} ago"
    return f"{at.day} {at:%b %Y}"


def exact_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def day_only(at: datetime) -> str:
    """ "14 Mar 2024": a publication day given without a time of day (never shown as a time or "3 h ago")."""
    return f"{at.day} {at:%b %Y}"


def clock_time(at: datetime) -> str:
    """ "14:05" (UTC): when a post was corrected, as "Updated 14:05"."""
    return at.astimezone(UTC).strftime("%H:%M")


def sort_micros(at: datetime) -> int:
    """An item's time in every stream's order as the page's script compares it, with the id after it:
    microseconds since the epoch (exact in a JavaScript number until the year 2255)."""
    return (at - _EPOCH) // timedelta(microseconds=1)


def highlight(snippet: str) -> Markup:
    """A search snippet, escaped, with the search index's match markers turned into <mark>."""
    escaped = str(escape(snippet))
    return Markup(escaped.replace(MARK_START, "<mark>").replace(MARK_END, "</mark>"))


def group(members: Sequence[SyndicationMember]) -> SyndicationGroup | None:
    """The syndication group, or None for an article carried by nobody else."""
    if len(members) < 2:
        return None
    original = next((m for m in members if m.original_id is None), members[0])
    return SyndicationGroup(original=original, copies=tuple(m for m in members if m is not original), evidence=None)


@dataclass(frozen=True)
class UpdateView:
    """One update, ready for the `_update.html` partial and the API."""

    item: StreamItem
    excerpt: str
    outlet: str
    group: SyndicationGroup | None
    views: int

    @property
    def credit(self) -> str | None:
        return None if self.group is None else self.group.credit_line

    @property
    def is_post(self) -> bool:
        return self.item.kind == "post"

    @property
    def permalink(self) -> str:
        """This site's page of the update: a post's own page, else the article's permalink."""
        return f"/posts/{self.item.post_id}" if self.is_post else f"/articles/{self.item.id}"

    @property
    def label(self) -> str:
        """What names the update in a list (key events): its title, else the beginning of a post's text."""
        if self.item.retracted:
            return REMOVED
        return self.item.title or excerpt(self.item.lead, sentences=1, words=LABEL_WORDS)


def update_views(store: Store, items: Sequence[StreamItem]) -> list[UpdateView]:
    """Items with their excerpt, syndication group and view count: three queries for any number of items."""
    ids = [item.id for item in items]
    groups = store.syndication_groups(ids)
    views = store.view_counts(ids)
    return [
        UpdateView(
            item=item,
            excerpt=excerpt(item.lead),
            outlet=outlet(item.site),
            group=group(groups.get(item.id, [])),
            views=views.get(item.id, 0),
        )
        for item in items
    ]


def is_live(last_update: datetime | None, now: datetime) -> bool:
    return last_update is not None and now - last_update < LIVE_WINDOW


def json_ld(data: dict[str, Any]) -> Markup:
    """JSON for a <script type="application/ld+json"> block: no '<', '>' or '&' can end the element early."""
    text = json.dumps(data, ensure_ascii=False)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(files("livedesk.web") / "templates")),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(format_views=format_views, now=lambda: datetime.now(UTC), is_live=is_live, REMOVED=REMOVED)
    env.filters.update(relative=lambda at: relative_time(at, datetime.now(UTC)), exact=exact_time, iso=_iso)
    env.filters.update(clock=clock_time, micros=sort_micros, day=day_only, day_iso=lambda at: at.date().isoformat())
    env.filters["highlight"] = highlight
    env.filters["outlet"] = outlet
    return env


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
