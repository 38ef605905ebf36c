"""The desk's posts and decisions (livedesk.desk.posts) on a real store: roles, versions, retraction, pins,
hiding, scheduling, the audit trail, and live revisions that only ever grow."""

from __future__ import annotations

from datetime import timedelta

import pytest
from lxml import html as lxml_html

from livedesk.desk import posts
from livedesk.desk.posts import NotAllowedError, PostDraft
from livedesk.models import Actor, PostStatus, Role, StoryStream
from livedesk.store import Store
from tests.web_fixtures import NOW, put

EDITOR = Actor(user_id=None, name="Ed Itor", role=Role.EDITOR)
CONTRIBUTOR = Actor(user_id=None, name="Con Tributor", role=Role.CONTRIBUTOR)


def _users(store: Store) -> tuple[Actor, Actor]:
    editor = store.add_user("ed", Role.EDITOR, "x")
    contributor = store.add_user("con", Role.CONTRIBUTOR, "x")
    return Actor(editor.id, editor.name, editor.role), Actor(contributor.id, contributor.name, contributor.role)


def test_an_editors_post_is_live_at_once_and_shows_in_its_story(store: Store) -> None:
    editor, _ = _users(store)
    story_id = put(store, "first", published=NOW - timedelta(hours=1)).story_id
    assert story_id is not None
    post, placed = posts.create_post(
        store, editor, PostDraft("**Evacuation** ordered. [Map](https://maps.example/x)", [story_id], title="Update")
    )
    assert post.status is PostStatus.PUBLISHED and len(placed) == 1
    [item, _] = store.page(StoryStream(story_id)).items
    assert item.kind == "post" and item.post_id == post.id and item.byline == "ed"
    assert item.body_html is not None and "<strong>Evacuation</strong>" in item.body_html
    assert 'rel="noopener noreferrer nofollow ugc"' in item.body_html
    assert item.revision == store.last_revision()


def test_markdown_cannot_carry_script(store: Store) -> None:
    rendered = posts.render_markdown(
        "<script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)> "
        "![a](javascript:alert(2)) <svg onload=alert(3)></svg>"
    )
    tree = lxml_html.fromstring(f"<div>{rendered.html}</div>")
    assert {element.tag for element in tree.iter()} <= {"div", "p", "a", "img"}
    for element in tree.iter():
        for name, value in element.attrib.items():
            assert not name.startswith("on") and "javascript" not in value.lower()


def test_a_contributors_post_waits_for_an_editor(store: Store) -> None:
    editor, contributor = _users(store)
    story_id = put(store, "first", published=NOW).story_id
    assert story_id is not None
    draft, placed = posts.create_post(store, contributor, PostDraft("Crews at the dam.", [story_id]))
    assert draft.status is PostStatus.DRAFT and placed == []
    assert [item.kind for item in store.page(StoryStream(story_id)).items] == ["article"]
    with pytest.raises(NotAllowedError):
        posts.approve_post(store, contributor, draft.id)
    with pytest.raises(NotAllowedError):
        posts.set_pinned(store, contributor, store.page(StoryStream(story_id)).items[0].id, True)
    posts.correct_post(store, contributor, draft.id, PostDraft("Crews are at the dam."))
    published, placed = posts.approve_post(store, editor, draft.id)
    assert published.status is PostStatus.PUBLISHED and published.approved_by == "ed" and len(placed) == 1
    assert store.page(StoryStream(story_id)).items[0].lead == "Crews are at the dam."
    with pytest.raises(NotAllowedError):  # no longer a draft: editors only
        posts.correct_post(store, contributor, draft.id, PostDraft("Changed."))


def test_a_correction_keeps_the_earlier_version_and_a_retraction_keeps_the_place(store: Store) -> None:
    editor, _ = _users(store)
    story_id = put(store, "first", published=NOW).story_id
    assert story_id is not None
    post, [placement] = posts.create_post(store, editor, PostDraft("Two dead.", [story_id]))
    before = store.revision_of(placement.article_id)
    corrected, _ = posts.correct_post(store, editor, post.id, PostDraft("Three dead."), note="Toll rose.")
    assert corrected.version == 2 and corrected.correction_note == "Toll rose."
    [old] = store.post_versions(post.id)
    assert old.body == "Two dead." and old.version == 1
    item = store.stream_item(placement.article_id)
    assert item is not None and item.lead == "Three dead." and item.corrected_at is not None
    assert item.revision > before
    posts.retract_post(store, editor, post.id, "Wrong town.")
    item = store.stream_item(placement.article_id)
    assert item is not None and item.retracted and item.retracted_reason == "Wrong town." and item.lead == ""
    assert store.page(StoryStream(story_id)).items[0].id == placement.article_id  # still in its place
    assert [v.body for v in store.post_versions(post.id)] == ["Two dead.", "Three dead."]
    actions = [entry.action for entry in store.audit_entries(target=f"post:{post.id}")]
    assert actions == ["post.retract", "post.correct", "post.create"]


def test_pins_key_events_and_hiding_change_the_revision_and_hiding_is_reversible(store: Store) -> None:
    editor, _ = _users(store)
    article = put(store, "first", published=NOW)
    assert article.story_id is not None
    stream = StoryStream(article.story_id)
    posts.set_pinned(store, editor, article.id, True)
    posts.set_key_event(store, editor, article.id, True)
    assert [i.id for i in store.pinned_items(stream)] == [article.id] == [i.id for i in store.key_events(stream)]
    seen = store.revision_of(article.id)
    posts.hide_item(store, editor, article.id, "Not about this story.")
    assert store.page(stream).items == [] and store.pinned_items(stream) == []
    [changed] = store.changed_since(stream, seen)
    assert changed.id == article.id and changed.hidden_reason == "Not about this story."
    posts.hide_item(store, editor, article.id, None)
    assert [i.id for i in store.page(stream).items] == [article.id]
    entry = store.audit_entries(target=f"article:{article.id}")[0]
    assert entry.action == "item.unhide" and entry.actor_name == "ed"
    assert entry.before is not None and entry.before["hidden_reason"] == "Not about this story."


def test_a_scheduled_post_goes_live_at_its_time_once(store: Store) -> None:
    editor, _ = _users(store)
    story_id = put(store, "first", published=NOW).story_id
    assert story_id is not None
    post, placed = posts.create_post(
        store, editor, PostDraft("Briefing at noon.", [story_id], publish_at=NOW + timedelta(hours=1))
    )
    assert post.status is PostStatus.SCHEDULED and placed == []
    assert posts.publish_due(store, now=NOW) == []
    assert len(posts.publish_due(store, now=NOW + timedelta(hours=2))) == 1
    assert posts.publish_due(store, now=NOW + timedelta(hours=3)) == []
    published = store.get_post(post.id)
    assert published is not None and published.status is PostStatus.PUBLISHED


def test_revisions_are_unique_and_follow_commit_order(store: Store) -> None:
    articles = [put(store, f"a{n}", published=NOW) for n in range(3)]
    revisions = [store.revision_of(a.id) for a in articles]
    assert revisions == sorted(set(revisions)) and revisions[-1] <= store.last_revision()


def test_posts_need_a_target_and_text(store: Store) -> None:
    editor, _ = _users(store)
    with pytest.raises(ValueError, match="at least one story"):
        posts.create_post(store, editor, PostDraft("Text."))
    with pytest.raises(ValueError, match="some text"):
        posts.create_post(store, editor, PostDraft("   ", [1]))
    with pytest.raises(LookupError):
        posts.create_post(store, editor, PostDraft("Text.", [999]))


def test_the_chain_never_reprocesses_a_post(store: Store) -> None:
    editor, _ = _users(store)
    article = put(store, "first", published=NOW)
    assert article.story_id is not None
    _, [placement] = posts.create_post(store, editor, PostDraft("Our reporter is at the dam.", [article.story_id]))
    store.mark_unprocessed()  # `livedesk repair --all`
    assert [a.id for a in store.unprocessed_articles()] == [article.id]
    assert [a.id for a in store.iter_articles()] == [article.id] and store.count_articles() == 1
    assert store.story_article_ids(article.story_id) == [article.id]
    assert store.stream_item(placement.article_id) is not None
