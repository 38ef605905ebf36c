"""What the pages show of an article, as pure functions, and the one Jinja environment.

We link to other outlets' reporting rather than republish it: every page (the permalink included) shows an
excerpt of a few sentences and "Read the full report at {outlet}", never an outlet's full text or HTML.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from typing import Any

from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup, escape

from livedesk.models import ClaimStatus, LedgerEntry, StreamItem, SyndicationGroup, SyndicationMember
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


def time_of_day(at: datetime, now: datetime) -> str:
    """ "14:05 UTC" today, "28 Nov, 14:05 UTC" before, "28 Nov 2025, 14:05 UTC" in another year: the time a
    reader reads beside each update (static/live.js writes it again in the reader's own zone)."""
    at, now = at.astimezone(UTC), now.astimezone(UTC)
    clock = f"{at:%H:%M} UTC"
    if at.date() == now.date():
        return clock
    return f"{at.day} {at:%b}, {clock}" if at.year == now.year else f"{at.day} {at:%b %Y}, {clock}"


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
class Report:
    """One outlet's report of a syndication group, as a card credits it."""

    name: str  # the outlet's display name
    site: str
    url: str


@dataclass(frozen=True)
class UpdateView:
    """One update, ready for the `_update.html` partial and the API."""

    item: StreamItem
    excerpt: str
    outlet: str  # the outlet's domain
    group: SyndicationGroup | None
    views: int
    outlet_name: str = ""  # the outlet's display name (its domain when it has none)
    first_report: Report | None = None  # the group's original, when others carry it too
    also_carried_by: tuple[Report, ...] = ()  # the other outlets carrying it, each once, earliest first

    @property
    def credit(self) -> str | None:
        """ "first reported by X, also carried by Y, Z", by display names."""
        if self.first_report is None:
            return None
        line = f"first reported by {self.first_report.name}"
        others = ", ".join(report.name for report in self.also_carried_by)
        return f"{line}, also carried by {others}" if others else line

    @property
    def is_original(self) -> bool:
        return self.first_report is not None and self.group is not None and self.group.original.id == self.item.id

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
    """Items with their excerpt, syndication group, outlets' names and view count: four queries for any number
    of items."""
    ids = [item.id for item in items]
    members = store.syndication_groups(ids)
    groups = {item.id: group(members.get(item.id, [])) for item in items}
    views = store.view_counts(ids)
    sites = [item.site for item in items] + [m.site for g in groups.values() if g for m in g.members]
    names = outlet_names(store, sites)
    return [
        UpdateView(
            item=item,
            excerpt=excerpt(item.lead),
            outlet=outlet(item.site),
            group=groups[item.id],
            views=views.get(item.id, 0),
            outlet_name=names(item.site),
            first_report=_report(g.original, names) if (g := groups[item.id]) else None,
            also_carried_by=_also_carried_by(item, g, names) if g else (),
        )
        for item in items
    ]


def outlet_names(store: Store, sites: Iterable[str]) -> Callable[[str], str]:
    """A site's display name: configured, else the one it gives itself, else its domain (one query)."""
    known = store.site_names(sites)
    return lambda site: known.get(site) or outlet(site)


def _report(member: SyndicationMember, names: Callable[[str], str]) -> Report:
    return Report(name=names(member.site), site=outlet(member.site), url=member.url)


def _also_carried_by(item: StreamItem, g: SyndicationGroup, names: Callable[[str], str]) -> tuple[Report, ...]:
    """The group's other outlets, each once, earliest first: neither the item's own outlet nor the original's."""
    seen = {outlet(item.site), outlet(g.original.site)}
    reports = []
    for member in g.copies:
        if outlet(member.site) not in seen:
            seen.add(outlet(member.site))
            reports.append(_report(member, names))
    return tuple(reports)


# Claims a story page shows before "Show all N claims": the few a reader most needs.
TOP_CLAIMS = 3
# Key events chosen without a desk, at most.
AUTOMATIC_KEY_EVENTS = 5
_CONTESTED = frozenset({ClaimStatus.DENIED, ClaimStatus.DISPUTED})


def significant_claims(entries: Sequence[LedgerEntry]) -> list[LedgerEntry]:
    """The ledger, most significant first: contested claims (denied, disputed) first, then those carried by the
    most independent outlets, then the earliest reported."""
    return sorted(entries, key=lambda e: (e.status not in _CONTESTED, -e.independent_count))  # stable: ledger order


def first_reports(entries: Sequence[LedgerEntry], limit: int = AUTOMATIC_KEY_EVENTS) -> list[int]:
    """Key events when the desk marked none: the original reports that first carried a new claim (each report
    once, whichever claims it brought), the newest `limit` of them, newest first."""
    earliest: dict[int, datetime] = {}
    for entry in entries:
        first = entry.first_reported
        if first is not None and first.source_key not in earliest:
            earliest[first.source_key] = first.first_seen
    return sorted(earliest, key=lambda report: (earliest[report], report), reverse=True)[:limit]


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
    env.filters["time_of_day"] = lambda at: time_of_day(at, datetime.now(UTC))
    env.filters["highlight"] = highlight
    env.filters["outlet"] = outlet
    return env


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
