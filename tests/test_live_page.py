"""Story and topic live pages as a reader meets them: the top of the page in reading order, one card per
syndication group (also live), outlets by name, Live or ended, the claim ledger; on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx

from livedesk.models import COMMAND_LINE, ClaimStatus, NewClaim, StoredArticle, TopicQuery
from livedesk.pipeline.enrich.claims.ledger import SameClaims
from livedesk.publish import Update
from livedesk.store import Store
from livedesk.text import outlet_name
from tests.test_web import _events, _take, parse
from tests.web_fixtures import NOW, Desk, one_story, put, running_app, served, subscribed

GATES = (
    "Engineers at the Tollan river lock worked through the night to free the jammed gates. "
    "The operator said repairs would take until Friday. Barges are waiting downstream."
)


def claim(number: int, status: ClaimStatus = ClaimStatus.UNCONFIRMED) -> NewClaim:
    text = f"the lock will reopen on day {number}"
    return NewClaim(key=text, text=text, attributed_to=f"Official {number}", cue="said", status=status)


def ledger(store: Store, story_id: int, carriers: dict[int, list[NewClaim]]) -> None:
    for article_id, found in carriers.items():
        store.merge_claims(story_id, article_id, found, match=SameClaims)


def original_and_copy(store: Store) -> tuple[StoredArticle, StoredArticle]:
    original = put(store, "gates", site="tollan-post.example", text=GATES, published=NOW - timedelta(minutes=30))
    copy = put(
        store,
        "gates-copy",
        site="aggregator.example",
        text=GATES,
        title=original.article.title,
        attributed_to="tollan-post.example",
        published=NOW - timedelta(minutes=10),
    )
    return original, copy


async def test_the_top_of_a_story_page_reads_title_state_summary_key_events_then_updates(desk: Desk) -> None:
    first = put(desk.store, "first", text=GATES, published=NOW - timedelta(minutes=40))
    second = put(desk.store, "second", published=NOW - timedelta(minutes=20))
    story_id = one_story(desk.store, [first, second])
    ledger(desk.store, story_id, {first.id: [claim(1)], second.id: [claim(2)]})
    story = desk.store.get_story(story_id)
    assert story is not None and story.summary

    html = (await desk.client.get(f"/stories/{story_id}")).text
    main = html[html.index('<article class="stream') :]
    order = [
        main.index("<h1>"),
        main.index("data-live-state"),
        main.index('class="summary"'),
        main.index('id="key-events-heading"'),
        main.index('id="claims-heading"'),
        main.index("data-updates"),
    ]
    assert order == sorted(order)
    # No desk key events: the first report of each new claim, newest first, said to be chosen so.
    key_events = re.findall(r'data-key-event-id="(\d+)"', html)
    assert key_events == [str(second.id), str(first.id)]
    assert "The first report of each new claim." in html
    assert parse(html).updates == [second.id, first.id]  # newest first


async def test_the_desks_key_events_win_over_the_automatic_ones(desk: Desk) -> None:
    first = put(desk.store, "first", published=NOW - timedelta(minutes=40))
    second = put(desk.store, "second", published=NOW - timedelta(minutes=20))
    story_id = one_story(desk.store, [first, second])
    ledger(desk.store, story_id, {first.id: [claim(1)], second.id: [claim(2)]})
    desk.store.set_key_event(COMMAND_LINE, first.id, True)
    html = (await desk.client.get(f"/stories/{story_id}")).text
    assert re.findall(r'data-key-event-id="(\d+)"', html) == [str(first.id)]
    assert "The first report of each new claim." not in html


async def test_a_copy_is_credited_on_its_originals_card_not_shown_as_an_update(desk: Desk) -> None:
    original, copy = original_and_copy(desk.store)
    story_id = one_story(desk.store, [original, copy])
    html = (await desk.client.get(f"/stories/{story_id}")).text
    assert parse(html).updates == [original.id]
    card = html[html.index(f'id="update-{original.id}"') :]
    assert 'also carried by <a href="https://aggregator.example/news/gates-copy"' in card

    # The desk hides the original: the copy stands in for it, crediting the original's outlet.
    desk.store.set_hidden(COMMAND_LINE, original.id, "duplicate")
    html = (await desk.client.get(f"/stories/{story_id}")).text
    assert parse(html).updates == [copy.id]
    assert 'First reported by <a href="https://tollan-post.example/news/gates"' in html


async def test_older_pages_stay_exact_with_copies_among_the_updates(desk: Desk) -> None:
    originals: list[StoredArticle] = []
    copies: list[StoredArticle] = []
    for n in range(25):
        text = f"Report {n} on the gates. Crews number {n * 7} at the lock. The operator waits for parts."
        originals.append(put(desk.store, f"o{n}", text=text, published=NOW - timedelta(minutes=100 - 2 * n)))
        if n % 2:
            copies.append(
                put(
                    desk.store,
                    f"c{n}",
                    site="aggregator.example",
                    text=text,
                    title=originals[-1].article.title,
                    attributed_to="harbor.example",
                    published=NOW - timedelta(minutes=99 - 2 * n),
                )
            )
    story_id = one_story(desk.store, originals + copies)
    seen: list[int] = []
    url = f"/stories/{story_id}"
    while url:
        links = parse((await desk.client.get(url)).text)
        seen += links.updates
        url = links.next[0] if links.next else ""
    assert seen == [o.id for o in reversed(originals)]


async def test_outlets_go_by_their_configured_name_else_their_own_else_the_domain(database_url: str) -> None:
    async with (
        running_app(database_url, outlet_names="tollan-post.example=The Tollan Post") as app,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
    ):
        store = app.state.store
        configured = put(store, "a", site="tollan-post.example", site_name="Tollan Daily", text=GATES)
        own = put(
            store,
            "b",
            site="harbor-times.example",
            site_name="Harbor Times",
            text="Barges queue below the lock. Skippers count the days. Some turn back to the coast.",
            published=NOW,
        )
        plain = put(
            store,
            "c",
            site="valley.example",
            text="Valley farmers worry about late grain shipments. The co-operative has asked for road permits.",
            published=NOW - timedelta(minutes=1),
        )
        story_id = one_story(store, [configured, own, plain])
        html = (await client.get(f"/stories/{story_id}")).text
        assert '<span class="outlet" title="tollan-post.example">The Tollan Post</span>' in html
        assert 'Read the full report at The Tollan Post</a> <span class="domain">(tollan-post.example)</span>' in html
        assert '<span class="outlet" title="harbor-times.example">Harbor Times</span>' in html
        assert '<span class="outlet" title="valley.example">valley.example</span>' in html
        found = (await client.get("/search", params={"q": "barges"})).text  # search names outlets the same way
        assert '<span class="outlet" title="harbor-times.example">Harbor Times</span>' in found
        assert '<option value="tollan-post.example">The Tollan Post</option>' in found

        items = (await client.get(f"/api/stories/{story_id}/updates")).json()["items"]
        named = {item["outlet"]: item["outlet_name"] for item in items}
        assert named == {
            "tollan-post.example": "The Tollan Post",
            "harbor-times.example": "Harbor Times",
            "valley.example": "valley.example",
        }
        outlets = {o["site"]: o["name"] for o in (await client.get("/api/outlets")).json()}
        assert outlets["harbor-times.example"] == "Harbor Times"


def test_an_outlets_own_name_is_kept_only_when_it_says_more_than_the_domain() -> None:
    assert outlet_name("Meridian Wire", "meridian-wire.example") == "Meridian Wire"
    assert outlet_name("meridian-wire.example", "meridian-wire.example") is None
    assert outlet_name("www.Meridian-Wire.example", "meridian-wire.example") is None
    assert outlet_name("https://meridian-wire.example/", "meridian-wire.example") is None
    assert outlet_name("x" * 81, "meridian-wire.example") is None
    assert outlet_name("Meridian Wire - World news", "meridian-wire.example", from_title=True) == "Meridian Wire"


async def test_live_while_updated_within_the_hour_ended_after(desk: Desk) -> None:
    recent = put(desk.store, "recent", published=NOW - timedelta(minutes=5))
    old = put(desk.store, "old", text="Ferry timetable changes. Nothing else.", published=NOW - timedelta(days=2))
    live = (await desk.client.get(f"/stories/{recent.story_id}")).text
    ended = (await desk.client.get(f"/stories/{old.story_id}")).text
    assert 'class="live-badge" data-state-badge>Live<' in live and "ended-badge" not in live
    assert 'class="ended-badge" data-state-badge>Ended<' in ended and "live-badge" not in ended


async def test_the_ledger_shows_the_most_significant_claims_then_all_of_them(desk: Desk) -> None:
    original, copy = original_and_copy(desk.store)
    other = put(desk.store, "other", site="valley.example", published=NOW - timedelta(minutes=5))
    story_id = one_story(desk.store, [original, copy, other])
    claims = [claim(n) for n in range(24)]
    denied = NewClaim("the gates were sabotaged", "the gates were sabotaged", "Police", "denied", ClaimStatus.DENIED)
    ledger(desk.store, story_id, {original.id: claims[:24], other.id: [claims[7], denied]})
    desk.store.carry_claims(original.id, copy.id)

    html = (await desk.client.get(f"/stories/{story_id}")).text
    section = html[
        html.index('<section class="claims"') : html.index("</section>", html.index('<section class="claims"'))
    ]
    assert "<table" not in section
    shown, rest = section.split("<details", 1)
    # Contested first, then the claim the most independent outlets carry.
    assert re.findall(r'class="claim-status claim-(\w+)"', shown)[0] == "denied"
    assert shown.index("the gates were sabotaged") < shown.index("the lock will reopen on day 7")
    assert "carried by 3 outlets, 2 independently" in shown  # the copy counts with its original
    total = len(desk.store.story_claims(story_id))  # ours, and any the chain found in the reports' text
    assert total >= 25 and f"Show all {total} claims" in rest
    assert len(re.findall(r'<li class="claim"', shown)) == 3
    assert len(re.findall(r'<li class="claim"', section)) == total
    assert "first reported by tollan-post.example" in section


async def test_a_copy_arriving_live_updates_its_originals_card(database_url: str) -> None:
    async with running_app(database_url) as app, served(app) as base:
        store, bus = app.state.store, app.state.bus
        original = put(store, "gates", site="tollan-post.example", text=GATES, published=NOW - timedelta(minutes=30))
        story_id = original.story_id
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            page = (await client.get(f"/stories/{story_id}")).text
            events_url = re.search(r'data-events-url="([^"]+)"', page).group(1).replace("&amp;", "&")
            async with client.stream("GET", events_url) as response:
                await subscribed(bus)
                copy = put(
                    store,
                    "gates-copy",
                    site="aggregator.example",
                    text=GATES,
                    title=original.article.title,
                    attributed_to="tollan-post.example",
                    published=NOW - timedelta(minutes=10),
                )
                one_story(store, [original, copy])
                await bus.publish(Update(article_id=copy.id, story_id=story_id))
                [(event_id, data)] = await _take(_events(response), 1)
            # The original's card, at the copy's revision, now crediting the copy.
            assert data["id"] == original.id and event_id == store.revision_of(copy.id)
            assert f'data-update-id="{original.id}"' in data["html"]
            assert f'data-revision="{event_id}"' in data["html"]
            assert 'also carried by <a href="https://aggregator.example/news/gates-copy"' in data["html"]

            # A reconnect from before the copy replays the same card, not the copy.
            headers = {"Last-Event-ID": str(event_id - 1)}
            async with client.stream("GET", f"/stories/{story_id}/events", headers=headers) as response:
                [(replayed_id, replayed)] = await _take(_events(response), 1)
            assert replayed["id"] == original.id and replayed_id == event_id


async def test_topic_pages_show_one_card_per_group_too(desk: Desk) -> None:
    original, _copy = original_and_copy(desk.store)
    desk.store.create_topic("gates", "The gates", TopicQuery(keywords="gates"))
    html = (await desk.client.get("/live/gates")).text
    assert parse(html).updates == [original.id]
    assert "also carried by" in html
