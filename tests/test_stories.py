"""The story stage on real SQLite and PostgreSQL stores: grouping, cold gaps, copies, merges and splits."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from livedesk.desk.stories import merge_stories, split_story
from livedesk.models import Article, StoredArticle
from livedesk.pipeline import enrich, stories
from livedesk.pipeline.stories import MAX_TERM_CHARS, StorySettings, assign, features, summarize
from livedesk.store import Store
from livedesk.store.schema import articles
from tests.factories import make_article
from tests.test_cli import livedesk

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

# Two stories in the same country and the same week: peace talks, and a probe into an arms contract.
TALKS = [
    (
        "Ceasefire talks between Korvania and Highlands Front open in Varenholm",
        "VARENHOLM – Negotiators for the Korvanian government and the Eastern Highlands Front opened ceasefire talks "
        "in Varenholm on Monday, mediated by Pellmark's foreign minister Odile Farrant. The talks aim at a 30-day "
        "truce along the eastern front line.",
    ),
    (
        "Varenholm truce talks stall after shelling of Brask",
        "Ceasefire talks in Varenholm between Korvania and the Highlands Front stalled on Wednesday after the "
        "shelling of Brask, mediator Odile Farrant said. Negotiators still hope to agree a 30-day truce.",
    ),
    (
        "Korvania and Highlands Front sign 30-day ceasefire in Varenholm",
        "The government of Korvania and the Highlands Front signed a 30-day ceasefire in Varenholm on Friday, "
        "Odile Farrant announced. The truce takes effect at midnight along the eastern front line.",
    ),
]
PROBE = [
    (
        "Korvania prosecutors open probe into army rifle contract",
        "Prosecutors in Korvania opened an investigation on Tuesday into a 240 million crown contract for army "
        "rifles awarded to Stenhall Arms without a tender. Defence ministry officials are suspected of taking bribes.",
    ),
    (
        "Stenhall Arms offices searched in rifle contract probe",
        "Investigators searched the offices of Stenhall Arms in Korvania on Thursday as part of the probe into the "
        "240 million crown rifle contract, prosecutors said. No tender was held for the contract.",
    ),
    (
        "Deputy defence minister questioned over Stenhall rifle contract",
        "Prosecutors questioned Korvania's deputy defence minister on Saturday about the 240 million crown rifle "
        "contract awarded to Stenhall Arms without a tender.",
    ),
]
EXCHANGES = [
    (
        "Korvania and Highlands Front exchange 42 prisoners at Brask crossing",
        "Korvania and the Highlands Front exchanged prisoners at the Brask crossing on Tuesday, with Red Lantern "
        "officials overseeing the handover of soldiers and fighters held since the winter.",
    ),
    (
        "Korvania and Highlands Front exchange prisoners at Brask crossing",
        "The Highlands Front and Korvania exchanged prisoners at the Brask crossing on Thursday, Red Lantern "
        "officials said, the handover of soldiers and fighters held since the spring.",
    ),
]


class Desk:
    """Stores articles the way ingest does and runs them through the stage."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.count = 0

    def add(
        self, title: str, text: str, at: datetime, *, site: str = "meridian.example", copy_of: Article | None = None
    ) -> StoredArticle:
        self.count += 1
        article = make_article(
            f"https://{site}/{self.count}", text, title=title, html="", first_seen_at=at, published_at=at
        )
        self.store.upsert_article(article)
        if copy_of is not None:
            # What the syndication stage records for a copy.
            with self.store._engine.begin() as connection:
                connection.execute(
                    sa.update(articles)
                    .where(articles.c.url_hash == article.url_hash)
                    .values(syndicated_from=copy_of.canonical_url)
                )
        stored = self.store.get_article(article.url_hash)
        assert stored is not None
        return stored

    def assign(self, title: str, text: str, at: datetime, **options: object) -> tuple[StoredArticle, int]:
        stored = self.add(title, text, at, **options)  # type: ignore[arg-type]
        return stored, assign(self.store, stored)

    def story_ids(self, pairs: list[tuple[str, str]], start: datetime, *, site: str = "meridian.example") -> list[int]:
        return [self.assign(t, x, start + timedelta(hours=20 * i), site=site)[1] for i, (t, x) in enumerate(pairs)]


@pytest.fixture
def desk(store: Store) -> Desk:
    return Desk(store)


def test_articles_about_one_event_join_one_story(desk: Desk) -> None:
    assert len(set(desk.story_ids(TALKS, T0))) == 1


def test_two_stories_in_the_same_country_and_week_stay_apart(desk: Desk) -> None:
    interleaved = [article for pair in zip(TALKS, PROBE, strict=True) for article in pair]
    ids = desk.story_ids(interleaved, T0)
    talks, probe = set(ids[0::2]), set(ids[1::2])
    assert len(talks) == 1 and len(probe) == 1
    assert talks != probe


def test_a_story_goes_cold_after_the_gap(desk: Desk, store: Store) -> None:
    (first, second) = EXCHANGES
    _, march = desk.assign(*first, T0)
    _, april = desk.assign(*second, T0 + timedelta(days=30))
    assert march != april
    # The same two reports within the gap are one story: it is the gap that kept them apart.
    _, one = desk.assign(*first, T0 + timedelta(days=60))
    later = desk.add(*second, T0 + timedelta(days=61))
    assert assign(store, later, settings=StorySettings(cold_gap=timedelta(days=4))) == one


def test_a_copy_follows_its_original_whatever_its_text(desk: Desk) -> None:
    original, story_id = desk.assign(*PROBE[0], T0)
    _, copy_story = desk.assign(
        "Jaksa Korvania selidiki kontrak senapan",
        "Kejaksaan membuka penyelidikan atas kontrak senapan tentara.",
        T0 + timedelta(hours=3),
        site="beritakini.example",
        copy_of=original.article,
    )
    assert copy_story == story_id
    story = desk.store.get_story(story_id)
    assert story is not None
    assert (story.article_count, story.outlet_count) == (2, 2)
    assert story.title == PROBE[0][0]  # a copy never becomes the headline


def test_title_summary_counts_and_times(desk: Desk, store: Store) -> None:
    sites = ["meridian.example", "harbor.example", "meridian.example"]
    ids = [desk.assign(t, x, T0 + timedelta(hours=5 * i), site=sites[i])[1] for i, (t, x) in enumerate(TALKS)]
    story = store.get_story(ids[0])
    assert story is not None
    assert story.title in {title for title, _ in TALKS}
    lead = next(text for title, text in TALKS if title == story.title)
    assert story.summary == summarize(lead, StorySettings().summary_chars)
    assert lead.startswith(story.summary)
    assert (story.article_count, story.outlet_count) == (3, 2)
    assert (story.first_seen, story.last_update) == (T0, T0 + timedelta(hours=10))
    assert [s.id for s in store.list_stories()] == [story.id]


def test_assign_is_idempotent(desk: Desk, store: Store) -> None:
    stored, story_id = desk.assign(*TALKS[0], T0)
    documents = store.document_frequencies([])[0]
    assert assign(store, stored) == story_id
    assert assign(store, store.get_article(stored.article.url_hash)) == story_id  # type: ignore[arg-type]
    assert store.document_frequencies([])[0] == documents == 1
    story = store.get_story(story_id)
    assert story is not None and story.article_count == 1


def test_merge_moves_the_articles_and_later_arrivals_follow(desk: Desk, store: Store) -> None:
    talks = desk.story_ids(TALKS[:2], T0)[0]
    probe = desk.story_ids(PROBE[:2], T0 + timedelta(hours=1), site="harbor.example")[0]
    assert talks != probe
    merge_stories(store, talks, probe)
    assert store.get_story(probe) is None
    merged = store.get_story(talks)
    assert merged is not None
    assert (merged.article_count, merged.outlet_count) == (4, 2)
    # A new article about the absorbed story goes to the surviving one.
    assert desk.assign(*PROBE[2], T0 + timedelta(days=1))[1] == talks


def test_split_creates_a_story_and_later_arrivals_follow(desk: Desk, store: Store) -> None:
    talks = desk.story_ids(TALKS[:2], T0)[0]
    probe_articles = [desk.assign(*p, T0 + timedelta(hours=1 + i))[0] for i, p in enumerate(PROBE[:2])]
    probe = store.article_story(probe_articles[0].id)
    assert probe is not None and probe != talks
    merge_stories(store, talks, probe)
    assert {store.article_story(a.id) for a in probe_articles} == {talks}

    new = split_story(store, talks, [a.id for a in probe_articles])
    assert new != talks
    assert {store.article_story(a.id) for a in probe_articles} == {new}
    kept, split_off = store.get_story(talks), store.get_story(new)
    assert kept is not None and split_off is not None
    assert (kept.article_count, split_off.article_count) == (2, 2)
    assert kept.title in {t for t, _ in TALKS} and split_off.title in {t for t, _ in PROBE}
    # New articles about each part go to that part.
    assert desk.assign(*PROBE[2], T0 + timedelta(days=1))[1] == new
    assert desk.assign(*TALKS[2], T0 + timedelta(days=1))[1] == talks


def test_editors_mistakes_are_refused(desk: Desk, store: Store) -> None:
    story_id = desk.story_ids(TALKS[:2], T0)[0]
    with pytest.raises(stories.StoryNotFoundError):
        merge_stories(store, story_id, story_id + 1000)
    with pytest.raises(ValueError):
        merge_stories(store, story_id, story_id)
    with pytest.raises(ValueError):
        split_story(store, story_id, store.story_article_ids(story_id))  # nothing would stay
    with pytest.raises(ValueError):
        split_story(store, story_id, [999_999])


def test_names_and_numbers_weigh_more_than_common_words() -> None:
    weights = features("Talks resume", "Officials met again. The talks in Varenholm resumed with 42 delegates.")
    assert weights["varenholm"] > weights["delegate"]
    assert weights["42"] > weights["delegate"]
    assert "the" not in weights and "talk" in weights


def test_endless_words_are_no_terms() -> None:
    weights = features("Port " + "y" * 100_000, "Talks resumed. " + "x" * 2_000_000, entity_names=["Kessport " * 1_000])
    assert "port" in weights and "talk" in weights
    assert max(map(len, weights)) <= MAX_TERM_CHARS


def test_a_name_after_an_abbreviation_is_still_mid_sentence() -> None:
    weights = features("Talks resume", "Officials met again. Gen. Varenholm met the delegates.")
    assert weights["varenholm"] > weights["delegate"]


def test_summary_keeps_whole_lead_sentences() -> None:
    text = "First sentence here. Second one is longer than the first. Third."
    assert summarize(text, 40) == "First sentence here."
    assert summarize("x" * 50, 20).endswith("…")
    # Initials and abbreviations end no sentence: the summary is the whole first one, or visibly cut.
    lead = "Gen. Smith said the U.S. Navy would sail. Crews waited."
    assert summarize(lead, 45) == "Gen. Smith said the U.S. Navy would sail."
    assert summarize(lead, 30) == "Gen. Smith said the U.S. Navy…"


# -- command line ---------------------------------------------------------------------------------------------


def test_cli_merge_split_list_and_export(tmp_path: Path) -> None:
    db = tmp_path / "desk.db"
    with Store.open(str(db)) as store:
        desk = Desk(store)
        talks = desk.story_ids(TALKS[:2], T0)[0]
        probe_articles = [desk.assign(*p, T0 + timedelta(hours=1 + i))[0] for i, p in enumerate(PROBE[:2])]
        probe = store.article_story(probe_articles[0].id)
    assert probe is not None and probe != talks

    merged = livedesk("stories", "merge", str(talks), str(probe), db=db)
    assert merged.returncode == 0, merged.stderr
    listed = livedesk("stories", "list", db=db)
    assert listed.returncode == 0, listed.stderr
    rows = [line for line in listed.stdout.splitlines() if line.startswith(f"│ {talks} ")]
    assert len(rows) == 1 and "│ 4 " in rows[0]  # one story left, with all four articles

    result = livedesk("stories", "split", str(talks), *(str(a.id) for a in probe_articles), db=db)
    assert result.returncode == 0, result.stderr
    exported = livedesk("export", "--what", "stories", db=db)
    records = [json.loads(line) for line in exported.stdout.splitlines()]
    assert len(records) == 2
    assert set(records[0]) == {"id", "title", "summary", "first_seen", "last_update", "article_ids", "claims"}
    by_articles = {tuple(sorted(r["article_ids"])) for r in records}
    assert tuple(sorted(str(a.id) for a in probe_articles)) in by_articles
    assert all(r["claims"] == [] for r in records)

    missing = livedesk("stories", "merge", str(talks), "9999", db=db)
    assert missing.returncode == 1
    assert "no story 9999" in missing.stderr


# One event told twice with few words in common but the names of its two (invented, so rare) protagonists.
SIGNING = (
    (
        "{a} and {b} sign water pact",
        "{a} and {b} signed an accord on Monday after lengthy negotiations over river water, ending a long "
        "quarrel between farmers and herders upstream. Markets rallied, grain traders cheered and the currency "
        "firmed against the dollar.",
    ),
    (
        "Ceremony ends irrigation dispute",
        "Officials confirmed that {a} had reached agreement with {b} during a ceremony held at the old palace, "
        "settling a feud about canals and wells that had simmered since the drought, observers noted. Villagers "
        "celebrated with music, bonfires and roasted goats until dawn, and schools closed for a holiday.",
    ),
)


@pytest.mark.parametrize(("weight", "joined"), [(0.0, False), (StorySettings().entity_weight, True)])
def test_shared_rare_names_join_a_story_only_with_entity_terms(desk: Desk, weight: float, joined: bool) -> None:
    settings = StorySettings(entity_weight=weight)
    ids = []
    for n, (title, text) in enumerate(SIGNING):
        stored = desk.add(
            title.format(a="Zarek Molvane", b="Tessaly Brunwick"),
            text.format(a="Zarek Molvane", b="Tessaly Brunwick"),
            T0 + timedelta(hours=n),
        )
        names = enrich.entity_names(enrich.find_mentions(stored))  # the real NER, as the ingest chain runs it
        assert {"Zarek Molvane", "Tessaly Brunwick"} <= set(names)
        ids.append(assign(desk.store, stored, entity_names=names, settings=settings))
    assert (ids[0] == ids[1]) is joined


def _demo_story_ids(desk: Desk) -> dict[str, list[int]]:
    """The demo corpus through the stage in time order, with the real NER's names as the ingest chain passes them
    (copies as plain articles: the harder case); the story ids of each of its stories."""
    from livedesk.demo.corpus import corpus

    found: dict[str, list[int]] = {}
    for article in sorted(corpus(), key=lambda a: a.published):
        stored = desk.add(article.title, article.text, article.published, site=article.outlet)
        names = enrich.entity_names(enrich.find_mentions(stored))
        found.setdefault(article.story, []).append(assign(desk.store, stored, entity_names=names))
    return found


def test_the_same_event_told_from_new_angles_days_later_is_one_story(desk: Desk) -> None:
    # The port strike: the walkout, the queues, a leaked automation plan, a live page, shortages and the deal,
    # over five days, with few words shared between the angles beyond the lead's.
    # The wildfire: evacuation, growth, the suspected cause and the first rain, over four days.
    found = _demo_story_ids(desk)
    assert len(set(found["port-strike"])) == 1
    assert len(set(found["wildfire"])) == 1


def test_two_events_between_the_same_parties_stay_apart(desk: Desk) -> None:
    # Korvania's central bank holding its rate in wartime, and the Korvania ceasefire talks running that week.
    found = _demo_story_ids(desk)
    assert not set(found["korvania-rates"]) & set(found["ceasefire"])
    stories_of = [set(ids) for ids in found.values()]
    assert all(not a & b for i, a in enumerate(stories_of) for b in stories_of[i + 1 :])
