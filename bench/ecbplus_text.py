"""ECB+ documents as article text, for the labelled claim set (bench/data/claims_ecbplus.jsonl).

ECB+ stores each document as tokens. `article_text` joins them back the way a news page reads: no space before
closing punctuation and clitics ("said .", "Lohan ’ s" → "said.", "Lohan’s"), none after opening brackets and
quotes, straight double quotes paired open/close; the first sentence is the title paragraph and the rest one
paragraph (ECB+ keeps no paragraph breaks, and a quote often runs over several of its sentences). Sentence 0 of
`ecbplus` files is the source URL and is dropped. The labels hold offsets into this text: changing the rebuild
changes the text, and bench/claims.py refuses labels whose document checksum no longer matches.
"""

from __future__ import annotations

import hashlib
import html
import re
from pathlib import Path

TOKEN = re.compile(r'<token t_id="\d+" sentence="(\d+)" number="\d+">([^<]*)</token>')
_NO_SPACE_BEFORE = frozenset({",", ".", ":", ";", "!", "?", ")", "]", "'s", "n't", "'re", "'ve", "'ll", "'d", "'m"})
_NO_SPACE_BEFORE_ALSO = frozenset({"%", "”", "’", "...", "''"})
_NO_SPACE_AFTER = frozenset({"(", "[", "$", "“", "‘", "``"})
_CLITICS = frozenset({"s", "t", "re", "ll", "ve", "d", "m"})
_LATEX_QUOTES = {"``": "“", "''": "”"}


def sentence_text(tokens: list[str]) -> str:
    out = ""
    glue_next = False
    previous = ""
    for raw in tokens:
        token = _LATEX_QUOTES.get(html.unescape(raw), html.unescape(raw))
        if token == '"':
            opening = out.count('"') % 2 == 0
            glue_before, glue_after = not opening, opening
        else:
            glue_before = raw in _NO_SPACE_BEFORE or token in _NO_SPACE_BEFORE | _NO_SPACE_BEFORE_ALSO
            glue_before = glue_before or (previous in ("’", "'") and token in _CLITICS)
            glue_after = raw in _NO_SPACE_AFTER or token in _NO_SPACE_AFTER
        if out and not glue_before and not glue_next:
            out += " "
        out += token
        glue_next, previous = glue_after, token
    return out


def article_text(path: Path, sentences: int | None = None) -> str:
    """The document at `path` as a title paragraph and a body paragraph; only its first `sentences` sentences
    (the title included) when given."""
    found: dict[int, list[str]] = {}
    for number, token in TOKEN.findall(path.read_text(encoding="utf-8")):
        found.setdefault(int(number), []).append(token)
    numbers = [n for n in sorted(found) if not (n == 0 and path.name.endswith("ecbplus.xml"))]
    texts = [sentence_text(found[n]) for n in numbers[:sentences]]
    return texts[0] + "\n\n" + " ".join(texts[1:])


def checksum(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
