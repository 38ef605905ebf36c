"""Claims: who asserts what in a story, how solid it is, which outlets carry it, and editors' decisions on it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


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


@dataclass(frozen=True)
class Carrier:
    article_id: int
    outlet: str
    first_seen: datetime
    original_id: int | None = None  # set for a copy: the article it republishes

    @property
    def report_id(self) -> int:
        """The original report this carrier is (itself, or the original it copies)."""
        return self.article_id if self.original_id is None else self.original_id


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
        return len({outlet_of.get(c.report_id, c.report_id) for c in self.carriers})

    @property
    def first_reported(self) -> Carrier | None:
        return self.carriers[0] if self.carriers else None

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
