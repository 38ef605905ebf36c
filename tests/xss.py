"""Hostile input for the desk's fields, and the check that markup built from it is inert: whatever a title, body,
note, reason or author name holds, no script, event handler, javascript: URL or SVG comes out of it. Payloads set
`window.__xss` or open a dialog, so a browser test can also see that nothing ran."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from html.parser import HTMLParser
from urllib.parse import urlencode

from livedesk.desk import accounts, posts, story_text
from livedesk.desk import claims as desk_claims
from livedesk.desk import sources as desk_sources
from livedesk.desk.posts import PostDraft
from livedesk.models import Actor, NewClaim, Role, StoryStream, TopicQuery
from livedesk.pipeline.enrich.claims.ledger import SameClaims
from livedesk.store import Store
from tests.desk_fixtures import PASSWORD
from tests.web_fixtures import put

TITLE = "<script>window.__xss=1</script></script><svg onload=window.__xss=1>]]>"
BODY = (
    "Crews at the quay. <script>window.__xss=1</script>\n\n"
    '[link](javascript:window.__xss=1) <img src=x onerror="window.__xss=1"> <svg onload="window.__xss=1"></svg>\n\n'
    "![i](javascript:window.__xss=1) </script><script>alert(1)</script> ]]><![CDATA[x]]> "
    '<a href="javascript:alert(1)">a</a> [ok](https://example.org/"onmouseover="window.__xss=1)\n\n'
    '<iframe src="javascript:window.__xss=1"></iframe> <math><mi xlink:href="javascript:alert(1)">m</mi></math>'
)
NOTE = '"><img src=x onerror=window.__xss=1></script><script>window.__xss=1</script>'
REASON = "</script><script>alert(1)</script>]]><svg/onload=window.__xss=1>"
HIDE_REASON = "<svg/onload=window.__xss=1><script>alert(1)</script>"
AUTHOR = "<img src=x onerror=window.__xss=1>\"'</script>"
USER_NAME = "<img/src='x'/onerror=window.__xss=1>\"'</script>"  # an account's name has no spaces
SOURCE_URL = 'https://feeds.example/"><svg/onload=window.__xss=1>'

# None of these is on any page of ours: one showing up came from input.
_ACTIVE_TAGS = {"svg", "math", "iframe", "object", "embed", "frame", "frameset", "base", "style"}
_URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data"}


class _Inspector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._script: str | None = None  # the type of the script element being read
        self._script_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script":
            if "src" not in found and found.get("type") != "application/ld+json":
                self.problems.append(f"inline script {attrs}")
            self._script, self._script_text = found.get("type") or "", []
        if tag in _ACTIVE_TAGS:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"event handler {name}={value!r} on <{tag}>")
            url = "".join((value or "").split()).lower()
            if name in _URL_ATTRIBUTES and (url.startswith("javascript:") or url.startswith("data:text")):
                self.problems.append(f"{name}={value!r} on <{tag}>")

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script_text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            if self._script == "application/ld+json":
                text = "".join(self._script_text)
                try:
                    json.loads(text)  # the block ended where it should, and is whole
                except ValueError:
                    self.problems.append(f"JSON-LD broken open: {text[:200]!r}")
            self._script = None


def assert_inert(html: str, where: str = "") -> None:
    """No executable markup in `html` (a page, a fragment, a feed's HTML content)."""
    inspector = _Inspector()
    inspector.feed(html)
    inspector.close()
    assert not inspector.problems, (where, inspector.problems)


def hostile_desk(store: Store) -> list[str]:
    """A story and a topic carrying hostile posts (corrected, pinned, a key event; another retracted) by a hostile
    author, and an article hidden with a hostile reason; the paths of every page showing them."""
    author = Actor(user_id=None, name=AUTHOR, role=Role.EDITOR)
    article = put(store, "gates", title="Gates jammed", text="The quay gates jammed. Crews came.")
    hidden = put(store, "hidden", title="Hidden report", text="The quay was hit. Nobody knows.")
    assert article.story_id is not None
    topic = store.create_topic("quay", "Quay", TopicQuery(keywords="nothing-matches-this"))
    draft = PostDraft(BODY, [article.story_id], [topic.id], title=TITLE, pinned=True, key_event=True)
    post, _ = posts.create_post(store, author, draft)
    posts.correct_post(store, author, post.id, PostDraft(BODY + "\n\nMore.", title=TITLE), note=NOTE)
    gone, _ = posts.create_post(store, author, PostDraft(BODY, [article.story_id], title=TITLE, key_event=True))
    posts.retract_post(store, author, gone.id, REASON)
    posts.hide_item(store, author, hidden.id, HIDE_REASON)
    return [
        f"/stories/{article.story_id}",
        "/live/quay",
        f"/posts/{post.id}",
        f"/posts/{gone.id}",
        f"/articles/{article.id}",
        f"/articles/{hidden.id}",
        "/search?q=quay",
    ]


def hostile_newsroom(store: Store) -> tuple[list[str], list[str]]:
    """`hostile_desk`, and around it everything else editors write that other editors read: a story's title and
    summary, a claim (its text and who said it) with a status set for a hostile reason, a source with a hostile
    title, last error and disable reason, a user with a hostile name who drafts a post, and an API token with a
    hostile label. The paths of the reader pages, and of every desk page (an admin's view) showing them."""
    reader_paths = hostile_desk(store)
    story_id = int(reader_paths[0].rsplit("/", 1)[1])
    editor = Actor(user_id=None, name=AUTHOR, role=Role.EDITOR)
    story_text.edit_story(store, story_id, title=TITLE, summary=NOTE, actor=editor)
    carrier = next(item for item in store.page(StoryStream(story_id)).items if item.post_id is None)
    claim = NewClaim("hostile", TITLE, AUTHOR, HIDE_REASON, "unconfirmed")  # claim text comes from outlets
    store.merge_claims(story_id, carrier.id, [claim], match=SameClaims)
    [entry] = store.story_claims(story_id)
    desk_claims.decide_claim_status(store, entry.id, "denied", editor=USER_NAME, reason=REASON, actor=editor)
    source, _ = desk_sources.add_source(store, SOURCE_URL, title=TITLE, actor=editor)
    now = datetime.now(UTC)
    store.record_poll_failure(source.id, polled_at=now, error=NOTE, next_poll_at=now, disable_after=10)
    desk_sources.disable_source(store, source.id, HIDE_REASON, actor=editor)
    user = accounts.add_user(store, USER_NAME, Role.CONTRIBUTOR, PASSWORD)
    accounts.create_token(store, USER_NAME, NOTE)
    posts.create_post(store, Actor.for_user(user), PostDraft(BODY, [story_id], title=TITLE))
    desk_paths = [
        "/desk",
        *(f"/desk/stories/{story.id}" for story in store.list_stories()),  # the hidden article's story too
        *(f"/desk/posts/{post.id}" for post in store.list_posts()),
        f"/desk/posts/new?story={story_id}",
        "/desk/sources",
        "/desk/audit",
        "/desk/audit?" + urlencode({"actor": USER_NAME, "target": REASON}),
        "/desk/users",
    ]
    return reader_paths, desk_paths
