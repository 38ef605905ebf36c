"""Claim extraction: precision/recall of (attributed_to, cue) pairs, span exactness, status accuracy, sentences/s.

Texts go through `claims_in_texts`, as in the enrich stage: only sentences holding a cue word are parsed.

    python bench/claims.py [--data bench/data/claims.jsonl] [--ecbplus bench/data/claims_ecbplus.jsonl]
                           [--benchmarks ../shared/benchmarks] [--repeat 5] [--verbose]

Two labelled sets:
- in-domain (bench/data/claims.jsonl, written for livedesk beside its rules, one sentence a line): covers every
  cue type, sentences with no claim, and sentences whose status the text states. Each line: `{"text", "claims":
  [{"attributed_to", "cue", "status", "stated"}]}`; `stated` is true where the text itself says how solid the
  claim is (a denial, a hedge, "has not independently confirmed", …).
- ECB+ (bench/data/claims_ecbplus.jsonl, labelled before the rules were revised and frozen since; how, in
  bench/data/claims_ecbplus.md): 59 real news documents rebuilt from the ECB+ tokens (bench/ecbplus_text.py), each
  line `{"path", "sentences", "checksum", "claims": [{"attributed_to", "source_start", "source_end", "refers_to"?,
  "cue", "cue_text", "cue_start", "text", "start", "end", "status", "stated"}]}` with offsets into the rebuilt text.

A predicted claim matches a labelled one when the cue is the same canonical cue and the sources name the same
thing (after lower-casing and dropping leading articles, one contains the other or their last words, the head
nouns, are equal; a pronoun's label also accepts the name it refers to); on ECB+ documents, which hold many
claims, their claim spans must also overlap. Each labelled claim matches at most one prediction.
Reported: (who, cue) precision and recall; status accuracy over the matched pairs whose status the text states;
on ECB+ also span exactness over the matched pairs (claim text and source text equal to the labelled spans) and
the share of all predicted claims whose text is the text at their offsets (exact substrings) with balanced quotes.
Bars: recall ≥ 0.85, precision ≥ 0.85.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from ecbplus_text import article_text, checksum  # noqa: E402

from livedesk.pipeline.enrich.claims import Claim, claims_in_texts, extract_claims  # noqa: E402
from livedesk.pipeline.enrich.nlp import load_pipeline  # noqa: E402

_ARTICLES = re.compile(r"^(the|a|an)\s+")
ECB_ROOT = Path("ecbplus") / "ECB+_LREC2014" / "ECB+"


@dataclass(frozen=True)
class Labelled:
    attributed_to: str
    cue: str
    status: str
    stated: bool
    refers_to: str | None = None
    text: str | None = None  # the claim span, where labelled
    start: int = -1
    end: int = -1


@dataclass
class Score:
    n_pred: int = 0
    n_gold: int = 0
    matched: int = 0
    stated: int = 0
    status_ok: int = 0
    status_all_ok: int = 0
    spans: int = 0  # matched pairs whose label has a span
    text_exact: int = 0
    source_exact: int = 0
    substrings: int = 0  # predictions whose text is the text at their offsets, quotes balanced

    def report(self, name: str) -> bool:
        precision = self.matched / self.n_pred if self.n_pred else 1.0
        recall = self.matched / self.n_gold if self.n_gold else 1.0
        print(f"[{name}] labelled claims: {self.n_gold}")
        print(f"  (attributed_to, cue): precision {precision:.3f}  recall {recall:.3f}", end="")
        print(f"  ({self.matched} matched, {self.n_pred} found)")
        print(f"  status accuracy where the text states it: {_share(self.status_ok, self.stated)}")
        print(f"  status accuracy over all matched claims: {_share(self.status_all_ok, self.matched)}")
        if self.spans:
            print(f"  claim span exact: {_share(self.text_exact, self.spans)}", end="")
            print(f"; source span exact: {_share(self.source_exact, self.spans)}")
            print(f"  predicted claims exact and balanced at their offsets: {_share(self.substrings, self.n_pred)}")
        return recall >= 0.85 and precision >= 0.85


def _share(part: int, whole: int) -> str:
    return f"{part}/{whole} = {part / max(whole, 1):.3f}"


def normalise_source(source: str) -> str:
    text = re.sub(r"[^\w\s]", " ", source.lower())
    return _ARTICLES.sub("", re.sub(r"\s+", " ", text).strip())


def same_source(predicted: str, labelled: str) -> bool:
    p, g = normalise_source(predicted), normalise_source(labelled)
    if not p or not g:
        return False
    return p in g or g in p or p.split()[-1] == g.split()[-1]


def _same_who(predicted: Claim, gold: Labelled) -> bool:
    names = [gold.attributed_to, *([gold.refers_to] if gold.refers_to else [])]
    return any(same_source(predicted.attributed_to, name) for name in names)


def _overlaps(predicted: Claim, gold: Labelled) -> bool:
    return gold.start < 0 or (predicted.start < gold.end and gold.start < max(predicted.end, predicted.start + 1))


def match(predicted: list[Claim], labelled: list[Labelled]) -> list[tuple[Claim, Labelled]]:
    pairs: list[tuple[Claim, Labelled]] = []
    free = list(predicted)
    for gold in labelled:
        hit = next((p for p in free if p.cue == gold.cue and _same_who(p, gold) and _overlaps(p, gold)), None)
        if hit is not None:
            free.remove(hit)
            pairs.append((hit, gold))
    return pairs


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def balanced(text: str) -> bool:
    return text.count('"') % 2 == 0 and text.count("“") == text.count("”")


def score(texts: Sequence[str], predicted: list[list[Claim]], gold: list[list[Labelled]], verbose: bool) -> Score:
    s = Score(n_pred=sum(map(len, predicted)), n_gold=sum(map(len, gold)))
    for text, pred, labels in zip(texts, predicted, gold, strict=True):
        pairs = match(pred, labels)
        s.matched += len(pairs)
        s.substrings += sum(1 for p in pred if _squash(text[p.start : p.end]) == p.text and balanced(p.text))
        for p, g in pairs:
            s.status_all_ok += p.status == g.status
            if g.stated:
                s.stated += 1
                s.status_ok += p.status == g.status
            if g.text is not None:
                s.spans += 1
                s.text_exact += p.text == _squash(g.text)
                s.source_exact += p.attributed_to in (g.attributed_to, g.refers_to)
        if verbose and (len(pairs) != len(labels) or len(pairs) != len(pred)):
            print(f"- {text[:2000]}")
            print(f"    labelled: {[(g.attributed_to, g.cue, g.status, g.text) for g in labels]}")
            print(f"    found:    {[(p.attributed_to, p.cue, p.status, p.text) for p in pred]}")
    return s


def in_domain(path: Path) -> tuple[list[str], list[list[Labelled]]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [row["text"] for row in rows], [[Labelled(**c) for c in row["claims"]] for row in rows]


def ecbplus(path: Path, root: Path) -> tuple[list[str], list[list[Labelled]]]:
    texts, gold = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        text = article_text(root / row["path"], row["sentences"])
        if checksum(text) != row["checksum"]:
            raise SystemExit(f"{row['path']}: the rebuilt text differs from the one labelled")
        texts.append(text)
        gold.append(
            [
                Labelled(
                    attributed_to=c["attributed_to"],
                    cue=c["cue"],
                    status=c["status"],
                    stated=c["stated"],
                    refers_to=c.get("refers_to"),
                    text=c["text"],
                    start=c["start"],
                    end=c["end"],
                )
                for c in row["claims"]
            ]
        )
    return texts, gold


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("bench/data/claims.jsonl"), help="in-domain sentences")
    parser.add_argument("--ecbplus", type=Path, default=Path("bench/data/claims_ecbplus.jsonl"), help="ECB+ labels")
    parser.add_argument("--benchmarks", type=Path, default=Path("../shared/benchmarks"), help="benchmarks folder")
    parser.add_argument("--repeat", type=int, default=5, help="passes over the in-domain set for the speed figure")
    parser.add_argument("--verbose", action="store_true", help="print every miss and false alarm")
    args = parser.parse_args()
    data = args.data if args.data.is_absolute() else REPO / args.data
    labels = args.ecbplus if args.ecbplus.is_absolute() else REPO / args.ecbplus
    benchmarks = args.benchmarks if args.benchmarks.is_absolute() else REPO / args.benchmarks

    nlp = load_pipeline(parser=True)
    texts, gold = in_domain(data)
    print(f"in-domain: {len(texts)} sentences ({sum(1 for g in gold if not g)} with no claim)")
    bars = score(texts, claims_in_texts(nlp, texts), gold, args.verbose).report("in-domain")

    if (benchmarks / ECB_ROOT).is_dir():
        ecb_texts, ecb_gold = ecbplus(labels, benchmarks / ECB_ROOT)
        print(f"ECB+: {len(ecb_texts)} documents ({sum(1 for g in ecb_gold if not g)} with no claim)")
        bars &= score(ecb_texts, claims_in_texts(nlp, ecb_texts), ecb_gold, args.verbose).report("ECB+ (frozen)")
    else:
        print(f"ECB+: skipped, no corpus under {benchmarks / ECB_ROOT}")

    start = time.perf_counter()
    for _ in range(args.repeat):
        claims_in_texts(nlp, texts)
    elapsed = time.perf_counter() - start
    docs = list(nlp.pipe(texts))
    rules_start = time.perf_counter()
    for _ in range(args.repeat):
        for doc in docs:
            extract_claims(doc)
    rules_elapsed = time.perf_counter() - rules_start
    print(
        f"speed: {len(texts) * args.repeat / elapsed:.0f} sentences/s cue filter + parse + rules; "
        f"{len(texts) * args.repeat / rules_elapsed:.0f} sentences/s rules alone"
    )
    print("bars (recall ≥ 0.85, precision ≥ 0.85 on each set):", "met" if bars else "NOT met")


if __name__ == "__main__":
    main()
