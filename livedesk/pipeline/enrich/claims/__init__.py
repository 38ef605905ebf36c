"""The claim ledger: who claims what in each original article, merged per story across every outlet carrying it."""

from livedesk.pipeline.enrich.claims.extract import Claim, claims_in_texts, extract_claims
from livedesk.pipeline.enrich.claims.ledger import (
    move_claims_on_merge,
    record_claims,
    rehome_claims_on_split,
)

__all__ = [
    "Claim",
    "claims_in_texts",
    "extract_claims",
    "move_claims_on_merge",
    "record_claims",
    "rehome_claims_on_split",
]
