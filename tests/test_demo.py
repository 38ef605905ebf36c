"""The bundled demo corpus (its invariants and ground truth) and the loopback server that serves it."""

from __future__ import annotations

import html
import json
import re
import urllib.robotparser
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import feedparser
import httpx
import pytest

from livedesk.demo import DemoArticle, DemoServer, DemoSite, corpus, outlets, previous_start, shift_to, stories
from livedesk.demo.corpus import CLAIM_STATUSES, parse_article_file
from livedesk.models import Source

ARTICLES = corpus()
BY_SLUG = {a.slug: a for a in ARTICLES}
OUTLETS = {o.domain: o for o in outlets()}
SITEMAP_NS = {
    "sm": "http://www.sitemaps.org/schemas/sitemap/0.9",
    "news": "http://www.google.com/schemas/sitemap-news/0.9",
}
CANONICAL = re.compile(r'<link rel="canonical" href="([^"]+)">')


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoServer]:
    with DemoServer() as server:
        yield server


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10, trust_env=False) as c:
        yield c


def copies() -> list[DemoArticle]:
    return [a for a in ARTICLES if a.is_copy]


# -- corpus ------------------------------------------------------------------------------------------------


def test_corpus_size_and_spread():
    assert len(ARTICLES) >= 42
    assert len({a.outlet for a in ARTICLES}) >= 6
    per_story = Counter(a.story for a in ARTICLES)
    assert len([s for s, n in per_story.items() if n >= 4]) >= 5
    assert {s.key for s in stories()} == set(per_story)
    days = {a.published.date() for a in ARTICLES}
    assert len(days) >= 5
    assert all(a.published.year == 2026 and a.published.tzinfo is not None for a in ARTICLES)
    assert [a.published for a in ARTICLES] == sorted(a.published for a in ARTICLES)


def test_slugs_and_paths_are_unique():
    assert len({a.slug for a in ARTICLES}) == len(ARTICLES)
    paths = [(a.outlet, p) for a in ARTICLES for p in (a.path, *a.aliases)]
    assert len(set(paths)) == len(paths)


def test_outlets_are_fictional_and_mix_feed_formats():
    assert all(domain.endswith(".example") for domain in OUTLETS)
    assert {o.feed_format for o in OUTLETS.values()} == {"rss", "atom", "json", "sitemap"}
    assert sum(o.is_aggregator for o in OUTLETS.values()) >= 2


def test_originals_are_full_articles_with_ground_truth_claims():
    originals = [a for a in ARTICLES if not a.is_copy]
    for article in originals:
        assert 4 <= len(article.paragraphs) <= 10, article.slug
        assert not OUTLETS[article.outlet].is_aggregator
        assert article.author and article.claims, article.slug
        for claim in article.claims:
            assert claim.status in CLAIM_STATUSES
            # Verbatim, so a claim extractor can be scored on exact (attributed_to, cue) pairs.
            assert claim.attributed_to in article.text, (article.slug, claim)
            assert claim.cue in article.text, (article.slug, claim)
    statuses = {c.status for a in originals for c in a.claims}
    assert statuses == CLAIM_STATUSES


def test_copies_point_at_earlier_originals_of_the_same_story():
    found = copies()
    aggregated = [a for a in found if OUTLETS[a.outlet].is_aggregator]
    assert len(aggregated) >= 8
    assert len([a for a in aggregated if a.attributed_to is None]) >= 2
    assert any(a.truncated for a in found)
    assert any(a.title != BY_SLUG[a.original_slug].title for a in found)  # new headlines
    assert sum(a.canonical_to_original for a in found) == 1
    for copy in found:
        original = BY_SLUG[copy.original_slug]
        assert not original.is_copy
        assert copy.story == original.story
        assert copy.published > original.published
        assert copy.claims == ()
        assert len(copy.paragraphs) <= len(original.paragraphs)
        assert copy.truncated == (len(copy.paragraphs) < len(original.paragraphs))
        if copy.attributed_to is not None:
            assert copy.attributed_to == original.outlet
            assert copy.attribution_label in {"Sumber", "Source", "Via"}
    # Aggregators never show a byline.
    assert all(a.author is None for a in aggregated)


def test_copy_edits_are_applied():
    copy = BY_SLUG["kebakaran-hutan-harrow"]
    original = BY_SLUG[copy.original_slug]
    assert "(Meridian Wire)" in original.paragraphs[0]
    assert copy.paragraphs[0].startswith("A wildfire")
    assert copy.paragraphs[1:] == original.paragraphs[1:]


def test_parse_article_file():
    header, paragraphs = parse_article_file(
        "title: A\nclaim: x | said | alleged | y\nclaim: z\n---\nOne\ntwo.\n\n\nThree.\n"
    )
    assert header == {"title": ["A"], "claim": ["x | said | alleged | y", "z"]}
    assert paragraphs == ["One two.", "Three."]
    with pytest.raises(ValueError, match="---"):
        parse_article_file("title: A\n\nbody")


# -- rendering without a server ----------------------------------------------------------------------------


def test_site_renders_real_domains_by_default():
    site = DemoSite()
    article = BY_SLUG["orrin-dam-breach-lowmere"]
    response = site.get(article.outlet, article.path)
    assert response.status == 200
    page = response.body.decode()
    assert (
        '<link rel="canonical" href="https://www.meridian-wire.example/news/2026-03-02/orrin-dam-breach-lowmere">'
        in page
    )
    assert '<meta property="og:site_name" content="Meridian Wire">' in page
    assert '<meta property="article:published_time" content="2026-03-02T04:10:00+00:00">' in page
    assert site.get(article.outlet, "/no/such/page").status == 404
    pages = {url: body for _, url, body in site.pages()}
    assert len(pages) == len(ARTICLES)
    assert pages[site.article_url(article)] == response.body
    with pytest.raises(ValueError, match="timezone"):
        DemoSite(cutoff=datetime(2026, 3, 4))  # naive: refused


def test_a_demo_dates_the_corpus_from_its_start_with_dates_in_urls_to_match():
    started = datetime(2026, 11, 29, 13, 7, 42, tzinfo=UTC)
    shift = shift_to(started)
    site, undated = DemoSite(shift=shift), DemoSite()
    assert site.visible()[0].published == datetime(2026, 11, 29, 13, 7, tzinfo=UTC)  # the newest: at the start
    assert [a.published - shift for a in site.visible()] == [a.published for a in undated.visible()]
    article = next(a for a in site.visible() if a.slug == "orrin-dam-breach-lowmere")
    assert article.path == f"/news/{article.published:%Y-%m-%d}/orrin-dam-breach-lowmere"
    page = site.get(article.outlet, article.path).body.decode()
    assert f'<meta property="article:published_time" content="{article.published.isoformat()}">' in page
    assert site.get(article.outlet, BY_SLUG[article.slug].path).status == 404  # the corpus's own date: not here
    outlet = OUTLETS[article.outlet]
    feed = feedparser.parse(site.get(article.outlet, outlet.feed_path).body)
    newest = max(a.published for a in site.visible(article.outlet))
    assert datetime(*feed.entries[0].published_parsed[:6], tzinfo=UTC) == newest
    # The cutoff compares with the shifted dates.
    assert DemoSite(cutoff=undated.visible()[0].published, shift=shift).visible() == []


def test_a_rerun_dates_the_corpus_from_the_first_runs_sources():
    first, later = datetime(2026, 11, 2, 9, 0, tzinfo=UTC), datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
    stored = [
        Source("https://example.org/feed.xml", created_at=datetime(2026, 1, 1, tzinfo=UTC)),  # not the demo's
        Source("http://meridian-wire.example:4711/atom.xml", created_at=later),
        Source("http://valley-post.example:4711/feed.json", created_at=first),
    ]
    assert previous_start(stored) == first
    assert previous_start(stored[:1]) is None


# -- server ------------------------------------------------------------------------------------------------


def feed_links(client: httpx.Client, demo: DemoServer) -> dict[str, list[str]]:
    """Outlet domain → article links its feed lists, each feed parsed by a format-specific reader."""
    links = {}
    for outlet, url in zip(OUTLETS.values(), demo.feed_urls, strict=True):
        response = client.get(url)
        assert response.status_code == 200, url
        if outlet.feed_format == "json":
            feed = json.loads(response.content)
            assert feed["version"] == "https://jsonfeed.org/version/1.1"
            assert all(item["title"] and item["date_published"] for item in feed["items"])
            links[outlet.domain] = [item["url"] for item in feed["items"]]
        elif outlet.feed_format == "sitemap":
            root = ET.fromstring(response.content)
            urls = root.findall("sm:url", SITEMAP_NS)
            assert all(u.find("news:news/news:title", SITEMAP_NS) is not None for u in urls)
            links[outlet.domain] = [u.findtext("sm:loc", namespaces=SITEMAP_NS) for u in urls]
        else:
            parsed = feedparser.parse(response.content)
            assert not parsed.bozo, parsed.get("bozo_exception")
            assert parsed.version == {"rss": "rss20", "atom": "atom10"}[outlet.feed_format]
            assert all(e.title and e.published_parsed and e.summary for e in parsed.entries)
            links[outlet.domain] = [e.link for e in parsed.entries]
    return links


def test_every_feed_parses_and_lists_every_article(demo, client):
    links = feed_links(client, demo)
    for domain, urls in links.items():
        expected = {demo.url_for(a) for a in ARTICLES if a.outlet == domain}
        assert {u.partition("?")[0] for u in urls} == expected
    # One aggregator's feed carries tracking parameters: the same page under a second URL.
    assert all("utm_source=" in u for u in links["newsdash.example"])


def test_every_feed_link_is_an_html_page_with_its_canonical(demo, client):
    by_url = {demo.url_for(a): a for a in ARTICLES}
    for urls in feed_links(client, demo).values():
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            assert response.headers["content-type"].startswith("text/html")
            article = by_url[url.partition("?")[0]]
            page = response.text
            assert "<h1" in page and article.title in html.unescape(page)
            expected = (
                demo.url_for(BY_SLUG[article.original_slug]) if article.canonical_to_original else demo.url_for(article)
            )
            assert CANONICAL.search(page).group(1) == expected
            assert f'<meta property="og:site_name" content="{html.escape(OUTLETS[article.outlet].name)}">' in page


def test_outlets_have_distinct_hosts(demo):
    hosts = {httpx.URL(demo.outlet_url(domain)).host for domain in OUTLETS}
    assert len(hosts) == len(OUTLETS)
    assert all(host.startswith("127.") for host in hosts)


def test_duplicates_are_byte_identical(demo, client):
    article = BY_SLUG["quillfield-hackers-41-million"]
    url = demo.url_for(article)
    plain = client.get(url).content
    assert client.get(url + "?utm_source=newsdash&utm_medium=rss").content == plain
    assert client.get(demo.outlet_url(article.outlet) + article.aliases[0]).content == plain
    aliased = [a for a in ARTICLES if a.aliases]
    assert len(aliased) >= 3


def test_aggregator_pages_carry_the_seed_page_defects(demo, client):
    attributed = BY_SLUG["live-updates-bendungan-orrin"]
    page = client.get(demo.url_for(attributed)).text
    assert re.search(r"by <span[^>]*><a[^>]*></a></span> <span[^>]*>-\d+ Views", page)
    assert "Sumber: www.meridian-wire.example" in page
    assert f'Read more <a href="{demo.url_for(BY_SLUG[attributed.original_slug])}"' in page
    assert "No More Posts Available." in page and "No more pages to load." in page
    assert '<meta name="author" content="">' in page

    hidden = BY_SLUG["kebakaran-hutan-harrow"]
    page = client.get(demo.url_for(hidden)).text
    assert "Sumber:" not in page and "Read more" not in page and "Meridian Wire" not in page


def test_conditional_requests_answer_304(demo, client):
    url = demo.url_for(ARTICLES[0])
    first = client.get(url)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(url, headers={"If-None-Match": f'W/{etag}, "other"'}).status_code == 304
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    assert client.get(url, headers={"If-Modified-Since": modified}).status_code == 304
    assert client.get(url, headers={"If-Modified-Since": "Sun, 01 Mar 2026 00:00:00 GMT"}).status_code == 200
    feed = client.get(demo.feed_urls[0])
    assert client.get(demo.feed_urls[0], headers={"If-None-Match": feed.headers["etag"]}).status_code == 304
    head = client.head(url)
    assert head.status_code == 200 and head.headers["etag"] == etag and head.content == b""


def test_robots_txt_disallows_one_path(demo, client):
    domain = "valley-post.example"
    base = demo.outlet_url(domain)
    robots = client.get(base + "/robots.txt")
    assert robots.status_code == 200 and robots.headers["content-type"].startswith("text/plain")
    parser = urllib.robotparser.RobotFileParser()
    parser.parse(robots.text.splitlines())
    article = next(a for a in ARTICLES if a.outlet == domain)
    assert parser.can_fetch("livedesk", demo.url_for(article))
    assert not parser.can_fetch("livedesk", base + "/private/drafts.html")
    assert client.get(base + "/private/drafts.html").status_code == 200  # served: only robots keeps you out
    sitemap_outlet = demo.outlet_url("eastbridge-ledger.example")
    assert "Sitemap: " + sitemap_outlet + "/sitemap-news.xml" in client.get(sitemap_outlet + "/robots.txt").text


def test_opml_lists_every_feed(demo, client):
    response = client.get(demo.opml_url)
    assert response.status_code == 200
    outlines = ET.fromstring(response.content).findall("body/outline")
    assert [o.get("xmlUrl") for o in outlines] == demo.feed_urls
    assert client.get(demo.base_url + "/").status_code == 200


def test_cutoff_releases_articles_gradually(client):
    cutoff = datetime(2026, 3, 4, 0, 0, tzinfo=UTC)
    early = [a for a in ARTICLES if a.published <= cutoff]
    late = [a for a in ARTICLES if a.published > cutoff]
    assert early and late
    with DemoServer(cutoff=cutoff) as demo:
        listed = {u.partition("?")[0] for urls in feed_links(client, demo).values() for u in urls}
        assert listed == {demo.url_for(a) for a in early}
        assert all(client.get(demo.url_for(a)).status_code == 404 for a in late)
        assert all(client.get(demo.url_for(a)).status_code == 200 for a in early[:5])
        home = client.get(demo.outlet_url("meridian-wire.example") + "/").text
        assert not any(a.title in html.unescape(home) for a in late if a.outlet == "meridian-wire.example")
        etag = client.get(demo.feed_urls[1]).headers["etag"]

        demo.set_cutoff(None)
        assert all(client.get(demo.url_for(a)).status_code == 200 for a in late)
        # The feed grew, so the old validator no longer matches.
        assert client.get(demo.feed_urls[1], headers={"If-None-Match": etag}).status_code == 200


def test_hostnames_mode_uses_outlet_domains(client):
    with DemoServer(hostnames=True) as demo:
        pins = dict(pair.split("=") for pair in demo.resolve.split(","))
        assert set(pins) == set(OUTLETS)
        article = BY_SLUG["kessport-dockers-walk-out"]
        url = httpx.URL(demo.url_for(article))
        assert url.host == "harbor-times.example"
        # What a client pinning the name does: connect to the pinned address, send the name as Host.
        direct = url.copy_with(host=pins[url.host])
        page = client.get(direct, headers={"Host": f"{url.host}:{url.port}"}).text
        assert CANONICAL.search(page).group(1) == str(url)


def test_path_prefix_fallback_serves_everything_from_the_hub(client):
    with DemoServer(distinct_hosts=False) as demo:
        assert all(u.startswith(demo.base_url + "/") for u in demo.feed_urls)
        article = BY_SLUG["water-authority-chief-denies"]
        assert demo.url_for(article) == f"{demo.base_url}/meridian-wire.example{article.path}"
        assert client.get(demo.url_for(article)).status_code == 200
        robots = client.get(demo.base_url + "/robots.txt").text
        assert "Disallow: /meridian-wire.example/private/" in robots


# -- the demo command --------------------------------------------------------------------------------------


def summary_counts(stdout: str) -> dict[str, int]:
    """The new/updated/duplicate/failed row of the ingest summary table."""
    table = stdout.split("ingest summary", 1)[1]
    row = next(line for line in table.splitlines() if re.fullmatch(r"[│ \d]+", line.strip()) and "│" in line)
    return dict(zip(("new", "updated", "duplicate", "failed"), map(int, row.replace("│", " ").split()), strict=True))


@pytest.mark.slow
def test_demo_run_twice_in_one_folder_stores_nothing_new(tmp_path):
    from tests.test_cli import livedesk

    db = tmp_path / "livedesk.db"
    started = datetime.now(UTC)
    first = livedesk("demo", "--no-serve", db=db)
    assert first.returncode == 0, first.stderr
    assert summary_counts(first.stdout)["new"] == len(ARTICLES)

    second = livedesk("demo", "--no-serve", db=db)
    assert second.returncode == 0, second.stderr
    assert summary_counts(second.stdout) == {"new": 0, "updated": 0, "duplicate": 0, "failed": 0}
    exported = livedesk("export", db=db)
    assert len(exported.stdout.splitlines()) == len(ARTICLES)
    newest = max(datetime.fromisoformat(json.loads(line)["published"]) for line in exported.stdout.splitlines())
    assert started - timedelta(minutes=1) < newest <= datetime.now(UTC)  # dated from the first run
    sources = livedesk("sources", "list", db=db)
    assert sources.stdout.count(".example") == len(OUTLETS)
