"""HTML pages and live updates, in process and on a real loopback server, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from html.parser import HTMLParser

import httpx
from typer.testing import CliRunner

from livedesk.cli import app as cli
from livedesk.publish import Update
from livedesk.web.render import excerpt, relative_time
from tests.web_fixtures import DATA, NOW, Desk, one_story, put, running_app, series, served, subscribed


class _Links(HTMLParser):
    """The hrefs of <a rel=next> and the data-update-id attributes, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.next: list[str] = []
        self.updates: list[int] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "a" and found.get("rel") == "next":
            self.next.append(found["href"] or "")
        if found.get("data-update-id"):
            self.updates.append(int(found["data-update-id"] or 0))


def parse(html: str) -> _Links:
    links = _Links()
    links.feed(html)
    return links


# pure helpers


def test_excerpt_takes_the_first_sentences_within_the_word_limit() -> None:
    text = (DATA / "lock-gates.txt").read_text(encoding="utf-8")
    short = excerpt(text)
    assert short.startswith("Engineers at the Tollan river lock")
    assert short.endswith("before calling for a crane.")  # two sentences: a third would pass 60 words
    assert len(short.split()) <= 60
    assert excerpt("word " * 100).endswith("…")
    # Initials and abbreviations end no sentence: three sentences, not three fragments.
    three = "Gen. Smith said the U.S. Navy left. Dr. Jones agreed. It sailed at 5 a.m. on Monday."
    assert excerpt(f"{three} A fourth one.") == three


def test_relative_time_wording() -> None:
    assert relative_time(NOW - timedelta(seconds=5), NOW) == "just now"
    assert relative_time(NOW - timedelta(minutes=12), NOW) == "12 min ago"
    assert relative_time(NOW - timedelta(hours=3), NOW) == "3 h ago"
    assert relative_time(NOW - timedelta(days=2), NOW) == "2 days ago"


# pages


async def test_home_lists_stories_most_recently_updated_first(desk: Desk) -> None:
    old = put(desk.store, "old", title="Ferry timetable changes", published=NOW - timedelta(days=3))
    new = put(desk.store, "new", title="Lock gates jammed", published=NOW - timedelta(minutes=5))
    response = await desk.client.get("/")
    assert response.status_code == 200
    html = response.text
    assert html.index("Lock gates jammed") < html.index("Ferry timetable changes")
    assert f'href="/stories/{new.story_id}"' in html and f'href="/stories/{old.story_id}"' in html
    assert "1 outlet" in html
    assert '<script src="/static/views.js" defer></script>' in html


async def test_story_page_shows_updates_newest_first_with_excerpt_link_credit_and_live_badge(desk: Desk) -> None:
    text = (DATA / "lock-gates.txt").read_text(encoding="utf-8")
    original = put(
        desk.store,
        "gates",
        site="tollan-post.example",
        text=text,
        title="Lock gates jam",
        byline="Ada Brierly",
        published=NOW - timedelta(minutes=30),
    )
    copy = put(
        desk.store,
        "gates-copy",
        site="aggregator.example",
        text=text,
        title="Lock gates jam",
        attributed_to="tollan-post.example",
        published=NOW - timedelta(minutes=10),
    )
    later = put(desk.store, "later", site="tollan-post.example", published=NOW - timedelta(minutes=2))
    story_id = one_story(desk.store, [original, copy, later])

    response = await desk.client.get(f"/stories/{story_id}")
    assert response.status_code == 200
    html = response.text
    # The copy is no update of its own: its original's card credits it, linking to it.
    assert parse(html).updates == [later.id, original.id]
    assert "Engineers at the Tollan river lock" in html
    assert "until the gates were working again" not in html  # an excerpt, never the outlet's full text
    assert "Read the full report at tollan-post.example" in html
    assert 'href="https://tollan-post.example/news/gates"' in html
    assert (
        "First reported by tollan-post.example, also carried by "
        '<a href="https://aggregator.example/news/gates-copy" rel="external noopener" title="aggregator.example">'
        "aggregator.example</a>"
    ) in html
    assert "by Ada Brierly" in html
    assert 'class="live-badge" data-state-badge>Live<' in html
    assert f'data-views-for="{original.id}">' in html
    # The time of day with its zone, and how long ago beside it.
    assert re.search(
        r'<time datetime="[^"]+Z" title="[^"]+ UTC" data-clock>\d\d:\d\d UTC</time> '
        r'<span class="ago" data-relative="[^"]+Z">\d+ min ago</span>',
        html,
    )
    assert f'data-events-url="/stories/{story_id}/events?after=' in html
    ld = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1))
    assert ld["@type"] == "LiveBlogPosting" and len(ld["liveBlogUpdate"]) == 2
    assert ld["liveBlogUpdate"][0]["headline"] == later.article.title


async def test_a_date_only_update_shows_its_day_and_never_a_time_of_day(desk: Desk) -> None:
    day = (NOW - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    dated = put(desk.store, "dated", title="Quay wall repairs begin", published=day, date_only=True)
    timed = put(desk.store, "timed", published=NOW - timedelta(minutes=5))
    story_id = one_story(desk.store, [dated, timed])

    html = (await desk.client.get(f"/stories/{story_id}")).text
    update = html[html.index(f'id="update-{dated.id}"') :]
    update = update[: update.index("</li>")]
    assert f'<time datetime="{day.date().isoformat()}">{day.day} {day:%b %Y}</time>' in update
    assert "data-relative" not in update and "00:00" not in update
    assert parse(html).updates == [timed.id, dated.id]  # ordered as the day's start

    api = (await desk.client.get(f"/api/stories/{story_id}/updates")).json()
    by_id = {u["id"]: u for u in api["items"]}
    assert by_id[dated.id]["published_date_only"] is True
    assert by_id[timed.id]["published_date_only"] is False


async def test_story_without_recent_updates_has_no_live_badge(desk: Desk) -> None:
    old = put(desk.store, "old", published=NOW - timedelta(days=2))
    html = (await desk.client.get(f"/stories/{old.story_id}")).text
    assert "live-badge" not in html


async def test_older_updates_link_pages_through_everything_without_javascript(desk: Desk) -> None:
    articles = series(desk.store, 45)
    story_id = one_story(desk.store, articles)
    seen: list[int] = []
    url = f"/stories/{story_id}"
    pages = 0
    while url:
        links = parse((await desk.client.get(url)).text)
        seen += links.updates
        pages += 1
        url = links.next[0] if links.next else ""
    assert pages == 3
    assert seen == [a.id for a in reversed(articles)]

    # The fragment is the same items and link, without the page around them (for live.js).
    first = parse((await desk.client.get(f"/stories/{story_id}")).text)
    fragment = await desk.client.get(first.next[0] + "&fragment=1")
    assert "<html" not in fragment.text
    assert parse(fragment.text).updates == seen[20:40]
    assert "all caught up" not in (await desk.client.get(f"/stories/{story_id}")).text  # UI only, never data


async def test_article_permalink(desk: Desk) -> None:
    text = (DATA / "lock-gates.txt").read_text(encoding="utf-8")
    stored = put(desk.store, "gates", site="tollan-post.example", text=text, title="Lock gates jam")
    html = (await desk.client.get(f"/articles/{stored.id}")).text
    assert f'data-view-beacon="{stored.id}"' in html
    assert "<h1" in html and "Lock gates jam" in html
    assert "Read the full report at tollan-post.example" in html
    assert "keep clear of the weir" not in html
    assert f'href="/stories/{stored.story_id}"' in html
    assert (await desk.client.get("/articles/999999")).status_code == 404


async def test_search_highlights_matches_and_filters(desk: Desk) -> None:
    text = (DATA / "lock-gates.txt").read_text(encoding="utf-8")
    a = put(desk.store, "gates", site="tollan-post.example", text=text, published=NOW - timedelta(days=1))
    b = put(
        desk.store,
        "barges",
        site="river-news.example",
        text="Barges wait below the jammed lock gates.",
        published=NOW - timedelta(days=10),
    )
    put(desk.store, "other", site="river-news.example", text="A ferry timetable changes next week.")

    html = (await desk.client.get("/search", params={"q": "gates jammed", "sort": "date"})).text
    found = re.findall(r'data-result-id="(\d+)"', html)
    assert found == [str(a.id), str(b.id)]
    assert re.search(r"<mark>gates</mark>|<mark>jammed</mark>", html)

    by_outlet = (await desk.client.get("/search", params={"q": "gates", "outlet": "river-news.example"})).text
    assert re.findall(r'data-result-id="(\d+)"', by_outlet) == [str(b.id)]
    since = (NOW - timedelta(days=3)).date().isoformat()
    recent = (await desk.client.get("/search", params={"q": "gates", "from": since})).text
    assert re.findall(r'data-result-id="(\d+)"', recent) == [str(a.id)]
    in_story = (await desk.client.get("/search", params={"q": "gates", "story": b.story_id})).text
    assert re.findall(r'data-result-id="(\d+)"', in_story) == [str(b.id)]


async def test_topic_page_created_from_the_command_line(desk: Desk, database_url: str) -> None:
    match = put(desk.store, "gates", site="tollan-post.example", text="The lock gates jammed on the Tollan.")
    put(desk.store, "elsewhere", site="other.example", text="The lock gates jammed at another river.")
    put(desk.store, "ferry", site="tollan-post.example", text="Ferry timetable changes.")
    listed = put(desk.store, "listed", site="other.example", text="Unrelated words entirely.")
    result = CliRunner().invoke(
        cli,
        [
            "--db",
            database_url,
            "live",
            "create",
            "--slug",
            "tollan",
            "--title",
            "Live updates: the Tollan",
            "--query",
            "lock gates",
            "--source",
            "tollan-post.example",
            "--story",
            str(listed.story_id),
        ],
    )
    assert result.exit_code == 0, result.output
    listing = CliRunner().invoke(cli, ["--db", database_url, "live", "list"])
    assert "tollan" in listing.output

    html = (await desk.client.get("/live/tollan")).text
    assert "Live updates: the Tollan" in html
    assert sorted(parse(html).updates) == sorted([match.id, listed.id])
    assert '"@type": "LiveBlogPosting"' in html
    assert (await desk.client.get("/live/nothing-here")).status_code == 404


async def test_security_headers_and_hostile_html_never_rendered(desk: Desk) -> None:
    hostile = put(
        desk.store,
        "hostile",
        title='<script>alert("t")</script>Headline',
        byline="<img src=x onerror=alert(1)>",
        text='Text with <script>alert("x")</script> inside. And more.',
        html="<p>x</p><script>alert(2)</script>",
    )
    for path in ("/", f"/stories/{hostile.story_id}", f"/articles/{hostile.id}", "/search?q=text"):
        response = await desk.client.get(path)
        assert response.status_code == 200
        assert "<script>alert" not in response.text and "<img src=x" not in response.text
        assert "&lt;script&gt;" in response.text or path == "/"
        headers = response.headers
        assert "default-src 'self'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"]
        # No inline scripts: every <script> is an external file or a JSON-LD data block.
        for tag in re.findall(r"<script[^>]*>", response.text):
            assert "src=" in tag or 'type="application/ld+json"' in tag


async def test_static_files_are_served(desk: Desk) -> None:
    for name in ("style.css", "live.js"):
        assert (await desk.client.get(f"/static/{name}")).status_code == 200


# live updates


async def _events(response: httpx.Response) -> AsyncIterator[tuple[int, dict]]:
    event_id, data = None, None
    async for line in response.aiter_lines():
        if line.startswith("id:"):
            event_id = int(line[3:].strip())
        elif line.startswith("data:"):
            data = json.loads(line[5:].strip())
        elif not line and data is not None:
            assert event_id is not None
            yield event_id, data
            event_id, data = None, None


async def _take(events: AsyncIterator[tuple[int, dict]], count: int) -> list[tuple[int, dict]]:
    return [await asyncio.wait_for(anext(events), timeout=10) for _ in range(count)]


async def test_sse_delivers_new_updates_and_resumes_without_loss_or_duplicates(database_url: str) -> None:
    async with running_app(database_url) as app, served(app) as base:
        store, bus = app.state.store, app.state.bus
        first = put(store, "first", published=NOW - timedelta(minutes=3))
        story_id = first.story_id
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            page = (await client.get(f"/stories/{story_id}")).text
            events_url = re.search(r'data-events-url="([^"]+)"', page).group(1).replace("&amp;", "&")
            async with client.stream("GET", events_url) as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                await subscribed(bus)
                text = "Harbour master Ingrid Solberg said the Kessport quay reopens on Monday. Ships wait."
                second = put(store, "second", text=text, published=NOW - timedelta(minutes=1))
                one_story(store, [first, second])
                await bus.publish(Update(article_id=second.id, story_id=story_id))
                [(event_id, data)] = await _take(_events(response), 1)
            # Event ids are live revisions, the item's id is in the data.
            assert data["id"] == second.id and event_id == store.revision_of(second.id)
            assert f'data-update-id="{second.id}"' in data["html"] and "Update second" in data["html"]
            assert "/entities/" in data["html"] and "Ingrid Solberg" in data["html"]  # pushed items carry chips too

            # Offline meanwhile: two more arrive; the reconnect replays exactly those, then live ones follow.
            missed = [put(store, f"missed-{n}", published=NOW) for n in range(2)]
            one_story(store, [first, *missed])
            headers = {"Last-Event-ID": str(event_id)}
            async with client.stream("GET", f"/stories/{story_id}/events", headers=headers) as response:
                events = _events(response)
                replayed = await _take(events, 2)
                assert [data["id"] for _, data in replayed] == [m.id for m in missed]
                assert [event_id for event_id, _ in replayed] == [store.revision_of(m.id) for m in missed]
                live = put(store, "live", published=NOW)
                one_story(store, [first, live])
                for update in (Update(missed[1].id, story_id), Update(live.id, story_id)):  # one already sent
                    await bus.publish(update)
                assert [data["id"] for _, data in await _take(events, 1)] == [live.id]


async def test_topic_events_carry_only_matching_articles(database_url: str) -> None:
    async with running_app(database_url) as app, served(app) as base:
        store, bus = app.state.store, app.state.bus
        from livedesk.models import TopicQuery

        store.create_topic("gates", "Gates", TopicQuery(keywords="gates"))
        async with (
            httpx.AsyncClient(base_url=base, timeout=10) as client,
            client.stream("GET", "/live/gates/events") as response,
        ):
            await subscribed(bus)
            other = put(store, "other", text="Ferry timetable changes. Nothing else.")
            match = put(store, "match", text="The gates are stuck. Crews are on the way.")
            for stored in (other, match):
                await bus.publish(Update(stored.id, stored.story_id))
            [(event_id, data)] = await _take(_events(response), 1)
        assert data["id"] == match.id and event_id == store.revision_of(match.id)
