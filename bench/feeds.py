"""Runs every file of feedparser's test corpus through parse_feed and counts the outcomes per folder.

    python bench/feeds.py [--data ../shared/benchmarks]

Outcomes: parsed with ≥1 entry, parsed with no entries (feed-level only), SourceError (a clean refusal),
CRASH (any other exception: a bug; the exit status is 1 if there is one). "dropped" counts entries left out
because they have no http(s) link (most of the corpus' entries test one element and carry no link).
The corpus' `Expect:` expressions are not evaluated here.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from livedesk.pipeline.sources import SourceError, parse_feed  # noqa: E402

# Upstream serves the "http" cases from this base; other files get the same base for relative links.
BASE_URL = "http://127.0.0.1:8097/"
HEADER_CONTENT_TYPE = re.compile(rb"^Header:\s*Content-type:\s*(.+?)\s*$", re.I | re.M)
OUTCOMES = ("entries", "no entries", "SourceError", "CRASH")
DROPPED = re.compile(r"^entry \d+.* dropped: ")


def folder_of(relative: Path) -> str:
    """wellformed/<area>, or the top folder (illformed, encoding, entities, json)."""
    parts = relative.parts
    return f"{parts[0]}/{parts[1]}" if parts[0] == "wellformed" and len(parts) > 2 else parts[0]


def outcome(body: bytes, url: str) -> tuple[str, int]:
    """(outcome, entries dropped for want of an http(s) link)."""
    match = HEADER_CONTENT_TYPE.search(body[:4096])
    content_type = match.group(1).decode("latin-1") if match else None
    try:
        feed = parse_feed(body, url, content_type)
    except SourceError:
        return "SourceError", 0
    dropped = sum(1 for warning in feed.warnings if DROPPED.match(warning))
    return ("entries" if feed.entries else "no entries"), dropped


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/benchmarks"), help="benchmarks folder")
    args = parser.parse_args()
    data = args.data if args.data.is_absolute() else REPO / args.data
    corpus = data / "feedparser-tests"
    files = sorted(p for p in (corpus / "tests").rglob("*") if p.is_file())
    if not files:
        print(f"no test files under {corpus / 'tests'}", file=sys.stderr)
        return 2

    counts: dict[str, Counter[str]] = defaultdict(Counter)
    crashes: list[str] = []
    started = time.perf_counter()
    for path in files:
        relative = path.relative_to(corpus / "tests")
        folder = counts[folder_of(relative)]
        try:
            result, dropped = outcome(path.read_bytes(), f"{BASE_URL}tests/{relative.as_posix()}")
        except Exception as err:  # counting crashes is the point of this benchmark
            result, dropped = "CRASH", 0
            crashes.append(f"{relative}: {type(err).__name__}: {err}")
        folder[result] += 1
        folder["dropped"] += dropped
    elapsed = time.perf_counter() - started

    table = Table(title=f"parse_feed over the feedparser corpus ({len(files)} files, {elapsed:.1f} s)")
    table.add_column("folder", no_wrap=True, min_width=len("wellformed/node_precedence"))
    table.add_column("files", justify="right")
    for name in (*OUTCOMES, "dropped"):
        table.add_column(name, justify="right")
    totals: Counter[str] = Counter()
    for folder in sorted(counts):
        row = counts[folder]
        totals.update(row)
        table.add_row(folder, *_cells(row))
    table.add_section()
    table.add_row("total", *_cells(totals), style="bold")
    # Piped output would otherwise be squeezed to 80 columns, truncating the headers.
    console = Console() if sys.stdout.isatty() else Console(width=120)
    console.print(table)
    for line in crashes[:20]:
        console.print(f"[red]CRASH[/red] {line}", markup=True, highlight=False)
    return 1 if crashes else 0


def _cells(row: Counter[str]) -> list[str]:
    return [str(sum(row[name] for name in OUTCOMES)), *(str(row[name]) for name in (*OUTCOMES, "dropped"))]


if __name__ == "__main__":
    sys.exit(main())
