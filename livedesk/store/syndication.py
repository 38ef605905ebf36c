"""Queries of the syndication stage: the MinHash LSH band index and copy → original links."""

from __future__ import annotations


class SyndicationStore:
    """Mixed into Store; uses its _read()/_write() connections."""
