"""Queries of the story stage: stories, their term weights, merge/split decisions."""

from __future__ import annotations


class StoryStore:
    """Mixed into Store; uses its _read()/_write() connections."""
