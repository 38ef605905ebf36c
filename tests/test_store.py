"""Store against real SQLite files and the real PostgreSQL server."""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from livedesk.models import Article, SourceKind, UpsertOutcome
from livedesk.store import SourceNotFoundError, Store
from livedesk.store.schema import metadata
from livedesk.store.web import SEARCH_INDEX_NAMES
from tests import factories
from tests.fixtures_db import with_postgres_options

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
WIB = timezone(timedelta(hours=7))


def make_article(n: int = 1, **changes: Any) -> Article:
    """Article number `n` of one outlet, its feed link carrying tracking parameters; `changes` replace fields as
    they are (a test changing the text and not its hash means it)."""
    article = factories.make_article(
        f"https://news.example/{n}?utm_source=feed",
        f"First paragraph {n}.\n\nSecond paragraph.",
        canonical=f"https://news.example/{n}",
        title=f"Headline {n}",
        byline="A. Reporter",
        published_at=T0 - timedelta(hours=1),
        language="en",
    )
    return replace(article, **changes)


@pytest.fixture
def fail_on(store: Store) -> Iterator[Callable[[str], None]]:
    """Make the next statement starting with the given SQL raise after it ran, as a crash would."""
    engine = store._engine

    def arm(prefix: str) -> None:
        def crash(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if statement.lstrip().upper().startswith(prefix):
                sa.event.remove(engine, "after_cursor_execute", crash)
                raise RuntimeError("simulated crash")

        sa.event.listen(engine, "after_cursor_execute", crash)

    yield arm


# migrations


def test_migrations_reach_head_and_are_idempotent(database_url: str) -> None:
    scripts = ScriptDirectory(str(files("livedesk.store") / "migrations"))
    for _ in range(2):
        with Store.open(database_url) as store, store._engine.connect() as connection:
            version = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one()
            assert version == scripts.get_current_head()
            assert {"sources", "articles"} <= set(sa.inspect(connection).get_table_names())


def test_migrated_schema_matches_the_table_definitions(store: Store) -> None:
    with store._engine.connect() as connection:
        # The search index differs per backend and is not table metadata (livedesk.store.web.SEARCH_INDEX_NAMES).
        context = MigrationContext.configure(
            connection, opts={"include_name": lambda name, *_: name not in SEARCH_INDEX_NAMES}
        )
        assert compare_metadata(context, metadata) == []


def test_plain_path_opens_a_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "plain.db"
    with Store.open(str(path)) as store:
        assert store.dialect == "sqlite"
        store.add_source("https://news.example/feed.xml")
    assert path.exists()


def test_sqlite_runs_in_wal_mode_with_safe_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    with Store.open(f"sqlite:///{path}") as store, store._engine.connect() as connection:
        pragmas = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        }
    assert pragmas == {"journal_mode": "wal", "synchronous": 1, "foreign_keys": 1, "busy_timeout": 30_000}
    # WAL is a property of the file: any other reader sees it too.
    with sqlite3.connect(path) as other:
        assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_deleting_a_source_keeps_its_articles(store: Store) -> None:
    source, _ = store.add_source("https://news.example/feed.xml")
    store.upsert_article(make_article(source_id=source.id))
    with store._engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM sources WHERE id = :id"), {"id": source.id})
    stored = store.get_article(make_article().url_hash)
    assert stored is not None and stored.article.source_id is None


# sources


def test_add_source_is_idempotent_on_url(store: Store) -> None:
    first, created = store.add_source("https://news.example/feed.xml", SourceKind.FEED, "News")
    again, created_again = store.add_source("https://news.example/feed.xml", SourceKind.PAGE, "Other")
    assert (created, created_again) == (True, False)
    assert again == first
    assert (first.kind, first.title, first.error_count, first.disabled) == (SourceKind.FEED, "News", 0, False)
    assert store.list_sources() == [first]
    assert store.get_source(first.id) == first
    assert store.get_source(first.id + 1000) is None


def test_due_sources_are_enabled_and_due_longest_waiting_first(store: Store) -> None:
    ids = {name: store.add_source(f"https://{name}.example/feed")[0].id for name in ("new", "a", "b", "later", "off")}
    for name, next_poll_at in (
        ("a", T0 - timedelta(minutes=5)),
        ("b", T0 - timedelta(minutes=10)),
        ("later", T0 + timedelta(seconds=1)),
    ):
        store.record_poll_success(ids[name], polled_at=T0, next_poll_at=next_poll_at, etag=None, last_modified=None)
    store.record_poll_failure(ids["off"], polled_at=T0, error="gone", next_poll_at=T0, disable_after=1)

    assert [s.id for s in store.due_sources(T0)] == [ids["new"], ids["b"], ids["a"]]
    assert ids["later"] in [s.id for s in store.due_sources(T0 + timedelta(seconds=1))]


def test_poll_success_stores_validators_and_clears_failures(store: Store) -> None:
    source, _ = store.add_source("https://news.example/feed.xml", title="Old title")
    store.record_poll_failure(source.id, polled_at=T0, error="timeout", next_poll_at=T0, disable_after=5)
    store.record_poll_success(
        source.id,
        polled_at=T0,
        next_poll_at=T0 + timedelta(minutes=15),
        etag='"v2"',
        last_modified="Wed, 01 May 2024 12:00:00 GMT",
    )
    polled = store.get_source(source.id)
    assert polled is not None
    assert (polled.error_count, polled.last_error, polled.etag, polled.title) == (
        0,
        None,
        '"v2"',
        "Old title",
    )
    assert polled.last_modified == "Wed, 01 May 2024 12:00:00 GMT"
    assert (polled.last_polled_at, polled.next_poll_at) == (T0, T0 + timedelta(minutes=15))

    store.record_poll_success(
        source.id, polled_at=T0, next_poll_at=T0, etag=None, last_modified=None, title="New title"
    )
    assert store.get_source(source.id).title == "New title"


def test_poll_failures_disable_the_source_until_enabled(store: Store) -> None:
    source, _ = store.add_source("https://broken.example/feed.xml")
    first = store.record_poll_failure(
        source.id, polled_at=T0, error="HTTP 500", next_poll_at=T0 + timedelta(minutes=30), disable_after=2
    )
    assert (first.error_count, first.last_error, first.disabled) == (1, "HTTP 500", False)
    assert first.next_poll_at == T0 + timedelta(minutes=30)

    second = store.record_poll_failure(source.id, polled_at=T0, error="HTTP 503", next_poll_at=T0, disable_after=2)
    assert (second.error_count, second.last_error, second.disabled) == (2, "HTTP 503", True)
    assert "2 consecutive failures" in second.disabled_reason and "HTTP 503" in second.disabled_reason
    assert store.due_sources(T0 + timedelta(days=1)) == []

    store.enable_source(source.id)
    enabled = store.get_source(source.id)
    assert (enabled.disabled, enabled.disabled_reason, enabled.error_count, enabled.last_error) == (
        False,
        None,
        0,
        None,
    )
    assert [s.id for s in store.due_sources(T0)] == [source.id]


def test_updating_an_unknown_source_raises(store: Store) -> None:
    with pytest.raises(SourceNotFoundError):
        store.enable_source(12345)


# articles


def test_upsert_new_then_duplicate_changes_nothing(store: Store) -> None:
    article = make_article()
    assert store.upsert_article(article).outcome is UpsertOutcome.NEW
    stored = store.get_article(article.url_hash)
    assert stored is not None and stored.article == article
    assert (stored.syndicated_from, stored.story_id) == (None, None)

    assert store.upsert_article(article).outcome is UpsertOutcome.DUPLICATE
    assert store.get_article(article.url_hash) == stored
    assert store.count_articles() == 1


@pytest.mark.parametrize(
    "change",
    [
        {"text": "Corrected text.", "content_hash": "d" * 64},
        {"title": "Updated headline"},
        {"byline": "B. Writer"},
        {"published_at": T0},
    ],
    ids=["text", "title", "byline", "published_at"],
)
def test_upsert_with_changes_updates_in_place(store: Store, change: dict[str, Any]) -> None:
    article = make_article()
    store.upsert_article(article)
    before = store.get_article(article.url_hash)

    later = replace(article, first_seen_at=T0 + timedelta(hours=3), **change)
    assert store.upsert_article(later).outcome is UpsertOutcome.UPDATED
    after = store.get_article(article.url_hash)
    assert after.id == before.id
    assert after.updated_at > before.updated_at
    assert after.article == replace(later, first_seen_at=article.first_seen_at)
    assert store.count_articles() == 1


def test_date_only_days_and_desk_bylines_round_trip(store: Store) -> None:
    day = datetime(2024, 5, 2, tzinfo=UTC)
    article = make_article(published_at=day, published_date_only=True, byline="Staff", byline_is_organisation=True)
    store.upsert_article(article)
    assert store.get_article(article.url_hash).article == article
    # The page later gives the time of day: the same day, now an instant.
    precise = replace(article, published_at=day + timedelta(hours=9), published_date_only=False)
    assert store.upsert_article(precise).outcome is UpsertOutcome.UPDATED
    assert store.get_article(article.url_hash).article.published_date_only is False


def test_missing_date_or_source_does_not_erase_known_ones(store: Store) -> None:
    source, _ = store.add_source("https://news.example/feed.xml")
    article = make_article(source_id=source.id)
    store.upsert_article(article)
    assert store.upsert_article(replace(article, published_at=None, source_id=None)).outcome is UpsertOutcome.DUPLICATE
    assert store.get_article(article.url_hash).article == article


def test_full_text_replaces_a_summary_but_never_the_reverse(store: Store) -> None:
    summary = make_article(
        text="Short summary.", html="<p>Short summary.</p>", content_hash="s" * 64, from_summary=True
    )
    full = make_article()
    assert store.upsert_article(summary).outcome is UpsertOutcome.NEW
    assert store.upsert_article(full).outcome is UpsertOutcome.UPDATED
    assert store.upsert_article(summary).outcome is UpsertOutcome.DUPLICATE
    assert store.upsert_article(replace(summary, title="Newer feed title")).outcome is UpsertOutcome.DUPLICATE
    stored = store.get_article(full.url_hash).article
    assert (stored.text, stored.from_summary, stored.title) == (full.text, False, full.title)


def test_summary_changes_update_a_summary(store: Store) -> None:
    summary = make_article(content_hash="s" * 64, from_summary=True)
    store.upsert_article(summary)
    assert store.upsert_article(replace(summary, content_hash="t" * 64)).outcome is UpsertOutcome.UPDATED


def test_datetimes_round_trip_as_aware_utc(database_url: str) -> None:
    # A non-UTC session time zone on PostgreSQL shows values come back normalised, not as the server says.
    url = (
        database_url
        if database_url.startswith("sqlite")
        else with_postgres_options(database_url, "-cTimeZone=Asia/Jakarta")
    )
    published = datetime(2024, 5, 1, 19, 30, 15, 123456, tzinfo=WIB)
    article = make_article(published_at=published, first_seen_at=published + timedelta(minutes=1))
    with Store.open(url) as store:
        store.upsert_article(article)
        source, _ = store.add_source("https://news.example/feed.xml")
        store.record_poll_success(source.id, polled_at=published, next_poll_at=published, etag=None, last_modified=None)
        stored = store.get_article(article.url_hash)
        polled = store.get_source(source.id)
        assert store.due_sources(published) == [polled]
        assert store.due_sources(published - timedelta(microseconds=1)) == []

    for value, expected in (
        (stored.article.published_at, published),
        (stored.article.first_seen_at, published + timedelta(minutes=1)),
        (polled.next_poll_at, published),
        (polled.last_polled_at, published),
    ):
        assert value == expected
        assert value.tzinfo is UTC
    assert stored.article.published_at.hour == 12
    assert stored.updated_at.tzinfo is UTC


def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        store.upsert_article(make_article(published_at=datetime(2024, 5, 1, 12, 0)))
    assert store.count_articles() == 0


@pytest.mark.parametrize("same_content", [True, False], ids=["same", "different"])
def test_concurrent_upserts_of_one_url_make_one_row(database_url: str, same_content: bool) -> None:
    writers = 8
    articles = [
        make_article() if same_content else make_article(content_hash=f"{i:064x}", text=f"Version {i}.")
        for i in range(writers)
    ]
    # Two Store objects: on SQLite they do not share the in-process lock, so the file lock must hold too.
    stores = [Store.open(database_url), Store.open(database_url)]
    start = threading.Barrier(writers)
    outcomes: list[UpsertOutcome] = []
    errors: list[BaseException] = []

    def write(i: int) -> None:
        start.wait()
        try:
            outcomes.append(stores[i % 2].upsert_article(articles[i]).outcome)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        later = UpsertOutcome.DUPLICATE if same_content else UpsertOutcome.UPDATED
        assert Counter(outcomes) == {UpsertOutcome.NEW: 1, later: writers - 1}
        assert stores[0].count_articles() == 1
    finally:
        for store in stores:
            store.close()


def test_crash_during_insert_leaves_no_row(store: Store, fail_on: Callable[[str], None]) -> None:
    fail_on("INSERT INTO ARTICLES")
    with pytest.raises(RuntimeError, match="simulated crash"):
        store.upsert_article(make_article())
    assert store.count_articles() == 0
    assert store.upsert_article(make_article()).outcome is UpsertOutcome.NEW


def test_crash_during_update_keeps_the_previous_version(store: Store, fail_on: Callable[[str], None]) -> None:
    article = make_article()
    store.upsert_article(article)
    before = store.get_article(article.url_hash)
    fail_on("UPDATE ARTICLES")
    with pytest.raises(RuntimeError, match="simulated crash"):
        store.upsert_article(replace(article, title="Half-written"))
    assert store.get_article(article.url_hash) == before
    assert store.upsert_article(replace(article, title="Half-written")).outcome is UpsertOutcome.UPDATED


def test_iterate_count_and_find_by_content(store: Store) -> None:
    for n in range(1, 8):
        store.upsert_article(make_article(n))
    copy = make_article(99, site="copy.example", content_hash=make_article(3).content_hash)
    store.upsert_article(copy)

    stored = list(store.iter_articles(batch_size=3))
    assert [s.article.url_hash for s in stored] == [make_article(n).url_hash for n in (*range(1, 8), 99)]
    assert [s.id for s in stored] == sorted(s.id for s in stored)
    assert store.count_articles() == 8
    assert [s.article.site for s in store.find_by_content_hash(copy.content_hash)] == [
        "news.example",
        "copy.example",
    ]
    assert store.find_by_content_hash("0" * 64) == []


def test_find_article_by_fetched_url_or_canonical_hash(store: Store) -> None:
    article = make_article(5)
    store.upsert_article(article)
    assert store.find_article(article.url, "f" * 64).article.url_hash == article.url_hash
    assert store.find_article("https://elsewhere.example/", article.url_hash).article.url == article.url
    assert store.find_article("https://elsewhere.example/", "f" * 64) is None
