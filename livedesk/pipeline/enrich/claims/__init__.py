"""The claim ledger: who claims what in each original article, merged per story across every outlet carrying it."""

from livedesk.pipeline.enrich.claims.extract import Claim, extract_claims
from livedesk.pipeline.enrich.claims.ledger import record_claims, set_claim_status

__all__ = ["Claim", "extract_claims", "record_claims", "set_claim_status"]
