"""Attributed statements in a text: rules over spaCy's dependency parse and the lexicons of cues.py.

Each rule is a small function that finds one kind of attribution in a sentence and returns candidates: the cue
token, the tokens of the source, the tokens of the statement, the canonical cue and the status the cue implies.
Text-level rules then refine statuses ("CNN has not independently confirmed the document" makes every claim
sourced to the document unconfirmed; a denial contradicting an assertion makes the assertion disputed).
`claims_in_texts` parses only the sentences that can hold a claim (sentences.py) and runs the rules over them.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace

from spacy.language import Language
from spacy.tokens import Doc, Span, Token

from livedesk.models import ClaimStatus
from livedesk.pipeline.enrich.claims import cues
from livedesk.pipeline.enrich.claims.sentences import Sentence, claim_sentences

# Tokens trimmed from either end of a claim or source ("that" of a that-clause, quotes, commas, "and").
_EDGE_DEPS = frozenset({"punct", "mark", "cc", "prep", "agent"})
_EDGE_TAGS = frozenset({"``", "''", ",", ":", "HYPH", "-LRB-", "-RRB-", "NFP"})
# Parts of a source mention left out of `attributed_to` (they stay in its terms): "the document [that was
# obtained by CNN]", "figures [published by the office]".
_SOURCE_CLAUSES = frozenset({"relcl", "acl", "advcl", "punct"})
_SUBJECTS = frozenset({"nsubj", "csubj"})
_VERBAL = frozenset({"VERB", "AUX"})
_NOUNS = frozenset({"NOUN", "PROPN"})
# Share of the smaller set of topic terms two statements must have in common to be about the same thing.
CONFLICT_OVERLAP = 0.5


@dataclass(frozen=True)
class Claim:
    """One attributed statement: the clause or quote, who it is attributed to, the cue, and how solid it is."""

    text: str
    attributed_to: str
    cue: str
    status: ClaimStatus
    sentence: int  # index of the sentence in the document
    start: int  # character offsets of `text` in the document
    end: int
    # Lemmas of the statement's content words: what "the same claim" and "a conflicting claim" are matched on.
    terms: tuple[str, ...] = ()


@dataclass
class _Found:
    """A claim while the rules work on it, still holding its tokens."""

    cue_token: Token
    source: list[Token]  # empty: unattributed
    content: list[Token]
    cue: str
    status: ClaimStatus
    stated: bool = field(default=False)  # status stated by the text rather than the default

    @property
    def is_denial(self) -> bool:
        return self.status == cues.DENIED


Rule = Callable[[Span], Iterable[_Found]]


def claims_in_texts(nlp: Language, texts: Sequence[str]) -> list[list[Claim]]:
    """Every attributed statement of each text, in text order, offsets and sentence indices in that text.

    Only the sentences holding a cue word are parsed, a bounded number per text (`claim_sentences`), all texts'
    in one `nlp.pipe`; `nlp` needs the dependency parse and lemmas (`load_pipeline(parser=True)`).
    """
    cut = [claim_sentences(text) for text in texts]
    parsed = iter(nlp.pipe(s.text for found in cut for s in found))
    return [_claims_in_sentences(found, [next(parsed) for _ in found]) for found in cut]


def _claims_in_sentences(found: list[Sentence], docs: list[Doc]) -> list[Claim]:
    """The rules over the parsed sentences of one text, joined into one Doc (the text-level rules relate claims
    across sentences); offsets are mapped back from the joined Doc to the text."""
    if not docs:
        return []
    joined = Doc.from_docs(docs)
    first_tokens = [0]
    for doc in docs[:-1]:
        first_tokens.append(first_tokens[-1] + len(doc))
    starts = [joined[i].idx for i in first_tokens]  # each sentence's offset in the joined Doc
    located = []
    for claim in extract_claims(joined):
        n = bisect_right(starts, claim.start) - 1
        shift = found[n].start - starts[n]
        located.append(replace(claim, sentence=found[n].index, start=claim.start + shift, end=claim.end + shift))
    return located


def extract_claims(doc: Doc) -> list[Claim]:
    """Every attributed statement of `doc`, in text order. `doc` needs the dependency parse and lemmas."""
    found: list[_Found] = []
    for sentence in doc.sents:
        found.extend(_sentence_claims(sentence))
    found.sort(key=lambda f: f.cue_token.i)
    _resolve_pronoun_sources(found)
    _apply_verification(found)
    _apply_conflicts(found)
    sentence_of = {s.start: n for n, s in enumerate(doc.sents)}
    claims = [_claim(f, sentence_of[f.cue_token.sent.start]) for f in found]
    return [c for c in claims if c.text]


def _sentence_claims(sentence: Span) -> list[_Found]:
    found: list[_Found] = []
    for rule in _RULES:
        found.extend(rule(sentence))
    _drop_nested_statements(found)
    for f in found:
        _apply_withholding(f)
        _apply_hedges(f)
    return _merge_hedges(found)


# -- rules: each finds one kind of attribution -----------------------------------------------------------------


def speech_verb_claims(sentence: Span) -> Iterator[_Found]:
    """ "X said (that) Y", "Y, X told reporters", "X denied Y", "X has not independently confirmed Y"."""
    for token in sentence:
        entry = cues.SPEECH_VERBS.get(token.lemma_)
        if entry is None or token.pos_ not in _VERBAL or _is_passive(token):
            continue
        content = _statement_of(token)
        source = _speaker_of(token)
        if not content or source is None:
            continue
        cue, status = entry
        negated = any(c.dep_ == "neg" for c in token.children)
        if token.lemma_ in cues.VERIFICATION_VERBS and negated:
            cue, status = cues.VERIFICATION_VERBS[token.lemma_], cues.UNCONFIRMED
        elif negated:
            continue  # "did not say that …" attributes nothing
        yield _Found(token, _mention(source), content, cue, status, stated=status != cues.UNCONFIRMED or negated)


def according_to_claims(sentence: Span) -> Iterator[_Found]:
    """ "Y, according to X" and "According to X, Y": the statement is the clause the phrase is attached to."""
    for token in sentence:
        if token.lower_ != "according":
            continue
        to = next((c for c in token.children if c.lower_ == "to"), None)
        source = next((c for c in to.children if c.dep_ == "pobj"), None) if to is not None else None
        if source is None:
            continue
        clause = _clause_of(token)
        content = _without(clause.subtree, token)
        yield _Found(token, _mention(source), content, "according to", cues.UNCONFIRMED)


def no_comment_claims(sentence: Span) -> Iterator[_Found]:
    """ "X declined to comment (on Y)": X withholds confirmation of whatever Y is."""
    for token in sentence:
        entry = cues.NO_COMMENT.get(token.lemma_)
        if entry is None:
            continue
        complement, cue = entry
        if not any(c.dep_ == "xcomp" and c.lemma_ == complement for c in token.children):
            continue
        source = _speaker_of(token)
        if source is None:
            continue
        content = _without(token.subtree, *(c for c in token.children if c.dep_ in _SUBJECTS))
        yield _Found(token, _mention(source), content, cue, cues.UNCONFIRMED, stated=True)


def hedge_claims(sentence: Span) -> Iterator[_Found]:
    """ "X reportedly/allegedly did Y", "X is believed to …", "the memo appears to show Y": hedged, so alleged."""
    for token in sentence:
        if token.dep_ == "advmod" and token.lower_ in cues.HEDGE_ADVERBS:
            clause = _clause_of(token)
            yield _Found(token, [], _without(clause.subtree, token), cues.HEDGE_ADVERBS[token.lower_], cues.ALLEGED)
        elif token.lemma_ in cues.HEDGE_VERBS and (action := _child(token, "xcomp")) is not None:
            yield _hedging_verb_claim(token, action)
        elif token.lemma_ in cues.PASSIVE_HEDGES and _is_passive(token) and _child(token, "xcomp") is not None:
            yield _Found(token, [], list(token.subtree), cues.PASSIVE_HEDGES[token.lemma_], cues.ALLEGED)


def _hedging_verb_claim(verb: Token, action: Token) -> _Found:
    """ "The memo appears to show Y" attributes Y to the memo; "talks appear to have stalled" to nobody."""
    subject = _child(verb, "nsubj")
    cue = cues.HEDGE_VERBS[verb.lemma_]
    if action.lemma_ in cues.EVIDENCE_VERBS and subject is not None and subject.pos_ in _NOUNS:
        content = [t for c in action.children if c.dep_ in ("ccomp", "dobj") for t in c.subtree]
        return _Found(verb, _mention(subject), content, cue, cues.ALLEGED)
    return _Found(verb, [], list(verb.subtree), cue, cues.ALLEGED)


_RULES: tuple[Rule, ...] = (speech_verb_claims, according_to_claims, no_comment_claims, hedge_claims)


# -- sentence-level refinements ---------------------------------------------------------------------------------


def _drop_nested_statements(found: list[_Found]) -> None:
    """A statement holding another attribution ends where that one starts: "X said A, adding B" is two claims."""
    cue_tokens = {f.cue_token.i: f for f in found if f.source}
    for f in found:
        nested = [cue_tokens[t.i] for t in f.content if t.i in cue_tokens and cue_tokens[t.i] is not f]
        for inner in nested:
            # An inner cue with its own source or statement is a claim of its own; drop it from the outer one.
            excluded = {t.i for t in inner.cue_token.subtree}
            f.content = [t for t in f.content if t.i not in excluded]


def _apply_withholding(f: _Found) -> None:
    """ "… adding 'we are not in a position to confirm or comment'": the speaker withholds confirmation."""
    text = " ".join(t.lower_ for t in f.content)
    for phrase, cue in cues.WITHHOLDING_PHRASES.items():
        if phrase in text:
            f.cue, f.status, f.stated = cue, cues.UNCONFIRMED, True
            return


def _apply_hedges(f: _Found) -> None:
    """A plain attribution of a hedged statement ("X said Y had reportedly …") is alleged."""
    if f.status == cues.UNCONFIRMED and not f.stated and any(_is_hedge(t) for t in f.content):
        f.status, f.stated = cues.ALLEGED, True


def _merge_hedges(found: list[_Found]) -> list[_Found]:
    """An unattributed hedge inside an attributed statement is that statement's status, not a claim of its own."""
    attributed = [f for f in found if f.source]
    kept = []
    for f in found:
        inside = any(f.cue_token.i in {t.i for t in other.content} for other in attributed)
        if f.source or not inside:
            kept.append(f)
    return kept


def _is_hedge(token: Token) -> bool:
    return (token.dep_ == "advmod" and token.lower_ in cues.HEDGE_ADVERBS) or (
        token.lemma_ in cues.HEDGE_VERBS and _child(token, "xcomp") is not None
    )


# -- text-level refinements -------------------------------------------------------------------------------------


def _resolve_pronoun_sources(found: list[_Found]) -> None:
    """ "… it also states that …": a pronoun source stands for the previous named source in the text."""
    previous: list[Token] = []
    for f in found:
        if len(f.source) == 1 and f.source[0].lower_ in cues.RESOLVABLE_PRONOUNS and previous:
            f.source = previous
        elif f.source:
            previous = f.source


def _apply_verification(found: list[_Found]) -> None:
    """ "CNN has not independently confirmed the veracity of the document": claims sourced to the document are
    unconfirmed. "independently confirmed/verified" makes them confirmed."""
    for verdict in found:
        lemma = verdict.cue_token.lemma_
        if lemma not in cues.VERIFICATION_VERBS:
            continue
        negated = verdict.status == cues.UNCONFIRMED
        independent = any(c.lower_ == "independently" for c in verdict.cue_token.children)
        if not (negated or independent):
            continue
        checked = _nouns(verdict.content)
        for claim in found:
            if claim is verdict or claim.status in (cues.DENIED, cues.CONFIRMED):
                continue
            if checked & _nouns(_source_subtree(claim.source)):
                claim.status, claim.stated = (cues.UNCONFIRMED if negated else cues.CONFIRMED), True


def _apply_conflicts(found: list[_Found]) -> None:
    """An assertion that a denial in the same text contradicts is disputed."""
    denials = [_topic_terms(f) for f in found if f.is_denial]
    for f in found:
        if f.is_denial or f.status == cues.CONFIRMED:
            continue
        if any(conflicting(_topic_terms(f), d) for d in denials):
            f.status, f.stated = cues.DISPUTED, True


def conflicting(a: Iterable[str], b: Iterable[str]) -> bool:
    """Whether two statements share enough topic terms to be about the same thing."""
    first, second = set(a), set(b)
    smaller = min(len(first), len(second))
    return smaller > 0 and len(first & second) / smaller >= CONFLICT_OVERLAP


# -- from tokens to a Claim -------------------------------------------------------------------------------------


def _claim(f: _Found, sentence: int) -> Claim:
    content = _trimmed(f.content, f.cue_token)
    source = _trimmed(f.source, f.source[0]) if f.source else []
    return Claim(
        text=_render(content),
        attributed_to=_render(source) or cues.UNATTRIBUTED,
        cue=f.cue,
        status=f.status,
        sentence=sentence,
        start=content[0].idx if content else f.cue_token.idx,
        end=content[-1].idx + len(content[-1]) if content else f.cue_token.idx,
        terms=tuple(sorted(_topic_terms(f, content))),
    )


def _topic_terms(f: _Found, content: Iterable[Token] | None = None) -> set[str]:
    terms = {
        t.lemma_.lower()
        for t in (f.content if content is None else content)
        if t.pos_ in cues.TOPIC_POS and not t.is_stop and t.lemma_ not in cues.SPEECH_VERBS and t.is_alpha
    }
    # "The rebels denied receiving weapons": who received them is the denier.
    if f.is_denial and f.source and not any(t.dep_ in _SUBJECTS for t in f.content):
        terms |= {t.lemma_.lower() for t in f.source if t.pos_ in _NOUNS}
    return terms


def _trimmed(tokens: list[Token], anchor: Token) -> list[Token]:
    """The tokens within the anchor's paragraph, in text order, without quotes, commas or "that" at either end."""
    low, high = _paragraph(anchor)
    kept = sorted((t for t in tokens if low <= t.i < high), key=lambda t: t.i)
    while kept and _is_edge(kept[0]):
        kept.pop(0)
    while kept and _is_edge(kept[-1]):
        kept.pop()
    return kept


def _render(tokens: list[Token]) -> str:
    text = "".join(t.text_with_ws for t in tokens)
    return re.sub(r"\s+", " ", text).strip(" \"'“”‘’,;:—–-")


def _is_edge(token: Token) -> bool:
    return token.is_space or token.dep_ in _EDGE_DEPS or token.tag_ in _EDGE_TAGS or token.is_quote


def _paragraph(token: Token) -> tuple[int, int]:
    """Token bounds of the part of `token`'s sentence in its paragraph: statements never run across a blank line
    (a statement is a subtree of one sentence, so the sentence bounds the search)."""
    doc, sentence = token.doc, token.sent
    low = token.i
    while low > sentence.start and not _breaks(doc[low - 1]):
        low -= 1
    high = token.i + 1
    while high < sentence.end and not _breaks(doc[high]):
        high += 1
    return low, high


def _breaks(token: Token) -> bool:
    return "\n" in token.text or token.whitespace_.count("\n") > 0


# -- parse helpers ---------------------------------------------------------------------------------------------


def _statement_of(verb: Token) -> list[Token]:
    """What a speech verb reports: its clausal complement; a noun object for "denied X"; for "Y, X said" (the
    verb attached to the statement rather than governing it) the rest of the governing clause."""
    for child in verb.children:
        if child.dep_ == "ccomp" or (child.dep_ == "xcomp" and verb.lemma_ in cues.OBJECT_TAKING | {"claim"}):
            return list(child.subtree)
    if verb.lemma_ in cues.OBJECT_TAKING:
        obj = _child(verb, "dobj")
        if obj is not None:
            return list(obj.subtree)
    if verb.dep_ in ("parataxis", "advcl") and verb.head.pos_ in _VERBAL and verb.i > verb.head.i:
        return _without(verb.head.subtree, verb)
    # "…, a charge his lawyer denied": the noun the clause describes stands for the statement it qualifies.
    if verb.dep_ == "relcl" and verb.lemma_ in cues.OBJECT_TAKING and verb.head.head.pos_ in _VERBAL:
        return _without(verb.head.head.subtree, verb.head)
    return []


def _speaker_of(verb: Token) -> Token | None:
    """The subject of the verb; for "…, adding …" the speaker of the report it continues; for "and told …" the
    subject of the verb it is joined to."""
    subject = next((c for c in verb.children if c.dep_ in _SUBJECTS), None)
    if subject is not None:
        return subject
    if verb.dep_ == "advcl" and verb.lemma_ in cues.SPEECH_VERBS:
        reporter = next((a for a in verb.ancestors if a.lemma_ in cues.SPEECH_VERBS), None)
        return None if reporter is None else _speaker_of(reporter)
    if verb.dep_ in ("conj", "xcomp") and verb.head.i != verb.i:
        return _speaker_of(verb.head)
    return None


def _mention(head: Token) -> list[Token]:
    """The tokens of a source mention as written, without the clauses that qualify it."""
    tokens = [head]
    for child in head.children:
        if child.dep_ not in _SOURCE_CLAUSES:
            tokens.extend(_mention(child))
    return tokens


def _source_subtree(source: list[Token]) -> list[Token]:
    """The whole phrase of a source mention, qualifying clauses included ("reporting cited in the document")."""
    if not source:
        return []
    head = min(source, key=lambda t: len(list(t.ancestors)))
    return list(head.subtree)


def _clause_of(token: Token) -> Token:
    """The nearest verb or auxiliary governing `token` (the clause a phrase or adverb belongs to), else the root
    of its sentence (which is its own head)."""
    current = token.head
    # By index: spaCy makes a new Token object at each access, so `current.head is current` is never true.
    while current.pos_ not in _VERBAL and current.head.i != current.i:
        current = current.head
    return current


def _without(tokens: Iterable[Token], *excluded: Token) -> list[Token]:
    removed = {t.i for e in excluded for t in e.subtree}
    return [t for t in tokens if t.i not in removed]


def _child(token: Token, dep: str) -> Token | None:
    return next((c for c in token.children if c.dep_ == dep), None)


def _is_passive(token: Token) -> bool:
    return any(c.dep_ == "auxpass" for c in token.children)


def _nouns(tokens: Iterable[Token]) -> set[str]:
    return {t.lemma_.lower() for t in tokens if t.pos_ in _NOUNS}
