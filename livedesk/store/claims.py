"""Queries of the claim ledger: claims per story, the outlets carrying them, editors' status decisions."""

from __future__ import annotations


class ClaimStore:
    """Mixed into Store; uses its _read()/_write() connections."""
