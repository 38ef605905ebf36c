"""The command line, in process through Typer's runner against a real SQLite file (and PostgreSQL where it
matters); a few tests run it as a real process (marked slow)."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool
from typer.testing import CliRunner

from livedesk.cli import main
from livedesk.desk.export import ARTICLE_FIELDS
from livedesk.publish import open_bus
from livedesk.store import Store
from tests.fixtures_db import POSTGRES_URL

SITE = Path(__file__).parent / "data" / "pipeline" / "site"
# Rich tables fit the terminal: a wide one keeps every cell on one line.
ENV = {"COLUMNS": "200"}


def livedesk(*args: str, db: Path | str | None = None, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """`livedesk [--db DB] ARGS` run in this process, as the installed command runs it (errors included), `input`
    on its stdin."""
    argv = [*(("--db", str(db)) if db is not None else ()), *args]
    runner = CliRunner()
    with runner.isolation(input=input, env=ENV) as (stdout, stderr, _output):
        try:
            main(argv)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        else:
            code = 0
        sys.stdout.flush()  # what the command wrote to sys.stdout itself (export) is buffered
        sys.stderr.flush()
        return subprocess.CompletedProcess(argv, code, stdout.getvalue().decode(), stderr.getvalue().decode())


def livedesk_process(*args: str, db: Path | str) -> subprocess.CompletedProcess[str]:
    """`livedesk --db DB ARGS` as a separate process."""
    return subprocess.run(
        [sys.executable, "-m", "livedesk", "--db", str(db), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **ENV},
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
    written = tmp_path / "out.jsonl"
    assert livedesk("export", "-o", str(written), db=db).returncode == 0
    assert written.read_text(encoding="utf-8") == exported.stdout


def test_nothing_readable_exits_non_zero_with_one_line_errors(tmp_path: Path) -> None:
    result = livedesk("ingest", str(tmp_path / "nope.html"), "not-a-url", db=tmp_path / "x.db")
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert "not an existing file" in result.stdout


@pytest.mark.slow
def test_unexpected_errors_are_one_line_unless_debug(tmp_path: Path) -> None:
    bad_db = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    result = livedesk_process("sources", "list", db=bad_db)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and result.stderr.strip().startswith("error:")
    assert len(result.stderr.strip().splitlines()) <= 3  # Rich may wrap one long line
    debug = livedesk_process("--debug", "sources", "list", db=bad_db)
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


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://", "no host"),
        ("https:///feed.xml", "no host"),
        ("http://news.example/latest feed.xml", "space"),
        ("http://news example/feed.xml", "space"),
        ("ftp://news.example/feed.xml", "http(s)"),
        ("http://news.example:99999/feed.xml", "port"),
    ],
)
def test_sources_add_refuses_unusable_urls_in_one_line(tmp_path: Path, url: str, reason: str) -> None:
    db = tmp_path / "desk.db"
    result = livedesk("sources", "add", url, db=db)
    assert result.returncode != 0
    assert reason in result.stderr and "Traceback" not in result.stderr
    with Store.open(str(db)) as store:
        assert store.list_sources() == []


def test_opml_import_skips_unusable_urls_and_says_which(tmp_path: Path) -> None:
    opml = tmp_path / "feeds.opml"
    opml.write_text(
        '<opml version="2.0"><body>'
        '<outline text="good" xmlUrl="https://news.example/feed.xml"/>'
        '<outline text="no host" xmlUrl="http://"/>'
        '<outline text="spaces" xmlUrl="https://news.example/a feed.xml"/>'
        "</body></opml>",
        encoding="utf-8",
    )
    db = tmp_path / "desk.db"
    result = livedesk("sources", "import-opml", str(opml), db=db)
    assert result.returncode == 0, result.stderr
    assert "1 added" in result.stdout and "2 skipped" in result.stdout
    assert "no host" in result.stdout and "space" in result.stdout
    with Store.open(str(db)) as store:
        assert [s.url for s in store.list_sources()] == ["https://news.example/feed.xml"]


def test_a_disabled_source_can_be_enabled_again(tmp_path: Path) -> None:
    db = tmp_path / "desk.db"
    livedesk("sources", "add", "https://news.example/feed.xml", db=db)
    with Store.open(str(db)) as store:
        [source] = store.list_sources()

    disabled = livedesk("sources", "disable", str(source.id), "--reason", "moved to a paywall", db=db)
    assert disabled.returncode == 0, disabled.stderr
    with Store.open(str(db)) as store:
        assert store.get_source(source.id).disabled_reason == "moved to a paywall"  # type: ignore[union-attr]
        assert store.due_sources(datetime.now(UTC)) == []

    enabled = livedesk("sources", "enable", str(source.id), db=db)
    assert enabled.returncode == 0, enabled.stderr
    with Store.open(str(db)) as store:
        again = store.get_source(source.id)
        assert again is not None and not again.disabled and again.disabled_reason is None
        assert [s.id for s in store.due_sources(datetime.now(UTC))] == [source.id]

    missing = livedesk("sources", "enable", "999", db=db)
    assert missing.returncode == 1 and "no source 999" in missing.stderr


ID_COMMANDS = [
    ("sources", "enable", "{id}"),
    ("sources", "disable", "{id}"),
    ("stories", "merge", "1", "{id}"),
    ("stories", "merge", "{id}", "1"),
    ("stories", "split", "{id}", "1"),
    ("stories", "split", "1", "{id}"),
    ("claims", "list", "{id}"),
    ("claims", "set-status", "{id}", "confirmed", "--editor", "e", "--reason", "r"),
    ("claims", "history", "{id}"),
]


@pytest.mark.parametrize("bad_id", [0, 2**31, 2**63])
def test_ids_out_of_range_are_refused_before_the_database(database_url: str, bad_id: int) -> None:
    """A usage error naming the argument, not a database error (or its SQL) from PostgreSQL or SQLite."""
    assert livedesk("init", db=database_url).returncode == 0
    for args in ID_COMMANDS:
        result = livedesk(*(a.format(id=bad_id) for a in args), db=database_url)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "Invalid value" in result.stderr and "SQL" not in result.stderr, (args, result.stderr)


def test_db_and_debug_are_accepted_after_the_command(tmp_path: Path) -> None:
    db = tmp_path / "after.db"
    added = livedesk("sources", "add", "https://news.example/feed.xml", "--db", str(db))
    assert added.returncode == 0, added.stderr
    listed = livedesk("sources", "list", "--db", str(db), "--debug")
    assert listed.returncode == 0, listed.stderr
    assert "https://news.example/feed.xml" in listed.stdout
    assert livedesk("init", "--db", str(tmp_path / "other.db")).returncode == 0
    assert (tmp_path / "other.db").exists()
    with Store.open(str(db)) as store:
        assert len(store.list_sources()) == 1
    # Placed after the command, --debug shows the traceback too.
    with pytest.raises(sa.exc.OperationalError):
        main(["sources", "list", "--db", "postgresql+psycopg://nobody@127.0.0.1:1/none", "--debug"])
    # And between a group and its command.
    between = livedesk("sources", "--db", str(db), "list")
    assert between.returncode == 0, between.stderr
    assert "https://news.example/feed.xml" in between.stdout


@pytest.mark.postgres
def test_a_missing_postgres_database_is_one_line_saying_how_to_create_it() -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/livedesk_missing_{secrets.token_hex(4)}"
    listed = livedesk("sources", "list", db=url)
    assert listed.returncode == 1
    (line,) = listed.stderr.strip().splitlines()
    assert "does not exist" in line and "livedesk --db URL init" in line


@pytest.mark.postgres
def test_init_creates_a_missing_postgres_database() -> None:
    name = f"livedesk_init_{secrets.token_hex(6)}"
    url = sa.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    admin = sa.create_engine(POSTGRES_URL, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        result = livedesk("init", db=url)
        assert result.returncode == 0, result.stderr
        assert "created database" in result.stdout
        with Store.open(url) as store:
            assert store.list_sources() == []
        again = livedesk("init", db=url)
        assert again.returncode == 0 and "created database" not in again.stdout
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.mark.slow
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

    result = livedesk_process("ingest", str(pages), db=db)
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


@pytest.mark.slow
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


def test_audit_lists_desk_actions_with_actor_time_and_before_after(tmp_path: Path) -> None:
    db = tmp_path / "desk.db"
    assert livedesk("ingest", str(SITE), db=db).returncode == 0
    assert livedesk("sources", "add", "https://news.example/feed.xml", db=db).returncode == 0
    assert livedesk("sources", "disable", "1", "--reason", "moved to a paywall", db=db).returncode == 0
    created = livedesk("live", "create", "--slug", "gates", "--title", "Gates", "--query", "gates", db=db)
    assert created.returncode == 0, created.stderr
    with Store.open(f"sqlite:///{db}") as store:
        first, *others = [story.id for story in store.list_stories()]
    assert others, "the sample site gives more than one story"
    assert livedesk("stories", "merge", str(first), str(others[0]), db=db).returncode == 0

    table = livedesk("audit", db=db)
    assert table.returncode == 0, table.stderr
    for shown in ("source.add", "source.disable", "topic.create", "story.merge", "command line", "moved to a paywall"):
        assert shown in table.stdout

    lines = livedesk("audit", "--json", "--target", "source:1", db=db).stdout.splitlines()
    entries = [json.loads(line) for line in lines]
    assert [e["action"] for e in entries] == ["source.disable", "source.add"]
    disable = entries[0]
    assert disable["actor_name"] == "command line" and datetime.fromisoformat(disable["at"]).tzinfo is not None
    assert (disable["before"]["disabled"], disable["after"]["disabled"]) == (False, True)
    assert len(livedesk("audit", "--json", "--limit", "1", db=db).stdout.splitlines()) == 1
    assert livedesk("audit", "--json", "--actor", "nobody", db=db).stdout == ""
