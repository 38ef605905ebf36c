"""End-to-end ingest speed against bare trafilatura on the same pages, in one process.

The scrapinghub article pages are written into a WARC file (real local material, as `livedesk ingest` reads it),
then ingested into a fresh SQLite database through the whole chain (read WARC → extract → store). The baseline
is bare `trafilatura.extract()` on the same bytes. DESIGN.md's bar: livedesk ≥ 0.5 × the baseline's pages/s.

    python bench/ingest.py [--data ../shared/benchmarks] [--limit N] [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import sys
import tempfile
import time
from io import BytesIO
from pathlib import Path

import trafilatura
from rich.console import Console
from rich.table import Table
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from livedesk.config import Settings  # noqa: E402
from livedesk.pipeline import Ingestor  # noqa: E402
from livedesk.store import Store  # noqa: E402


def load_pages(data: Path, limit: int | None) -> list[tuple[str, bytes]]:
    root = data / "scrapinghub-article-extraction"
    truth = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
    pages = [
        (item["url"], gzip.decompress((root / "html" / f"{key}.html.gz").read_bytes())) for key, item in truth.items()
    ]
    return pages[:limit] if limit else pages


def write_warc(path: Path, pages: list[tuple[str, bytes]]) -> None:
    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=True)
        for url, body in pages:
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            record = writer.create_warc_record(
                url, "response", payload=BytesIO(body), length=len(body), http_headers=headers
            )
            writer.write_record(record)


def time_trafilatura(pages: list[tuple[str, bytes]]) -> float:
    start = time.perf_counter()
    for _url, body in pages:
        trafilatura.extract(body)
    return time.perf_counter() - start


def time_livedesk(warc: Path, db: Path) -> tuple[float, dict[str, int]]:
    async def run() -> dict[str, int]:
        with Store.open(str(db)) as store:
            async with Ingestor(store, Settings()) as ingestor:
                report = await ingestor.ingest([str(warc)])
        return dict(report.outcomes)

    start = time.perf_counter()
    outcomes = asyncio.run(run())
    return time.perf_counter() - start, outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "benchmarks")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=3, help="Alternating rounds; the best of each is reported.")
    args = parser.parse_args()

    pages = load_pages(args.data, args.limit)
    # Warm both paths once (language model, stop lists, dateparser), outside the timings.
    trafilatura.extract(pages[0][1])
    with tempfile.TemporaryDirectory() as tmp:
        warc = Path(tmp) / "pages.warc.gz"
        write_warc(warc, pages)
        time_livedesk(warc, Path(tmp) / "warm.db")
        baseline, livedesk, outcomes = [], [], {}
        for round_ in range(args.rounds):
            baseline.append(time_trafilatura(pages))
            seconds, outcomes = time_livedesk(warc, Path(tmp) / f"run{round_}.db")
            livedesk.append(seconds)

    n = len(pages)
    table = Table("pipeline", "pages", "best s", "pages/s", "× baseline", title="end-to-end ingest vs bare trafilatura")
    base_rate = n / min(baseline)
    table.add_row("bare trafilatura.extract", str(n), f"{min(baseline):.2f}", f"{base_rate:.1f}", "1.00")
    rate = n / min(livedesk)
    table.add_row(
        "livedesk ingest (WARC → store)", str(n), f"{min(livedesk):.2f}", f"{rate:.1f}", f"{rate / base_rate:.2f}"
    )
    Console().print(table)
    Console().print(f"outcomes of the last run: {outcomes}")


if __name__ == "__main__":
    main()
