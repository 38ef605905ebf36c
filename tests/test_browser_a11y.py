"""Every reader-facing page type in Chromium, on the demo corpus: no horizontal scroll on phones, no serious or
critical axe-core violation in light or dark mode, every link and control reachable by keyboard with a visible
focus, and no motion when the reader asks for less.

axe-core comes from the npm registry, pinned in tests/js/package-lock.json (`npm ci` in tests/js; .ci/run does
it). The tests skip when it is not installed, as the browser tests skip without Chromium.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from livedesk.demo import DemoSite, shift_to
from livedesk.desk import posts
from livedesk.desk.posts import PostDraft
from livedesk.models import Actor, Page, Role, TopicQuery
from livedesk.pipeline import process
from livedesk.pipeline.extract import extract
from tests.browser_fixtures import LiveServer, live_server

AXE = Path(__file__).parent / "js" / "node_modules" / "axe-core" / "axe.min.js"
EDITOR = Actor(user_id=None, name="Ada Desk", role=Role.EDITOR)
PHONE_WIDTHS = (360, 390)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    """The demo corpus, dated from now, put through the chain; with a topic page and a desk post. Yields the server
    and a path of every page type."""
    folder = tmp_path_factory.mktemp("a11y")
    with live_server(f"sqlite:///{folder / 'livedesk.db'}") as server:
        store = server.store
        now = datetime.now(UTC)
        for _article, url, body in DemoSite(shift=shift_to(now)).pages():
            process(store, extract(Page(url=url, body=body, fetched_at=now)))
        story = max(store.list_stories(), key=lambda s: len(store.story_claims(s.id)))
        store.create_topic("korvania", "Korvania talks", TopicQuery(keywords="Korvania"))
        post, _ = posts.create_post(
            store, EDITOR, PostDraft("Crews **reopened** the road at noon.", [story.id], title="Road reopens")
        )
        article = store.story_article_ids(story.id)[0]
        entity = next(e for chips in store.entities_of([article]).values() for e in chips)
        yield (
            server,
            {
                "home": "/",
                "story": f"/stories/{story.id}",
                "topic": "/live/korvania",
                "article": f"/articles/{article}",
                "post": f"/posts/{post.id}",
                "entity": f"/entities/{entity.id}",
                "search": "/search?q=ceasefire",
                "error": "/stories/999999",
                "desk login": "/desk/login",
            },
        )


# What Tab should reach: every link and control shown.
FOCUSABLE = (
    '[...document.querySelectorAll("a[href], button, input:not([type=hidden]), select, textarea")]'
    '.filter((e) => !e.disabled && e.getClientRects().length && getComputedStyle(e).visibility !== "hidden")'
)
PAGE_TYPES = ["home", "story", "topic", "article", "post", "entity", "search", "error", "desk login"]


@pytest.fixture(scope="module")
def axe() -> str:
    if not AXE.exists():
        pytest.skip(f"axe-core is not installed: run `npm ci` in {AXE.parents[2]}")
    return AXE.read_text(encoding="utf-8")


def _open(browser: Any, url: str, **context: Any) -> Any:
    page = browser.new_context(**context).new_page()
    page.goto(url)
    page.wait_for_load_state("load")
    return page


@pytest.mark.parametrize("page_type", PAGE_TYPES)
@pytest.mark.parametrize("width", PHONE_WIDTHS)
def test_no_horizontal_scroll_on_a_phone(
    site: tuple[LiveServer, dict[str, str]], browser: Any, page_type: str, width: int
) -> None:
    server, paths = site
    page = _open(browser, server.base_url + paths[page_type], viewport={"width": width, "height": 800})
    try:
        overflow = page.evaluate(
            """() => {
                const width = document.documentElement.clientWidth;
                const wide = [...document.querySelectorAll("body *")]
                    .filter((e) => e.getBoundingClientRect().right > width + 1)
                    .map((e) => e.tagName.toLowerCase() + (e.className ? "." + e.className : ""));
                return {scroll: document.documentElement.scrollWidth, width, wide: wide.slice(0, 5)};
            }"""
        )
        assert overflow["scroll"] <= overflow["width"], overflow
    finally:
        page.context.close()


@pytest.mark.parametrize("page_type", PAGE_TYPES)
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_nothing_serious(
    site: tuple[LiveServer, dict[str, str]], browser: Any, axe: str, page_type: str, scheme: str
) -> None:
    server, paths = site
    page = _open(
        browser,
        server.base_url + paths[page_type],
        color_scheme=scheme,
        # The page's CSP forbids inline scripts, axe's included: only this test's context lets it in.
        bypass_csp=True,
        viewport={"width": 1280, "height": 900},
    )
    try:
        page.add_script_tag(content=axe)
        results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        serious = [
            f"{v['id']} ({v['impact']}): {v['help']} — " + "; ".join(n["target"][0] for n in v["nodes"][:5])
            for v in results["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert serious == [], "\n".join(serious)
    finally:
        page.context.close()


@pytest.mark.parametrize("page_type", PAGE_TYPES)
def test_every_link_and_control_is_reached_by_tab_with_a_visible_focus(
    site: tuple[LiveServer, dict[str, str]], browser: Any, page_type: str
) -> None:
    server, paths = site
    page = _open(browser, server.base_url + paths[page_type], viewport={"width": 1280, "height": 900})
    try:
        count = page.evaluate(f"() => ({FOCUSABLE}).length")
        reached: dict[int, dict[str, Any]] = {}
        # Round the page twice at most (a field with autofocus starts the round in the middle).
        for _ in range(2 * count + 2):
            page.keyboard.press("Tab")
            now = page.evaluate(
                f"""() => {{
                    const e = document.activeElement;
                    const style = getComputedStyle(e);
                    return {{
                        index: ({FOCUSABLE}).indexOf(e),
                        outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2,
                        html: e.outerHTML.slice(0, 100),
                    }};
                }}"""
            )
            if now["index"] >= 0:
                reached[now["index"]] = now
            if len(reached) == count:
                break
        assert sorted(reached) == list(range(count)), f"reached {len(reached)} of {count}"
        invisible = [r["html"] for r in reached.values() if not r["outline"]]
        assert invisible == [], invisible
    finally:
        page.context.close()


@pytest.mark.parametrize("page_type", ["home", "story", "search"])
def test_reduced_motion_means_no_smooth_scrolling_or_animation(
    site: tuple[LiveServer, dict[str, str]], browser: Any, page_type: str
) -> None:
    server, paths = site
    page = _open(browser, server.base_url + paths[page_type], reduced_motion="reduce")
    try:
        moving = page.evaluate(
            """() => {
                const moving = [];
                for (const e of [document.documentElement, ...document.querySelectorAll("body, body *")]) {
                    const style = getComputedStyle(e);
                    const seconds = (value) => Math.max(...value.split(",").map((v) => parseFloat(v) || 0));
                    if (style.scrollBehavior === "smooth" || seconds(style.animationDuration) > 0.01
                        || seconds(style.transitionDuration) > 0.01) {
                        moving.push(e.tagName.toLowerCase() + (e.className ? "." + e.className : ""));
                    }
                }
                return moving;
            }"""
        )
        assert moving == []
    finally:
        page.context.close()
