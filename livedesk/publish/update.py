"""The message of the bus: which article joined the desk (or moved to another story), or which story an editor
changed (merged, split, a claim's status set): its open pages reload it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum


class UpdateKind(StrEnum):
    ARTICLE = "article"  # `article_id` arrived (or changed) in `story_id`
    STORY = "story"  # an editor changed story `story_id`; `article_id` is 0 (no article: ids start at 1)


@dataclass(frozen=True)
class Update:
    article_id: int
    story_id: int | None
    kind: UpdateKind = UpdateKind.ARTICLE
    # The article's new live revision when the publisher knows it (the desk does); 0 when not. Two changes to one
    # article are then two different updates, never taken for one another.
    revision: int = 0

    @classmethod
    def story_changed(cls, story_id: int) -> Update:
        """An editor's change to the story: merged, split, a claim's status set."""
        return cls(article_id=0, story_id=story_id, kind=UpdateKind.STORY)

    def to_json(self) -> str:
        data: dict[str, object] = {"article_id": self.article_id, "story_id": self.story_id}
        if self.kind is not UpdateKind.ARTICLE:
            data["kind"] = str(self.kind)
        if self.revision:
            data["revision"] = self.revision
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Update:
        """Parse `to_json` output; ValueError for anything else (a NOTIFY channel is open to every client)."""
        try:
            data = json.loads(text)
            article_id, story_id = data["article_id"], data["story_id"]
            kind = UpdateKind(data.get("kind", UpdateKind.ARTICLE))
            revision = data.get("revision", 0)
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise ValueError(f"not an update: {text[:200]!r}") from error
        # bool is an int subclass; true/false are not ids.
        if type(article_id) is not int or type(revision) is not int or not (story_id is None or type(story_id) is int):
            raise ValueError(f"not an update: {text[:200]!r}")
        return cls(article_id=article_id, story_id=story_id, kind=kind, revision=revision)
