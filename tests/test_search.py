"""Search on SQLite and PostgreSQL: stemming, relevance, phrases, OR and -word read alike by both, hostile
syntax answered without errors, one entry per story, exact pages in both orders; and under hostile queries, the
work reaching the database is bounded by the number of words, a search stops at its time limit, and it stops
when the reader goes away."""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from importlib.resources import files

import httpx
import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from livedesk.models import SearchFilter
from livedesk.store import Store
from livedesk.store.schema import UTCDateTime
from livedesk.store.search_syntax import MAX_SEARCH_TERMS, search_terms
from livedesk.store.web import SearchCancel, SearchCancelledError, SearchTimeoutError
from livedesk.web.inputs import MAX_QUERY_CHARS
from tests.web_fixtures import NOW, Desk, one_story, put, running_app, served

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


# the query language, stemming and relevance, on both databases

CORPUS = {
    "flood-title": ("Flood defences fail in the valley", "Water poured over the walls after the defences failed."),
    "floods": ("Rain report", "Floods closed three roads near the river and the water level rose again."),
    "flooded": ("Harbour update", "The harbour flooded overnight; the level of water in the basin fell by noon."),
    "passing": (
        "Council budget approved",
        "The council approved the budget for schools, parks and roads. "
        "One councillor mentioned last year's flood in passing. The vote was nine to two.",
    ),
    "storm": ("Storm warning issued", "A storm warning covers the coast until Friday; heavy rain is expected."),
    "ferry": ("Ferry timetable", "The ferry timetable changes next week for the winter season."),
}


def _corpus(store: Store) -> dict[str, int]:
    """CORPUS, the first entry the newest; the ids by slug."""
    return {
        slug: put(store, slug, title=title, text=text, published=NOW - timedelta(hours=n)).id
        for n, (slug, (title, text)) in enumerate(CORPUS.items())
    }


def _found(store: Store, q: str, **options: object) -> list[int]:
    return [item.id for item in store.search(SearchFilter(q), q, **options).page.items]  # type: ignore[arg-type]


def test_flooding_finds_flood_floods_and_flooded(store: Store) -> None:
    ids = _corpus(store)
    expected = {ids[slug] for slug in ("flood-title", "floods", "flooded", "passing")}
    for q in ("flooding", "flood", "FLOODS"):
        assert set(_found(store, q)) == expected, q
    found = store.search(SearchFilter("flooding"), "flooding")
    assert "\ue000Floods\ue001" in found.snippets[ids["floods"]]


def test_a_title_match_ranks_above_a_passing_mention(store: Store) -> None:
    ids = _corpus(store)
    by_relevance = _found(store, "flood")
    assert by_relevance.index(ids["flood-title"]) < by_relevance.index(ids["passing"])
    assert by_relevance[0] == ids["flood-title"]
    by_date = _found(store, "flood", order="date")
    assert by_date == [ids[slug] for slug in ("flood-title", "floods", "flooded", "passing")]


def test_phrases_or_and_exclusions(store: Store) -> None:
    ids = _corpus(store)
    assert _found(store, '"water level"') == [ids["floods"]]
    assert set(_found(store, "water level")) == {ids["floods"], ids["flooded"]}
    assert set(_found(store, "ferry OR storm")) == {ids["ferry"], ids["storm"]}
    assert set(_found(store, "rain OR ferry timetable")) == {ids["ferry"]}  # OR binds first: (rain | ferry) & …
    assert set(_found(store, "flood -water")) == {ids["passing"]}
    assert set(_found(store, 'flood -"water level"')) == {ids["flood-title"], ids["flooded"], ids["passing"]}
    assert _found(store, "or") == []  # a lone OR is the word "or", which no article here holds
    assert _found(store, "-flood") == []  # exclusions alone find nothing
    assert set(_found(store, "the")) == set(ids.values())  # no stop words: "the" is a word like any other


HOSTILE = [
    '"unbalanced quote',
    'flood "',
    '"',
    '""',
    "NEAR(flood water)",
    "NEAR(flood, 2",
    "title:flood",
    "{title text}:flood",
    "flood*",
    "*",
    "^flood",
    "-",
    "- -",
    "--flood",
    '-"',
    "OR",
    "OR OR",
    "flood OR OR water",
    "OR flood OR",
    "AND NOT flood",
    "flood & !water | (rain",
    "flood:* <-> water:A",
    "'flood' \\' \\\\",
    "x\x00y",
    "\u00b2 \u0663 _ \u00e9t\u00e9",
    "(((((flood",
    " ".join(["OR"] * 200),
    " ".join(f'"w{n} -x' for n in range(80)),
    "flood " * 400,
]


def test_hostile_syntax_never_errors(store: Store) -> None:
    ids = _corpus(store)
    for q in HOSTILE:
        for order in ("relevance", "date"):
            store.search(SearchFilter(q), q, order=order, by_story=True)  # type: ignore[arg-type]
    assert set(_found(store, "flood*")) == set(_found(store, "flood"))  # `*` is not a prefix operator here
    assert set(_found(store, "(storm OR ferry)")) == {ids["storm"], ids["ferry"]}  # brackets are punctuation
    assert _found(store, "NEAR(flood water)") == _found(store, '"near flood" water') == []
    assert _found(store, '"unbalanced flood') == []
    assert set(_found(store, 'storm "')) == {ids["storm"]}


async def test_hostile_syntax_is_answered_or_refused_over_http(desk: Desk) -> None:
    _corpus(desk.store)
    for q in HOSTILE:
        for path in ("/api/search", "/search"):
            response = await desk.client.get(path, params={"q": q, "sort": "date"})
            assert response.status_code in (200, 422), (path, q)


def _urls(store: Store, q: str, order: str) -> list[str]:
    found = store.search(SearchFilter(q), q, order=order, limit=100)  # type: ignore[arg-type]
    return [item.url for item in found.page.items]


PARITY_QUERIES = [
    "flooding",
    "flood water",
    '"water level"',
    "storm OR ferry",
    "flood -water",
    "the",
    "roads",
    "approved",
    "season winter",
    "defence",
    '"level of water"',
]


@pytest.mark.postgres
def test_sqlite_and_postgres_find_the_same_articles(tmp_path, postgres_url: str) -> None:
    results = {}
    for url in (f"sqlite:///{tmp_path / 'parity.db'}", postgres_url):
        with Store.open(url) as store:
            _corpus(store)
            results[store.dialect] = {
                q: (set(_urls(store, q, "relevance")), _urls(store, q, "date")) for q in PARITY_QUERIES
            }
    assert results["sqlite"] == results["postgresql"]
    assert all(found for found, _ in results["sqlite"].values())


# grouping and pagination


def test_one_entry_per_story_with_its_count(store: Store) -> None:
    lock = [
        put(store, f"lock-{n}", title=f"Lock gates {n}", text=f"The lock gates jammed again, report {n}.")
        for n in range(3)
    ]
    story = one_story(store, lock)
    other = put(store, "ferry-gates", title="Ferry", text="Ferry gates painted blue in the harbour town.")
    assert other.story_id != story
    grouped = store.search(SearchFilter("gates"), "gates", by_story=True)
    assert len(grouped.page.items) == 2
    by_id = {item.id: item for item in grouped.page.items}
    assert {by_id[i].story_id for i in by_id} == {story, other.story_id}
    best = next(item for item in grouped.page.items if item.story_id == story)
    assert grouped.story_matches[best.id] == 3 and grouped.story_matches[other.id] == 1
    every = store.search(SearchFilter("gates"), "gates")
    assert len(every.page.items) == 4 and all(every.story_matches[a.id] == 3 for a in lock)
    within = store.search(SearchFilter("gates", story_id=story), "gates")
    assert {item.id for item in within.page.items} == {a.id for a in lock}


async def test_the_search_page_shows_a_story_once_with_more_updates_in_it(desk: Desk) -> None:
    lock = [
        put(desk.store, f"lock-{n}", title=f"Lock gates {n}", text=f"The lock gates jammed again, report {n}.")
        for n in range(3)
    ]
    story = one_story(desk.store, lock)
    put(desk.store, "ferry-gates", title="Ferry", text="Ferry gates painted blue in the harbour town.")
    html = (await desk.client.get("/search", params={"q": "gates"})).text
    assert len(re.findall(r'data-result-id="(\d+)"', html)) == 2
    more = re.search(r'<a href="([^"]+)">2 more updates in this story</a>', html)
    assert more is not None
    listed = (await desk.client.get(more.group(1).replace("&amp;", "&"))).text
    assert sorted(re.findall(r'data-result-id="(\d+)"', listed)) == sorted(str(a.id) for a in lock)
    assert f"story={story}" in more.group(1)
    hits = (await desk.client.get("/api/search", params={"q": "gates"})).json()["items"]
    assert len(hits) == 4
    in_story = [h for h in hits if h["story_id"] == story]
    assert all(h["story"]["matches"] == 3 for h in in_story)
    again = (await desk.client.get(in_story[0]["story"]["search"])).json()["items"]
    assert sorted(h["id"] for h in again) == sorted(a.id for a in lock)
    grouped = (await desk.client.get("/api/search", params={"q": "gates", "by_story": "true"})).json()["items"]
    assert len(grouped) == 2


def _pages(store: Store, q: str, order: str, by_story: bool, limit: int) -> list[int]:
    seen: list[int] = []
    before = None
    while True:
        found = store.search(SearchFilter(q), q, order=order, by_story=by_story, before=before, limit=limit)  # type: ignore[arg-type]
        seen += [item.id for item in found.page.items]
        if found.page.next is None:
            return seen
        before = found.page.next


def test_pages_are_exact_in_both_orders(store: Store) -> None:
    # Scores of every kind: the word in the title or not, once or many times, and identical articles (equal
    # scores, told apart by time and id); a few stories of several articles.
    articles = []
    for n in range(23):
        title = "Tide tables" if n % 3 == 0 else f"Notes {n}"
        text = " ".join(["tide"] * (1 + n % 4) + ["harbour", "notes"] * (n % 5 + 1)) + "."
        if n % 7 == 6:
            text = "Identical tide report."
        articles.append(put(store, f"tide-{n}", title=title, text=text, published=NOW - timedelta(minutes=n % 9)))
    one_story(store, articles[:5])
    one_story(store, articles[10:14])
    for order in ("relevance", "date"):
        for by_story in (False, True):
            whole = _pages(store, "tide", order, by_story, 100)
            assert _pages(store, "tide", order, by_story, 4) == whole
            assert len(set(whole)) == len(whole)
            stories = {store.article_story(a.id) or -a.id for a in articles}
            assert len(whole) == (len(stories) if by_story else 23), (order, by_story)


async def test_a_cursor_of_the_other_order_is_refused(desk: Desk) -> None:
    for n in range(3):
        put(desk.store, f"tide-{n}", title="Tide", text=f"Tide report {n}.")
    first = (await desk.client.get("/api/search", params={"q": "tide", "sort": "date"})).json()
    assert first["next_cursor"] is None
    store = desk.store
    page = store.search(SearchFilter("tide"), "tide", order="date", limit=1)
    cursor = page.page.next.encode()  # type: ignore[union-attr]
    assert (await desk.client.get("/api/search", params={"q": "tide", "cursor": cursor})).status_code == 400
    response = await desk.client.get("/api/search", params={"q": "tide", "sort": "date", "cursor": cursor})
    assert response.status_code == 200 and len(response.json()["items"]) == 2


@pytest.mark.postgres
def test_postgres_searches_through_the_index(postgres_url: str) -> None:
    """The query's document expression is the index's (PG_DOCUMENT), so the planner can use the index."""
    with Store.open(postgres_url) as store:
        _corpus(store)
        query = store._items(SearchFilter("flooding"))
        with store._engine.connect() as connection:
            connection.exec_driver_sql("SET enable_seqscan = off")
            compiled = query.compile(connection, compile_kwargs={"literal_binds": True})
            plan = "\n".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {compiled}"))
    assert "ix_articles_search" in plan


def _migrate(store: Store, direction: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(files("livedesk.store") / "migrations"))
    with store._engine.connect() as connection, connection.begin():
        config.attributes["connection"] = connection
        getattr(command, direction)(config, revision)


# The articles table as revision 0011 had it, as far as an insert needs (later revisions add columns).
_ARTICLES_AT_0011 = sa.table(
    "articles",
    *(
        sa.column(name)
        for name in ("url", "canonical_url", "url_hash", "site", "title", "text", "html", "content_hash")
    ),
    sa.column("first_seen_at", UTCDateTime),
    sa.column("updated_at", UTCDateTime),
)


def test_migration_0012_stems_what_was_stored_before_it(store: Store) -> None:
    _migrate(store, "downgrade", "0011")
    url = "https://harbor.example/news/floods"
    values = {"url": url, "canonical_url": url, "url_hash": "f" * 64, "site": "harbor.example", "html": ""}
    values |= {"title": "Rain report", "text": "Floods closed three roads near the river.", "content_hash": "0" * 64}
    with store._engine.begin() as connection:
        stored = connection.execute(
            sa.insert(_ARTICLES_AT_0011).values(**values, first_seen_at=NOW, updated_at=NOW).returning(sa.column("id"))
        ).scalar_one()
    _migrate(store, "upgrade", "head")
    assert _found(store, "flooding") == [stored]
