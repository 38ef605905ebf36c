"""The cue lexicons of the claim rules, as data: which words attribute a statement, and what they say about it.

Verbs are listed by lemma (the parser's lemmatizer maps "says", "said", "saying" to "say"); each maps to the
canonical cue string stored with a claim and to the status the cue alone implies.
"""

from __future__ import annotations

from typing import Final

from livedesk.models import ClaimStatus

CONFIRMED: Final = ClaimStatus.CONFIRMED
UNCONFIRMED: Final = ClaimStatus.UNCONFIRMED
DENIED: Final = ClaimStatus.DENIED
ALLEGED: Final = ClaimStatus.ALLEGED
DISPUTED: Final = ClaimStatus.DISPUTED
STATUSES: Final = tuple(ClaimStatus)

# Who is behind a hedge such as "reportedly": nobody the text names.
UNATTRIBUTED: Final = "unattributed"

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
OBJECT_TAKING: Final = frozenset({"deny", "reject", "dismiss", "confirm", "verify", "acknowledge", "admit"})

# Evidence verbs: a document "shows" or "suggests" something; with a hedge ("appears to show") the claim is alleged.
EVIDENCE_VERBS: Final = frozenset({"show", "suggest", "indicate", "reveal", "confirm"})

# "X declined to comment" and its kin: lemma of the main verb → (lemma of its complement, canonical cue).
NO_COMMENT: Final[dict[str, tuple[str, str]]] = {
    "decline": ("comment", "declined to comment"),
    "refuse": ("comment", "declined to comment"),
}

# Fixed phrases that withhold confirmation wherever they occur in a claim, lower-cased → canonical cue.
WITHHOLDING_PHRASES: Final[dict[str, str]] = {
    "not in a position to confirm": "not in a position to confirm or comment",
    "not in a position to comment": "not in a position to confirm or comment",
    "could not be reached for comment": "could not be reached for comment",
    "did not respond to a request for comment": "did not respond to a request for comment",
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

# Source mentions that are pronouns: resolved to the previous source in the same text ("it also states …").
RESOLVABLE_PRONOUNS: Final = frozenset({"it", "they", "he", "she"})

# Parts of speech whose lemmas make up a claim's topic terms (what "the same claim" is matched on).
TOPIC_POS: Final = frozenset({"NOUN", "PROPN", "VERB", "NUM", "ADJ"})
