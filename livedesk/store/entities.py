"""Queries of the entity stage: named entities, their aliases, and which articles mention them."""

from __future__ import annotations


class EntityStore:
    """Mixed into Store; uses its _read()/_write() connections."""
