"""The enrich stage: named entities and the claim ledger."""
