"""The cue lexicons of the claim rules, as data: which words attribute a statement, and what they say about it.

Verbs are listed by lemma (the parser's lemmatizer maps "says", "said", "saying" to "say"); each maps to the
canonical cue string stored with a claim and to the status the cue alone implies.
"""

from __future__ import annotations

from typing import Final

from livedesk import models
from livedesk.models import ClaimStatus

CONFIRMED: Final = ClaimStatus.CONFIRMED
UNCONFIRMED: Final = ClaimStatus.UNCONFIRMED
DENIED: Final = ClaimStatus.DENIED
ALLEGED: Final = ClaimStatus.ALLEGED
DISPUTED: Final = ClaimStatus.DISPUTED
STATUSES: Final = tuple(ClaimStatus)

UNATTRIBUTED: Final = models.UNATTRIBUTED

# Speech and report verbs: lemma → (canonical cue, status implied by the verb itself).
# A plain attribution is unconfirmed: someone says so, nobody in the text has verified it.
SPEECH_VERBS: Final[dict[str, tuple[str, ClaimStatus]]] = {
    "say": ("said", UNCONFIRMED),
    "tell": ("told", UNCONFIRMED),
    "state": ("stated", UNCONFIRMED),
    "add": ("said", UNCONFIRMED),
    "announce": ("announced", UNCONFIRMED),
    "insist": ("insisted", UNCONFIRMED),
    "warn": ("warned", UNCONFIRMED),
    "write": ("wrote", UNCONFIRMED),
    "report": ("reported", UNCONFIRMED),
    "indicate": ("have indicated", UNCONFIRMED),
    "suggest": ("suggested", UNCONFIRMED),
    "acknowledge": ("acknowledged", CONFIRMED),
    "admit": ("admitted", CONFIRMED),
    "claim": ("claimed", ALLEGED),
    "allege": ("alleged", ALLEGED),
    "deny": ("denied", DENIED),
    "reject": ("rejected", DENIED),
    "dismiss": ("rejected", DENIED),
    "confirm": ("confirmed", CONFIRMED),
    "verify": ("verified", CONFIRMED),
}

# Verbs whose negation means "we could not check it": lemma → canonical cue when negated.
VERIFICATION_VERBS: Final[dict[str, str]] = {
    "confirm": "has not independently confirmed",
    "verify": "has not independently verified",
}

# Verbs that take their statement as a noun object ("denied any wrongdoing", "rejected claims that …").
OBJECT_TAKING: Final = frozenset(
    {"deny", "reject", "dismiss", "confirm", "verify", "acknowledge", "admit", "announce", "allege"}
)

# Evidence verbs: a document "shows" or "suggests" something; with a hedge ("appears to show") the claim is alleged.
EVIDENCE_VERBS: Final = frozenset({"show", "suggest", "indicate", "reveal", "confirm"})

# Refusals and non-answers, canonical cues: every refusal to say ("declined to comment/say/discuss", "refused to
# confirm", "would not say", "are not commenting", "did not provide the cause") is one kind, and so is every
# non-answer ("did not respond/reply", "did not return calls"); "could not be reached" keeps its own cue.
DECLINED: Final = "declined to comment"
NO_RESPONSE: Final = "did not respond to a request for comment"
UNREACHABLE: Final = "could not be reached for comment"
# Verbs whose complement is the refusal: "declined to say …", "refused to confirm …".
REFUSING_VERBS: Final = frozenset({"decline", "refuse"})
# What a refusal withholds: "declined to [comment]", "would not [say]", "did not [provide] the cause".
WITHHOLDING_VERBS: Final = frozenset(
    {
        "comment",
        "say",
        "discuss",
        "elaborate",
        "confirm",
        "speculate",
        "answer",
        "disclose",
        "reveal",
        "identify",
        "provide",
        "specify",
        "release",
        "detail",
        "name",
        "give",
    }
)
# Of those, the ones that need a refusing modal ("would not say") or a refusing verb when merely negated: "did
# not say that …" attributes nothing and "we have not discussed it" is a statement; "did not comment" and "did
# not disclose the amount" refuse.
SAY_VERBS: Final = frozenset({"say", "confirm", "name", "give", "discuss", "answer", "speculate"})
REFUSING_MODALS: Final = frozenset({"would", "will", "wo"})
# Non-answers: "did not respond/reply (to …)", "did not return calls/messages".
ANSWER_VERBS: Final = frozenset({"respond", "reply", "return"})
ANSWER_OBJECTS: Final = frozenset({"call", "message", "email", "e", "request", "inquiry", "query", "text", "phone"})

# Accusations: lemma → canonical cue. "X accused Y of Z", "Y was accused of Z", "Z was blamed on Y".
ACCUSING_VERBS: Final[dict[str, str]] = {"accuse": "accused", "blame": "blamed"}
# "X claimed responsibility for Z" (the noun object of "claim" that makes it a claim of responsibility).
RESPONSIBILITY: Final = "claimed responsibility"

# Fixed phrases that withhold confirmation wherever they occur in a claim, lower-cased → canonical cue.
WITHHOLDING_PHRASES: Final[dict[str, str]] = {
    "not in a position to confirm": "not in a position to confirm or comment",
    "not in a position to comment": "not in a position to confirm or comment",
    "could not be reached for comment": UNREACHABLE,
    "did not respond to a request for comment": NO_RESPONSE,
}

# Hedging adverbs: the text reports something without standing behind it.
HEDGE_ADVERBS: Final[dict[str, str]] = {
    "reportedly": "reportedly",
    "allegedly": "allegedly",
    "purportedly": "allegedly",
    "supposedly": "allegedly",
    "apparently": "appears to",
}

# Hedging verbs with an infinitive complement: "appears to show", "is believed to have left".
HEDGE_VERBS: Final[dict[str, str]] = {
    "appear": "appears to",
    "seem": "appears to",
}
# Passive belief verbs: "is believed to", "is thought to", "is said to", "is reported to".
PASSIVE_HEDGES: Final[dict[str, str]] = {
    "believe": "is believed to",
    "think": "is believed to",
    "say": "is said to",
    "report": "is reported to",
    "allege": "allegedly",
}

# Words that hedge a statement wherever they stand in it: a copy whose wording of a claim has none of the hedge
# words its original's had states as fact what the original hedged.
HEDGE_WORDS: Final = frozenset(
    {*HEDGE_ADVERBS, "alleged", "believed", "thought", "appears", "appeared", "seems", "accused", "suspected"}
)

# Source mentions that are pronouns: resolved to the previous source in the same text ("it also states …").
RESOLVABLE_PRONOUNS: Final = frozenset({"it", "they", "he", "she"})

# Parts of speech whose lemmas make up a claim's topic terms (what "the same claim" is matched on).
TOPIC_POS: Final = frozenset({"NOUN", "PROPN", "VERB", "NUM", "ADJ"})
