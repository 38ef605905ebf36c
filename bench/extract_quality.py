"""Titles, bylines, publication times and furniture on a frozen labelled set: livedesk against bare trafilatura.

The labels (bench/data/extract_labels.jsonl, described in bench/data/extract_labels.md) were written before the
rules they measure. Both extractors run on the same raw bytes in this one process; trafilatura's own metadata
(title, author, date) is the baseline. Usage:

    python bench/extract_quality.py [--data ../shared/benchmarks] [--labels bench/data/extract_labels.jsonl] [--misses]

Scores:
  title exact / normalised   the headline, whitespace-normalised / ignoring case and punctuation
  byline                     the same set of names (case and punctuation ignored), or none where the page has none
  organisation kept          desk and agency bylines present and marked as an organisation's
  time right                 the labelled instant (±1 min), the labelled day marked date-only, or no date
  midnight invented          a 00:00 UTC time of day claimed where the page states another time, or only a date
  furniture left             labelled furniture lines still in the text (a paragraph starting with one)
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import trafilatura
from rich.console import Console
from rich.table import Table
from trafilatura.settings import Document

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from livedesk.models import Page  # noqa: E402
from livedesk.pipeline.extract import ExtractError, extract  # noqa: E402

FETCHED_AT = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Output:
    """What one extractor says about one page."""

    title: str | None
    byline: str | None
    organisation: bool  # the byline is marked as an organisation's
    published: datetime | None  # aware, or midnight of the day when date_only
    date_only: bool
    text: str


def run_livedesk(url: str, html: bytes) -> Output:
    try:
        a = extract(Page(url=url, body=html, fetched_at=FETCHED_AT))
    except ExtractError:
        return Output(None, None, False, None, False, "")
    # getattr: the same script measures the code before and after the precision and byline-kind fields existed.
    return Output(
        a.title,
        a.byline,
        bool(getattr(a, "byline_is_organisation", False)),
        a.published_at,
        bool(getattr(a, "published_date_only", False)),
        a.text,
    )


def run_trafilatura(url: str, html: bytes) -> Output:
    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True)
    if not isinstance(doc, Document):
        return Output(None, None, False, None, False, "")
    day = _day(doc.date)
    published = datetime.combine(day, time(), UTC) if day else None
    return Output(doc.title, doc.author, False, published, True, doc.text or "")  # its date is always a bare day


# -- scoring -------------------------------------------------------------------------------------------------


def _key(value: str) -> str:
    return re.sub(r"\W", "", value.lower())


def _names(byline: str | None) -> set[str]:
    return {_key(n) for n in re.split(r"[;,/]", byline or "") if _key(n)}


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def time_verdict(label: str | None, out: Output) -> str:
    """right | midnight (a 00:00 UTC time claimed) | lost (the day, but the stated time dropped) | wrong | missing."""
    if label is None:
        return "right" if out.published is None else "wrong"
    if out.published is None:
        return "missing"
    got = out.published.astimezone(UTC)
    claims_midnight = not out.date_only and got.time() == time()
    if len(label) == 10:  # a bare day
        if out.date_only and got.date() == date.fromisoformat(label):
            return "right"
        return "midnight" if claims_midnight else "wrong"
    moment = datetime.fromisoformat(label)
    if moment.tzinfo is None:  # a stated time of day with no zone: read as UTC
        moment = moment.replace(tzinfo=UTC)
    if not out.date_only and abs(got - moment) <= timedelta(minutes=1):
        return "right"
    if claims_midnight:
        return "midnight"
    if out.date_only and got.date() == moment.date():
        return "lost"
    return "wrong"


def furniture_left(lines: list[str], text: str) -> list[str]:
    paragraphs = [" ".join(p.strip().removeprefix("- ").split()) for p in text.splitlines()]
    return [line for line in lines if any(p.startswith(" ".join(line.split())) for p in paragraphs)]


@dataclass
class Tally:
    pages: int = 0
    title_exact: int = 0
    title_normalised: int = 0
    bylines: int = 0
    byline_right: int = 0
    organisations: int = 0
    organisation_kept: int = 0
    times: int = 0
    time: dict[str, int] = field(default_factory=dict)
    furniture: int = 0
    furniture_left: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, label: dict, out: Output) -> None:
        self.pages += 1
        name = label["file"].rsplit("/", 1)[-1]
        title = " ".join((out.title or "").split())
        self.title_exact += title == " ".join(label["title"].split())
        right_title = _key(title) == _key(label["title"])
        self.title_normalised += right_title
        if not right_title:
            self.misses.append(f"{name}: title {out.title!r} ≠ {label['title']!r}")
        if "byline" in label:
            self.bylines += 1
            right = _names(out.byline) == _names(label["byline"])
            self.byline_right += right
            if not right:
                self.misses.append(f"{name}: byline {out.byline!r} ≠ {label['byline']!r}")
            if label["byline_kind"] == "organisation":
                self.organisations += 1
                self.organisation_kept += right and out.organisation
        if "published" in label:
            self.times += 1
            verdict = time_verdict(label["published"], out)
            self.time[verdict] = self.time.get(verdict, 0) + 1
            if verdict != "right":
                shown = out.published.isoformat() if out.published else None
                shown = f"{shown} (date only)" if out.date_only and shown else shown
                self.misses.append(f"{name}: time {verdict}: {shown} vs {label['published']}")
        self.furniture += len(label["furniture"])
        left = furniture_left(label["furniture"], out.text)
        self.furniture_left += len(left)
        self.misses.extend(f"{name}: furniture left: {line[:70]!r}" for line in left)


def load_labels(path: Path) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [row for row in rows if "file" in row]  # the first line is a note


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/benchmarks", help="benchmarks folder (relative: to the repo)")
    parser.add_argument("--labels", default="bench/data/extract_labels.jsonl", help="labels (relative: to the repo)")
    parser.add_argument("--misses", action="store_true", help="list every page-level miss of livedesk")
    args = parser.parse_args()
    data = Path(args.data) if Path(args.data).is_absolute() else (REPO / args.data).resolve()
    labels = load_labels(REPO / args.labels)
    ours, bare = Tally(), Tally()
    for label in labels:
        html = gzip.decompress((data / label["file"]).read_bytes())
        ours.add(label, run_livedesk(label["url"], html))
        bare.add(label, run_trafilatura(label["url"], html))

    console = Console(width=max(Console().width, 130))
    table = Table(title=f"Titles, bylines, times, furniture on {len(labels)} frozen labelled pages")
    columns = ("extractor", "title exact", "title norm.", "byline", "org. kept", "time right", "midnight invented",
               "time lost", "furniture left")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column == "extractor" else "right")
    for name, t in (("livedesk", ours), ("trafilatura", bare)):
        table.add_row(
            name,
            f"{t.title_exact}/{t.pages}",
            f"{t.title_normalised}/{t.pages}",
            f"{t.byline_right}/{t.bylines}",
            f"{t.organisation_kept}/{t.organisations}",
            f"{t.time.get('right', 0)}/{t.times}",
            str(t.time.get("midnight", 0)),
            str(t.time.get("lost", 0)),
            f"{t.furniture_left}/{t.furniture}",
        )
    console.print(table)
    if args.misses:
        for miss in ours.misses:
            console.print(f"  {miss}", markup=False, highlight=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
