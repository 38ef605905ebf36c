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
_EDGE_DEPS = frozenset({"punct", "mark", "cc"})
_GOVERNING_EDGE_DEPS = frozenset({"prep", "agent"})
_EDGE_TAGS = frozenset({"``", "''", ",", ":", "HYPH", "-LRB-", "-RRB-", "NFP"})
# Parts of a source mention left out of `attributed_to` (they stay in its terms): "the document [that was
# obtained by CNN]", "figures [published by the office]".
_SOURCE_CLAUSES = frozenset({"relcl", "acl", "advcl", "punct"})
_SUBJECTS = frozenset({"nsubj", "csubj"})
# How an attribution inside another one's statement continues the report rather than being part of it.
_CONTINUATIONS = frozenset({"advcl", "conj", "parataxis", "xcomp", "npadvmod"})
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
        negated = _negated(token)
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


def refusal_claims(sentence: Span) -> Iterator[_Found]:
    """Refusals and non-answers in their many wordings: "X declined to say whether Y", "X would not comment",
    "X did not provide the cause", "X did not return calls", "X could not be reached". The claim is the refusal
    clause itself ("X declined to say whether Y"): what was withheld, by whom, in the text's words."""
    for token in sentence:
        cue = _refusal_cue(token)
        if cue is None:
            continue
        governing = token.head if token.dep_ == "xcomp" and token.head.lemma_ in cues.REFUSING_VERBS else token
        source = _speaker_of(governing) or _child(governing, "nsubjpass")  # "X could not be reached"
        if source is None:
            continue
        yield _Found(token, _mention(source), _refusal_clause(governing), cue, cues.UNCONFIRMED, stated=True)


def _refusal_cue(token: Token) -> str | None:
    lemma, negated = token.lemma_, _negated(token)
    if lemma in cues.REFUSING_VERBS:
        return None  # read at its complement, the verb of what is withheld
    if lemma in cues.WITHHOLDING_VERBS and token.dep_ == "xcomp" and token.head.lemma_ in cues.REFUSING_VERBS:
        return cues.DECLINED
    if not negated or token.pos_ not in _VERBAL:
        return None
    if lemma == "reach" and _is_passive(token):
        return cues.UNREACHABLE
    if lemma in cues.ANSWER_VERBS:
        obj = _child(token, "dobj")
        if lemma != "return" or (obj is not None and obj.lemma_ in cues.ANSWER_OBJECTS):
            return cues.NO_RESPONSE
        return None
    if lemma in cues.VERIFICATION_VERBS or lemma not in cues.WITHHOLDING_VERBS:
        return None
    modal = any(c.dep_ == "aux" and c.lower_ in cues.REFUSING_MODALS for c in token.children)
    if lemma in cues.SAY_VERBS and not modal:
        return None  # "did not say that …" attributes nothing
    return cues.DECLINED


def accusation_claims(sentence: Span) -> Iterator[_Found]:
    """ "X accused Y of Z", "Y is accused of Z", "a man accused of Z", "Z was blamed on Y", "X claimed
    responsibility for Z": alleged. An accusation without a named accuser is unattributed."""
    for token in sentence:
        if token.pos_ not in _VERBAL:
            continue
        if token.lemma_ == "claim" and (obj := _child(token, "dobj")) is not None and obj.lemma_ == "responsibility":
            cue = cues.RESPONSIBILITY
        elif token.lemma_ in cues.ACCUSING_VERBS:
            cue = cues.ACCUSING_VERBS[token.lemma_]
        else:
            continue
        reduced = token.dep_ == "acl" and token.tag_ == "VBN"  # "a man accused of …"
        if _is_passive(token) or reduced:
            agent = _child(token, "agent")
            by = _child(agent, "pobj") if agent is not None else None
            source = [] if by is None else _mention(by)
            content = list(token.subtree) if reduced else _clause_tokens(token)
        else:
            subject = _speaker_of(token)
            if subject is None:
                continue
            source = _mention(subject)
            content = _without(_clause_tokens(token), subject)
        yield _Found(token, source, content, cue, cues.ALLEGED, stated=True)


def hedge_claims(sentence: Span) -> Iterator[_Found]:
    """ "X reportedly/allegedly did Y", "X is believed to …", "the memo appears to show Y": hedged, so alleged."""
    for token in sentence:
        if token.dep_ == "advmod" and token.lower_ in cues.HEDGE_ADVERBS:
            clause = _clause_of(token)
            yield _Found(token, [], _clause_tokens(clause), cues.HEDGE_ADVERBS[token.lower_], cues.ALLEGED)
        elif token.lemma_ in cues.HEDGE_VERBS and (action := _child(token, "xcomp")) is not None:
            yield _hedging_verb_claim(token, action)
        elif token.lemma_ in cues.HEDGE_VERBS and (said := _child(token, "ccomp")) is not None:
            # "it appears (that) an offer has been made": the hedge is the outlet's, the claim its complement.
            yield _Found(token, [], list(said.subtree), cues.HEDGE_VERBS[token.lemma_], cues.ALLEGED)
        elif token.lemma_ in cues.PASSIVE_HEDGES and _child(token, "xcomp") is not None and _is_passive_form(token):
            # Finite, the clause ("The man is thought to have fallen"); reduced, the participle phrase.
            content = _clause_tokens(token) if _is_passive(token) else [t for t in token.subtree if t.i >= token.i]
            yield _Found(token, [], content, cues.PASSIVE_HEDGES[token.lemma_], cues.ALLEGED)


def _hedging_verb_claim(verb: Token, action: Token) -> _Found:
    """ "The memo appears to show Y" attributes Y to the memo; "talks appear to have stalled" to nobody."""
    subject = _child(verb, "nsubj")
    cue = cues.HEDGE_VERBS[verb.lemma_]
    if action.lemma_ in cues.EVIDENCE_VERBS and subject is not None and subject.pos_ in _NOUNS:
        content = [t for c in action.children if c.dep_ in ("ccomp", "dobj") for t in c.subtree]
        return _Found(verb, _mention(subject), content, cue, cues.ALLEGED)
    return _Found(verb, [], list(verb.subtree), cue, cues.ALLEGED)


_RULES: tuple[Rule, ...] = (
    speech_verb_claims,
    according_to_claims,
    refusal_claims,
    accusation_claims,
    hedge_claims,
)


# -- sentence-level refinements ---------------------------------------------------------------------------------


def _drop_nested_statements(found: list[_Found]) -> None:
    """A statement holding another attribution ends where that one starts: "X said A, adding B" is two claims."""
    cue_tokens = {f.cue_token.i: f for f in found if f.source}
    for f in found:
        nested = [cue_tokens[t.i] for t in f.content if t.i in cue_tokens and cue_tokens[t.i] is not f]
        for inner in nested:
            if inner.cue_token.dep_ not in _CONTINUATIONS:
                continue  # "X said Y, which Z claimed …", "X said Z told …": part of what X said
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
    """The claim as the text writes it: its statement and its source are exact spans of the text (separators,
    hedges and quotes inside them kept), the statement balanced in its quotes; a speech verb's statement with no
    verb ("said that cracks in the eastern spillway") is a parse fragment, not a claim, and is dropped (empty)."""
    content = _trimmed(f.content, f.cue_token)
    if content and f.source and _is_fragment(f, content):
        content = []
    source = _source_run(_trimmed(f.source, f.source[0]), f.source[0]) if f.source else []
    text = f.cue_token.doc.text
    start, end = _balanced(text, content[0].idx, content[-1].idx + len(content[-1])) if content else (0, 0)
    if not content:
        start = end = f.cue_token.idx
    return Claim(
        text=_squash(text[start:end]),
        attributed_to=_squash(text[source[0].idx : source[-1].idx + len(source[-1])]) if source else cues.UNATTRIBUTED,
        cue=f.cue,
        status=f.status,
        sentence=sentence,
        start=start,
        end=end,
        terms=tuple(sorted(_topic_terms(f, content))),
    )


def _is_fragment(f: _Found, content: list[Token]) -> bool:
    takes_object = f.cue_token.lemma_ in cues.OBJECT_TAKING or f.cue == "according to"
    if takes_object:
        return False
    verbs = {t.i: t for t in content if t.pos_ in _VERBAL}
    heads = [v for v in verbs.values() if v.head.i == v.i or v.head.i not in verbs]
    # "said that cracks in the spillway": the parse makes "cracks" a verb whose subject is the "that".
    return not heads or all(any(c.dep_ in _SUBJECTS and c.pos_ == "SCONJ" for c in v.children) for v in heads)


def _source_run(tokens: list[Token], head: Token) -> list[Token]:
    """The run of a source mention around its head that the text writes in one piece (punctuation between its
    parts is the text's own: "Colm Bracken, head of the service"); a part the parse attached from elsewhere in
    the sentence is left out."""
    runs: list[list[Token]] = []
    for token in tokens:
        if runs and all(t.is_punct or t.is_space for t in token.doc[runs[-1][-1].i + 1 : token.i]):
            runs[-1].append(token)
        else:
            runs.append([token])
    return next((run for run in runs if head in run), runs[0] if runs else [])


_QUOTE_PAIRS = (('"', '"'), ("“", "”"))


def _balanced(text: str, start: int, end: int) -> tuple[int, int]:
    """[start, end) widened to the closing quote just after it ('is "believed to be eight years."'), or without
    an unmatched quote at its start, so that every quote the claim opens it closes."""
    for opening, closing in _QUOTE_PAIRS:
        if not _unbalanced(text[start:end], opening, closing):
            continue
        after = re.match(rf"[.,!?]?\s?{re.escape(closing)}", text[end : end + 3])
        if after is not None:
            end += after.end()
        elif text[start] == opening:
            start += 1
            while start < end and text[start].isspace():
                start += 1
    return start, end


def _unbalanced(span: str, opening: str, closing: str) -> bool:
    if opening == closing:
        return span.count(opening) % 2 == 1
    return span.count(opening) != span.count(closing)


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


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
    """The tokens within the anchor's paragraph, in text order, without quotes, commas, "that" or a dangling
    preposition at either end."""
    low, high = _paragraph(anchor)
    kept = sorted((t for t in tokens if low <= t.i < high), key=lambda t: t.i)
    ids = {t.i for t in kept}
    while kept and _is_edge(kept[0], ids):
        ids.discard(kept.pop(0).i)
    while kept and _is_edge(kept[-1], ids):
        ids.discard(kept.pop().i)
    return kept


def _is_edge(token: Token, kept: set[int]) -> bool:
    if token.dep_ in _GOVERNING_EDGE_DEPS:
        # "At the time of the escape, …" opens the statement; "… by" with its object gone does not.
        return not any(c.i in kept for c in token.children)
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
    if verb.dep_ in ("conj", "xcomp", "acomp") and verb.head.i != verb.i:
        return _speaker_of(verb.head)
    return None


def _mention(head: Token) -> list[Token]:
    """The tokens of a source mention as written, without the clauses that qualify it."""
    tokens = [head]
    for child in head.children:
        if child.dep_ not in _SOURCE_CLAUSES and not _is_when(child):
            tokens.extend(_mention(child))
    return tokens


# Words of a phrase saying when; the claims parse runs without NER, so its DATE entities are not there to ask.
_WHEN_WORDS = frozenset({
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
    "december", "today", "yesterday", "tonight", "tomorrow", "morning", "afternoon", "evening", "night", "week",
    "weekend", "month", "year",
})  # fmt: skip


def _is_when(token: Token) -> bool:
    """A phrase saying when ("on Wednesday", "last week"): about the statement, not part of who made it."""
    return token.dep_ in ("prep", "npadvmod") and any(t.lower_ in _WHEN_WORDS for t in token.subtree)


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


def _is_passive_form(token: Token) -> bool:
    """A passive, finite ("is believed to") or reduced ("a man thought to be …", "believed to be the longest")."""
    if _is_passive(token):
        return True
    if token.tag_ not in ("VBN", "VBD") or any(c.dep_ == "aux" for c in token.children):
        return False
    # ", thought to be …": set off by a comma before an infinitive, whatever subject the parse gave it.
    set_off = (
        token.i > 0 and token.nbor(-1).text == "," and token.i + 1 < len(token.doc) and token.nbor().lower_ == "to"
    )
    reduced = token.dep_ in ("acl", "advcl", "amod", "relcl") and not any(c.dep_ in _SUBJECTS for c in token.children)
    return set_off or reduced


def _negated(verb: Token) -> bool:
    """ "did not confirm", and the same through "able": "has not been able to verify", "was unable to confirm"."""
    if any(c.dep_ == "neg" for c in verb.children):
        return True
    able = verb.head if verb.dep_ == "xcomp" and verb.head.lower_ in ("able", "unable") else None
    if able is None:
        return False
    return able.lower_ == "unable" or any(c.dep_ == "neg" for t in (able, able.head) for c in t.children)


def _refusal_clause(verb: Token) -> list[Token]:
    """The refusal, up to what the text goes on to say after it (", citing …", ", saying only …", ", but …")."""
    after = [c for c in verb.children if c.i > verb.i and c.dep_ in ("advcl", "conj", "parataxis", "npadvmod", "cc")]
    clause = _clause_tokens(verb)
    if not after:
        return clause
    cut = min(c.left_edge.i for c in after)
    return [t for t in clause if t.i < cut]


def _clause_tokens(verb: Token) -> list[Token]:
    """The clause `verb` heads, without the clauses joined to it that have subjects of their own ("…, but Kroon
    says …") and without what a colon or dash sets after it."""
    joined = [
        c
        for c in verb.children
        if c.i > verb.i and (c.dep_ in ("parataxis",) or (c.dep_ == "conj" and _child(c, "nsubj") is not None))
    ]
    if not joined:
        return list(verb.subtree)
    cut = min(c.left_edge.i for c in joined)
    return [t for t in verb.subtree if t.i < cut]


def _nouns(tokens: Iterable[Token]) -> set[str]:
    return {t.lemma_.lower() for t in tokens if t.pos_ in _NOUNS}
