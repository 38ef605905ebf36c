"""The message of the bus: which article joined the desk (or moved to another story)."""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class Update:
    article_id: int
    story_id: int | None

    def to_json(self) -> str:
        return json.dumps({"article_id": self.article_id, "story_id": self.story_id}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Update:
        """Parse `to_json` output; ValueError for anything else (a NOTIFY channel is open to every client)."""
        try:
            data = json.loads(text)
            article_id, story_id = data["article_id"], data["story_id"]
        except (ValueError, TypeError, KeyError) as error:
            raise ValueError(f"not an update: {text[:200]!r}") from error
        # bool is an int subclass; true/false are not ids.
        if type(article_id) is not int or not (story_id is None or type(story_id) is int):
            raise ValueError(f"not an update: {text[:200]!r}")
        return cls(article_id=article_id, story_id=story_id)
