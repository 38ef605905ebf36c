"""Screenshots of the desk for the README: the overview, a story's desk page and the post form (at a phone's width),
in headless Chromium, signed in as an editor.

The demo corpus is ingested and served as for docs/make_screenshots.py; then an editor posts a pinned key event and a
contributor submits a draft, through the same service layer the desk uses, so the pages show a queue and posts.

    python docs/make_desk_screenshots.py [--chromium /usr/bin/chromium] [--out docs]
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.async_api import async_playwright

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from docs.make_screenshots import CHROMIUM_ARGS, PHONE, capture, main, served  # noqa: E402
from livedesk.config import Settings  # noqa: E402
from livedesk.desk import accounts, posts  # noqa: E402
from livedesk.desk import stories as desk_stories  # noqa: E402
from livedesk.desk.signin import sign_in  # noqa: E402
from livedesk.models import Actor, Role  # noqa: E402
from livedesk.store import Store  # noqa: E402
from livedesk.web.app import create_app  # noqa: E402
from livedesk.web.auth import SESSION_COOKIE  # noqa: E402

PASSWORD = "screenshots only, never a real password"
DESKTOP = {"width": 1100, "height": 900}


def write_posts(store: Store, story_id: int) -> None:
    editor = accounts.add_user(store, "mara", Role.EDITOR, PASSWORD)
    contributor = accounts.add_user(store, "tomas", Role.CONTRIBUTOR, PASSWORD)
    posts.create_post(
        store,
        Actor.for_user(editor),
        posts.PostDraft(
            title="What we know so far",
            body="- The harbour authority confirmed the closure.\n- Ferries are diverted to the north pier.",
            story_ids=(story_id,),
            pinned=True,
            key_event=True,
        ),
    )
    posts.create_post(
        store,
        Actor.for_user(contributor),
        posts.PostDraft(body="Our reporter at the quay: queues of lorries since dawn.", story_ids=(story_id,)),
    )


async def shoot(settings: Settings, chromium: Path, out: Path) -> None:
    app = create_app(settings, story_edits=desk_stories)
    async with served(app) as base:
        store: Store = app.state.store
        story = max(store.list_stories(), key=lambda s: s.article_count)
        write_posts(store, story.id)
        signed = sign_in(store, "mara", PASSWORD, "127.0.0.1", policy=app.state.session_policy)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
            for path, name, viewport in (
                ("/desk", "desk-overview.png", DESKTOP),
                (f"/desk/stories/{story.id}#items-title", "desk-story.png", DESKTOP),
                (f"/desk/posts/new?story={story.id}", "desk-post-form.png", PHONE),
            ):
                context = await browser.new_context(viewport=viewport)  # type: ignore[arg-type]
                await context.add_cookies([{"name": SESSION_COOKIE, "value": signed.session_secret, "url": base}])
                await capture(await context.new_page(), base + path, out / name)
                await context.close()
            await browser.close()


if __name__ == "__main__":
    main(shoot, __doc__)
