"""Entity kinds on a frozen labelled set from ECB+'s own entity annotations, and consistency per story.

    python bench/entities.py [--data ../shared/benchmarks]
    python bench/entities.py --freeze   # (re)writes bench/data/entity_kinds.jsonl; done once, before rule changes

The labels: in the first two documents of each ECB+ event (172 texts), every annotated mention of a person
(HUMAN_PART_PER), an organisation (HUMAN_PART_ORG) or a place (LOC_GEO, LOC_FAC, HUMAN_PART_GPE) that is a proper
name (each word capitalised), inside what NER reads (title + lead), with its coarse kind. The run: NER over each
labelled text, names folded within the text's event as the enrich stage folds them within a story (in file order),
then for each labelled name that NER found: is its kind right (person / organisation / place)? Also counted over
every name given out: names with more than one kind within one event, and malformed names (an unbalanced bracket,
the same word twice in a row in another case).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from itertools import pairwise
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from livedesk.models import KnownEntity  # noqa: E402
from livedesk.pipeline.enrich.entities import LEAD_WORDS, mentions, ner_text, resolve, with_hints  # noqa: E402
from livedesk.pipeline.enrich.nlp import load_pipeline  # noqa: E402
from livedesk.text import name_key  # noqa: E402

LABELS = REPO / "bench" / "data" / "entity_kinds.jsonl"
ECB = Path("ecbplus") / "ECB+_LREC2014" / "ECB+"
KIND_OF_MARKABLE = {
    "HUMAN_PART_PER": "person",
    "HUMAN_PART_ORG": "organisation",
    "LOC_GEO": "place",
    "LOC_FAC": "place",
    "HUMAN_PART_GPE": "place",
}
KIND_OF_TYPE = {"PERSON": "person", "ORG": "organisation", "GPE": "place", "LOC": "place", "FAC": "place"}
TOKEN = re.compile(r'<token t_id="(\d+)" sentence="(\d+)" number="\d+">([^<]*)</token>')
MARKABLE = re.compile(r"<(\w+) m_id=\"\d+\"\s*>(.*?)</\1>", re.S)
ANCHOR = re.compile(r'<token_anchor t_id="(\d+)"/>')
FILE = re.compile(r"^(\d+)_(\d+)(ecb|ecbplus)\.xml$")
PRONOUNS = frozenset(
    [
        "he",
        "she",
        "it",
        "they",
        "we",
        "i",
        "you",
        "his",
        "her",
        "its",
        "their",
        "our",
        "my",
        "him",
        "them",
        "us",
        "this",
        "that",
    ]
)
MINOR = frozenset({"of", "the", "and", "for", "de", "du", "al", "bin", "van", "von", "-", "&", "'s", "."})


def document(path: Path) -> tuple[str, str, dict[str, str]]:
    """(title, text, {labelled name: kind}) of one ECB+ file, its text rebuilt as bench/stories.py does."""
    source = path.read_text(encoding="utf-8")
    part = FILE.match(path.name).group(3)  # type: ignore[union-attr]
    tokens = {int(i): (int(s), w) for i, s, w in TOKEN.findall(source)}
    sentences: dict[int, list[str]] = defaultdict(list)
    for _i, (sentence, word) in sorted(tokens.items()):
        if not (part == "ecbplus" and sentence == 0):
            sentences[sentence].append(word)
    ordered = [" ".join(sentences[n]) for n in sorted(sentences)]
    title, text = ordered[0], "\n\n".join(ordered[1:])
    read = name_key(ner_text(title, text, LEAD_WORDS))
    labels: dict[str, str] = {}
    for tag, body in MARKABLE.findall(source.split("<Markables>", 1)[-1]):
        kind = KIND_OF_MARKABLE.get(tag)
        ids = [int(i) for i in ANCHOR.findall(body)]
        if kind is None or not ids or any(i not in tokens for i in ids):
            continue
        words = [tokens[i][1] for i in sorted(ids)]
        if not words[0][:1].isupper() or not all(w[:1].isupper() or w.lower() in MINOR for w in words):
            continue
        name = " ".join(words)
        if name_key(name) in PRONOUNS:
            continue
        if f" {name_key(name)} " in f" {read} ":
            labels.setdefault(name, kind)
    return title, text, labels


def freeze(root: Path) -> None:
    first: dict[tuple[str, str], list[Path]] = defaultdict(list)
    for path in sorted(
        root.glob("*/*.xml"), key=lambda p: [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", p.name)]
    ):
        match = FILE.match(path.name)
        if match and len(first[match.group(1), match.group(3)]) < 2:
            first[match.group(1), match.group(3)].append(path)
    with LABELS.open("w", encoding="utf-8") as out:
        for (topic, part), paths in sorted(first.items(), key=lambda item: (int(item[0][0]), item[0][1])):
            for path in paths:
                _title, _text, labels = document(path)
                for name, kind in sorted(labels.items()):
                    row = {"doc": path.stem, "event": f"{topic}{part}", "name": name, "kind": kind}
                    out.write(json.dumps(row) + "\n")
    print(f"wrote {LABELS}")


def evaluate(root: Path) -> None:
    rows = [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines()]
    labelled: dict[str, dict[str, str]] = defaultdict(dict)
    for row in rows:
        labelled[row["doc"]][name_key(row["name"])] = row["kind"]
    ner = load_pipeline()
    known: dict[str, list[KnownEntity]] = defaultdict(list)  # per event, as a story's entities
    kinds: dict[tuple[str, str], set[str]] = defaultdict(set)
    found = right = malformed = given = 0
    for doc in labelled:
        topic = doc.split("_", 1)[0]
        title, text, _labels = document(root / topic / f"{doc}.xml")
        event = doc.rsplit("_", 1)[0] + re.sub(r"^\d+", "", doc.rsplit("_", 1)[1])
        resolved = resolve(with_hints(mentions(ner(ner_text(title, text)).ents)), known[event])
        votes = {(k.name, k.type): k.count for k in known[event]}
        for r in resolved:
            votes[r.name, r.type] = votes.get((r.name, r.type), 0) + r.count
        absorbed = {k.id for r in resolved for k in known[event] if k.id in r.absorbs}
        kept = {(k.name, k.type) for k in known[event] if k.id not in absorbed} | {(r.name, r.type) for r in resolved}
        known[event] = [KnownEntity(i, name, kind, votes[name, kind]) for i, (name, kind) in enumerate(sorted(kept))]
        by_key = {r.key: r for r in resolved} | {k: r for r in resolved for k, _n in r.aliases}
        for key, kind in labelled[doc].items():
            if key in by_key:
                found += 1
                right += KIND_OF_TYPE.get(by_key[key].type) == kind
        for r in resolved:
            given += 1
            kinds[event, r.key].add(r.type)
            words = r.name.split()
            doubled = any(a != b and a.casefold() == b.casefold() for a, b in pairwise(words))
            malformed += doubled or r.name.count("(") != r.name.count(")")
    mixed = sum(len(v) > 1 for v in kinds.values())
    print(f"{len(labelled)} texts, {len(rows)} labelled names; NER found {found} ({found / len(rows):.1%})")
    print(f"kind right: {right}/{found} = {right / found:.3f}")
    print(
        f"names with more than one kind in an event: {mixed} of {len(kinds)}; malformed names: {malformed} of {given}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/benchmarks"))
    parser.add_argument("--freeze", action="store_true")
    args = parser.parse_args()
    root = (args.data if args.data.is_absolute() else (REPO / args.data).resolve()) / ECB
    if args.freeze:
        freeze(root)
    evaluate(root)


if __name__ == "__main__":
    main()
