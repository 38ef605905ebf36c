"""How long the event loop stalls while the embedded setup ingests, against the same loop idle.

The web process (SQLite default) serves live pages and polls sources on one event loop: any work the ingest runs
on the loop delays every open stream and API request by as long. A ticker asks the loop to wake it every 5 ms and
records how late each wake-up comes, first with the loop idle (the baseline), then while the scrapinghub pages
(written into one HTML file each) are ingested through the whole chain on the same loop.

    python bench/loop_stall.py [--data ../shared/benchmarks] [--limit N]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from livedesk.config import Settings  # noqa: E402
from livedesk.pipeline import Ingestor  # noqa: E402
from livedesk.store import Store  # noqa: E402

TICK = 0.005


async def ticker(lateness: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        start = time.perf_counter()
        await asyncio.sleep(TICK)
        lateness.append(time.perf_counter() - start - TICK)


async def measure(work: Callable[[], Awaitable[object]] | None, idle_seconds: float) -> list[float]:
    lateness: list[float] = []
    stop = asyncio.Event()
    ticking = asyncio.create_task(ticker(lateness, stop))
    await asyncio.sleep(TICK * 4)  # the ticker is waiting before the work starts
    lateness.clear()
    if work is None:
        await asyncio.sleep(idle_seconds)
    else:
        await work()
    stop.set()
    await ticking
    return lateness


def write_pages(data: Path, folder: Path, limit: int | None) -> int:
    root = data / "scrapinghub-article-extraction"
    truth = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
    keys = list(truth)[:limit] if limit else list(truth)
    for key in keys:
        (folder / f"{key}.html").write_bytes(gzip.decompress((root / "html" / f"{key}.html.gz").read_bytes()))
    return len(keys)


async def ingest(store: Store, folder: Path) -> object:
    # One extraction process: the embedded poller's situation (pages arrive a few at a time, not as a folder).
    async with Ingestor(store, Settings(extract_workers=1)) as ingestor:
        return await ingestor.ingest([str(folder)])


def row(name: str, lateness: list[float]) -> list[str]:
    ms = sorted(x * 1000 for x in lateness)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return [name, str(len(ms)), f"{statistics.median(ms):.2f}", f"{p99:.1f}", f"{ms[-1]:.1f}"]


async def main_async(data: Path, limit: int | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "pages"
        folder.mkdir()
        count = write_pages(data, folder, limit)
        with Store.open(str(Path(tmp) / "bench.db")) as store:
            idle = await measure(None, idle_seconds=5.0)
            started = time.perf_counter()
            busy = await measure(lambda: ingest(store, folder), idle_seconds=0)
            elapsed = time.perf_counter() - started
    table = Table("event loop", "wake-ups", "p50 late (ms)", "p99 late (ms)", "max late (ms)")
    table.add_row(*row("idle (baseline)", idle))
    table.add_row(*row(f"ingesting {count} pages ({elapsed:.1f} s)", busy))
    Console().print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "benchmarks")
    parser.add_argument("--limit", type=int, default=60)
    args = parser.parse_args()
    asyncio.run(main_async(args.data, args.limit))


if __name__ == "__main__":
    main()
