"""Queries of view counting: exact, durable, never-negative counts and the per-visitor window."""

from __future__ import annotations


class ViewStore:
    """Mixed into Store; uses its _read()/_write() connections."""
