"""Queries behind the live pages and the API: keyset-paginated streams, search, topic pages."""

from __future__ import annotations


class WebStore:
    """Mixed into Store; uses its _read()/_write() connections."""
