"""Search under hostile queries, on SQLite and PostgreSQL: the work reaching the database is bounded by the
number of different words, a search stops at its time limit, and it stops when the reader goes away."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa

from livedesk.models import SearchFilter
from livedesk.store import Store
from livedesk.store.search_syntax import MAX_SEARCH_TERMS, search_terms
from livedesk.store.web import SearchCancel, SearchCancelledError, SearchTimeoutError
from livedesk.web.inputs import MAX_QUERY_CHARS
from tests.web_fixtures import NOW, Desk, put, running_app, served

HANG = 30  # seconds: only catches a search that never ends (the hostile query took minutes before the fix)
WORD = "harbour"
VOCABULARY = [f"w{n}x" for n in range(60)]


def _articles(store: Store, count: int = 36) -> list[int]:
    """`count` articles of ~900 words, each holding WORD and every word of VOCABULARY."""
    ids = []
    for n in range(count):
        words = [WORD if i % 40 == 0 else VOCABULARY[(i * 7 + n) % len(VOCABULARY)] for i in range(900)]
        text = "\n\n".join(" ".join(words[i : i + 60]) + "." for i in range(0, len(words), 60))
        ids.append(put(store, f"long-{n}", text=text, published=NOW - timedelta(minutes=n)).id)
    return ids


@contextmanager
def _statements(store: Store) -> Iterator[list[str]]:
    """The text parameters of every statement the store sends meanwhile."""
    sent: list[str] = []

    def record(_conn: object, _cursor: object, _statement: str, parameters: object, *_: object) -> None:
        values = parameters.values() if isinstance(parameters, dict) else parameters or ()
        sent.extend(value for value in values if isinstance(value, str))  # type: ignore[union-attr]

    sa.event.listen(store._engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        sa.event.remove(store._engine, "before_cursor_execute", record)


def test_search_terms_are_the_different_words() -> None:
    assert search_terms("Gates, gates; GATES jammed -gates") == ["gates", "jammed"]
    assert search_terms(f"{WORD} " * 1500) == [WORD]


async def test_the_issues_hostile_query_is_answered_without_burning_the_database(desk: Desk) -> None:
    _articles(desk.store)
    hostile = " ".join([WORD] * 1500)
    with _statements(desk.store) as sent:
        for path in ("/api/search", "/search"):
            response = await asyncio.wait_for(desk.client.get(path, params={"q": hostile}), HANG)
            assert response.status_code == 422, path
        assert response.headers["content-type"].startswith("text/html")
    assert not any(WORD in value for value in sent)  # refused before any search work
    body = (await desk.client.get("/api/search", params={"q": hostile})).json()
    assert body["error"]["code"] == "invalid_request" and str(MAX_QUERY_CHARS) in body["error"]["message"]


async def test_a_repeated_word_reaches_the_database_once(desk: Desk) -> None:
    ids = _articles(desk.store)
    repeated = " ".join([WORD, WORD.upper(), WORD.title()] * 20)
    assert len(repeated) <= MAX_QUERY_CHARS
    normal = (await desk.client.get("/api/search", params={"q": WORD})).json()
    with _statements(desk.store) as sent:
        response = await asyncio.wait_for(desk.client.get("/api/search", params={"q": repeated}), HANG)
    assert response.status_code == 200
    items = response.json()["items"]
    assert [i["id"] for i in items] == [i["id"] for i in normal["items"]] == ids[:20]
    assert all(f"\ue000{WORD}\ue001" in item["snippet"].lower() for item in items)
    searched = [value for value in sent if WORD in value.lower()]
    assert searched and all(value.lower().count(WORD) == 1 for value in searched)


async def test_more_different_words_than_the_cap_are_refused_and_the_cap_is_served(desk: Desk) -> None:
    _articles(desk.store)
    too_many = " ".join(VOCABULARY[: MAX_SEARCH_TERMS + 1])
    response = await desk.client.get("/api/search", params={"q": too_many})
    assert response.status_code == 422 and str(MAX_SEARCH_TERMS) in response.json()["error"]["message"]
    at_cap = " ".join(VOCABULARY[:MAX_SEARCH_TERMS])
    with _statements(desk.store) as sent:
        response = await asyncio.wait_for(desk.client.get("/api/search", params={"q": at_cap}), HANG)
    assert response.status_code == 200 and len(response.json()["items"]) == 20
    assert max(sum(word in value for word in VOCABULARY) for value in sent) == MAX_SEARCH_TERMS


def test_snippets_are_computed_for_the_page_only(store: Store) -> None:
    _articles(store)
    found = store.search(SearchFilter(WORD), WORD, limit=5)
    assert len(found.page.items) == 5 and set(found.snippets) == {item.id for item in found.page.items}


def test_a_cancelled_search_does_not_run(store: Store) -> None:
    _articles(store)
    cancel = SearchCancel()
    cancel.cancel()
    with _statements(store) as sent, pytest.raises(SearchCancelledError):
        store.search(SearchFilter(WORD), WORD, cancel=cancel)
    assert not any(WORD in value for value in sent)


def test_sqlite_search_stops_at_its_deadline(tmp_path) -> None:
    """The progress handler checks the deadline while the statement runs: a deadline already passed stops the
    first statement at its first check."""
    with Store.open(f"sqlite:///{tmp_path / 'search.db'}") as store:
        _articles(store)
        with pytest.raises(SearchTimeoutError):
            store.search(SearchFilter(WORD), WORD, timeout=0)
        assert len(store.search(SearchFilter(WORD), WORD).page.items) == 20  # the connection is usable again


@contextmanager
def _articles_locked(url: str) -> Iterator[sa.Connection]:
    """Another transaction holding an exclusive lock on articles: every search waits until it ends."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection, connection.begin():
            connection.exec_driver_sql("LOCK TABLE articles IN ACCESS EXCLUSIVE MODE")
            yield connection
    finally:
        engine.dispose()


def _waiting_on_articles(connection: sa.Connection) -> int:
    query = "SELECT count(*) FROM pg_locks WHERE relation = 'articles'::regclass AND NOT granted"
    return connection.exec_driver_sql(query).scalar_one()


def _until(condition: object) -> None:
    for _ in range(HANG * 20):
        if condition():  # type: ignore[operator]
            return
        threading.Event().wait(0.05)
    raise AssertionError("still waiting after the hang timeout")


@pytest.mark.postgres
def test_postgres_search_stops_at_its_statement_timeout_and_on_cancel(postgres_url: str) -> None:
    with Store.open(postgres_url) as store:
        _articles(store, 3)
        with _articles_locked(postgres_url) as holder:
            with pytest.raises(SearchTimeoutError):
                store.search(SearchFilter(WORD), WORD, timeout=0.2)

            cancel = SearchCancel()
            outcome: list[BaseException] = []

            def search() -> None:
                try:
                    store.search(SearchFilter(WORD), WORD, timeout=HANG * 2, cancel=cancel)
                except BaseException as error:
                    outcome.append(error)

            thread = threading.Thread(target=search)
            thread.start()
            _until(lambda: _waiting_on_articles(holder) == 1)
            cancel.cancel()
            thread.join(HANG)
            assert not thread.is_alive()
            assert [type(error) for error in outcome] == [SearchCancelledError]
            assert _waiting_on_articles(holder) == 0
        assert len(store.search(SearchFilter(WORD), WORD).page.items) == 3


@pytest.mark.postgres
async def test_a_reader_leaving_stops_the_search_in_the_database(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="livedesk.web.search")
    async with running_app(postgres_url) as app, served(app) as base:
        _articles(app.state.store, 3)
        with _articles_locked(postgres_url) as holder:
            async with httpx.AsyncClient(base_url=base) as client:
                with pytest.raises(httpx.ReadTimeout):
                    await client.get("/api/search", params={"q": WORD}, timeout=1)
            # The search waits on the lock until its statement timeout unless the server cancels it.
            await asyncio.to_thread(_until, lambda: _waiting_on_articles(holder) == 0)
        assert "search stopped: the client went away" in caplog.messages
