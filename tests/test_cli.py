"""The command line, run as a real process against a real SQLite file (and PostgreSQL where it matters)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from livedesk.export import ARTICLE_FIELDS
from livedesk.publish import open_bus
from livedesk.store import Store

SITE = Path(__file__).parent / "data" / "pipeline" / "site"


def livedesk(*args: str, db: Path | str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "livedesk", "--db", str(db), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


def test_ingest_prints_a_summary_and_export_follows_the_contract(tmp_path: Path) -> None:
    db = tmp_path / "desk.db"
    result = livedesk("ingest", str(SITE), db=db)
    assert result.returncode == 0, result.stderr
    assert "ingest summary" in result.stdout
    assert "3" in result.stdout.split("ingest summary", 1)[1]

    exported = livedesk("export", "--format", "jsonl", db=db)
    records = [json.loads(line) for line in exported.stdout.splitlines()]
    assert len(records) == 3
    for record in records:
        assert tuple(record) == ARTICLE_FIELDS
        assert record["text"] and "\n\n" in record["text"]
        assert all(set(entity) == {"name", "type"} for entity in record["entities"])
        assert all(set(claim) == {"text", "attributed_to", "cue", "status"} for claim in record["claims"])
        assert record["views"] == 0
        assert record["syndicated_from"] is None

    by_title = {record["title"]: record for record in records}
    bridge = by_title["Old Mill Bridge reopens after six months of repairs"]
    assert {"name": "Marta Lindqvist", "type": "PERSON"} in bridge["entities"]
    assert any(claim["attributed_to"] == "Marta Lindqvist" and claim["cue"] == "said" for claim in bridge["claims"])

    csv_out = livedesk("export", "--format", "csv", db=db)
    assert csv_out.stdout.splitlines()[0] == ",".join(ARTICLE_FIELDS)


def test_nothing_readable_exits_non_zero_with_one_line_errors(tmp_path: Path) -> None:
    result = livedesk("ingest", str(tmp_path / "nope.html"), "not-a-url", db=tmp_path / "x.db")
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert "not an existing file" in result.stdout


def test_unexpected_errors_are_one_line_unless_debug(tmp_path: Path) -> None:
    bad_db = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    result = livedesk("sources", "list", db=bad_db)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and result.stderr.strip().startswith("error:")
    assert len(result.stderr.strip().splitlines()) <= 3  # Rich may wrap one long line
    debug = subprocess.run(
        [sys.executable, "-m", "livedesk", "--db", bad_db, "--debug", "sources", "list"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" in debug.stderr


def test_sources_opml_round_trip(tmp_path: Path) -> None:
    db = tmp_path / "desk.db"
    assert livedesk("sources", "add", "https://news.example/feed.xml", "--title", "News", db=db).returncode == 0
    assert "already present" in livedesk("sources", "add", "https://news.example/feed.xml", db=db).stdout
    opml = tmp_path / "out.opml"
    assert livedesk("sources", "export-opml", "-o", str(opml), db=db).returncode == 0
    imported = livedesk("sources", "import-opml", str(opml), db=tmp_path / "other.db")
    assert "1 added" in imported.stdout
    listing = livedesk("sources", "list", db=tmp_path / "other.db")
    assert "https://news.example/feed.xml" in listing.stdout


def test_a_killed_ingest_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    """Kill -9 mid-ingest, then run again: every committed article is kept once, the rest arrive."""
    pages = tmp_path / "pages"
    pages.mkdir()
    template = (SITE / "council-budget.html").read_text()
    count = 150
    for i in range(count):
        page = template.replace("council-budget-library-hours", f"council-budget-{i}").replace(
            "four-hour debate", f"debate number {i}"
        )
        (pages / f"page{i:03}.html").write_text(page, encoding="utf-8")
    db = tmp_path / "desk.db"
    assert livedesk("init", db=db).returncode == 0

    proc = subprocess.Popen([sys.executable, "-m", "livedesk", "--db", str(db), "ingest", str(pages)])
    committed = 0
    deadline = time.monotonic() + 60
    while committed < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
        with sqlite3.connect(db) as conn:
            committed = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 5 <= committed < count

    with sqlite3.connect(db) as conn:
        survived = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    assert survived >= committed

    result = livedesk("ingest", str(pages), db=db)
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(db) as conn:
        total, distinct = conn.execute("SELECT count(*), count(DISTINCT url_hash) FROM articles").fetchone()
    assert total == distinct == count


@pytest.mark.postgres
def test_ingest_into_postgres(postgres_url: str) -> None:
    result = livedesk("ingest", str(SITE), db=postgres_url)
    assert result.returncode == 0, result.stderr
    again = livedesk("ingest", str(SITE), db=postgres_url)
    exported = livedesk("export", db=postgres_url)
    assert len(exported.stdout.splitlines()) == 3
    assert "duplicate" in again.stdout


@pytest.mark.postgres
async def test_ingest_announces_new_articles_to_other_processes_on_postgres(postgres_url: str) -> None:
    """`livedesk ingest` in one process; a web process elsewhere hears it through LISTEN/NOTIFY."""
    bus = open_bus(postgres_url)
    await bus.start()
    try:
        async with bus.subscribe() as subscription:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "livedesk",
                "--db",
                postgres_url,
                "ingest",
                str(SITE / "ferry-timetable.html"),
                stdout=asyncio.subprocess.DEVNULL,
            )
            assert await process.wait() == 0
            with Store.open(postgres_url) as store:
                stored = next(store.iter_articles())
            # NOTIFY is per database: other tests' schemas may publish too, so look for ours.
            async with asyncio.timeout(30):
                async for update in subscription:
                    if update.article_id == stored.id and update.story_id == stored.story_id:
                        break
    finally:
        await bus.stop()
