"""Claims: who asserts what in a story, how solid it is, which outlets carry it, and editors' decisions on it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

# Who is behind a hedge such as "reportedly", or a passive accusation: nobody the text names.
UNATTRIBUTED = "unattributed"


class ClaimStatus(StrEnum):
    """How solid a claim is, from the text's own cues or an editor's decision."""

    CONFIRMED = "confirmed"
    UNCONFIRMED = "unconfirmed"  # someone says so; nobody in the text has verified it
    DENIED = "denied"
    ALLEGED = "alleged"
    DISPUTED = "disputed"  # a denial in the same story contradicts it


@dataclass(frozen=True)
class NewClaim:
    """One extracted claim, as the ledger receives it."""

    key: str
    text: str
    attributed_to: str
    cue: str
    status: ClaimStatus


class TimeBasis(StrEnum):
    """What a carrier's time is: the time its page says it was published, or when livedesk first saw it (a page
    that gives no publication time)."""

    PUBLISHED = "published"
    FIRST_SEEN = "first_seen"


class Drift(StrEnum):
    """How a carrier's wording of a claim departs from the claim as first reported."""

    DROPPED_HEDGE = "dropped_hedge"  # the copy states as fact what the original hedged ("allegedly", "reportedly")
    DROPPED_ATTRIBUTION = "dropped_attribution"  # the copy no longer names who asserts it


@dataclass(frozen=True)
class Carrier:
    """One article carrying a claim: its outlet, its time and what that time is, the syndication group it belongs
    to (its original's id; None for an original), and how its wording drifts from the claim's."""

    article_id: int
    outlet: str
    first_seen: datetime
    original_id: int | None = None  # set for a copy: the article it republishes
    time_basis: TimeBasis = TimeBasis.PUBLISHED
    drift: tuple[Drift, ...] = ()
    url: str | None = None

    @property
    def source_key(self) -> int:
        """Copies of one original are one source: the original's id for all of them."""
        return self.original_id if self.original_id is not None else self.article_id


@dataclass(frozen=True)
class LedgerEntry:
    """One claim of a story with every outlet carrying it, earliest first."""

    id: int
    story_id: int
    key: str
    text: str
    attributed_to: str
    cue: str
    status: ClaimStatus
    editor_set: bool
    carriers: tuple[Carrier, ...]

    @property
    def outlets(self) -> list[str]:
        """Each outlet once, in the order they reported the claim."""
        return list(dict.fromkeys(c.outlet for c in self.carriers))

    @property
    def independent_count(self) -> int:
        """How many of the carrying outlets reported it on their own: copies of one original count once (as the
        original's outlet), and an outlet's several reports count once."""
        outlet_of = {c.article_id: c.outlet for c in self.carriers}
        return len({outlet_of.get(c.source_key, c.source_key) for c in self.carriers})

    @property
    def first_reported(self) -> Carrier | None:
        return self.carriers[0] if self.carriers else None

    @property
    def first_appearance(self) -> Carrier | None:
        """The earliest carrier (its `time_basis` says what its time rests on)."""
        return self.first_reported

    @property
    def independent_sources(self) -> int:
        """Carriers counted as independent sources: every copy of one original counts once, with it."""
        return len({c.source_key for c in self.carriers})

    @property
    def drifted(self) -> list[Carrier]:
        """Carriers whose wording drops the hedge or the attribution of the claim."""
        return [c for c in self.carriers if c.drift]

    @property
    def article_ids(self) -> list[int]:
        return [c.article_id for c in self.carriers]


@dataclass(frozen=True)
class StatusChange:
    claim_id: int
    status: ClaimStatus
    previous: ClaimStatus
    editor: str
    reason: str
    at: datetime
