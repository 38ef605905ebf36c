"""What the web app is handed rather than imports: the desk's story merge and split, which run the pipeline."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from livedesk.models import Actor
from livedesk.publish import Bus
from livedesk.store import Store


class StoryEdits(Protocol):
    """Merging and splitting stories (livedesk.desk.stories), which run the pipeline's story stage: handed to the
    app by whoever starts it (`livedesk serve`), so the web package never imports the pipeline itself. Without
    them the desk refuses merges and splits (503)."""

    async def merge(self, store: Store, bus: Bus, keep: int, absorb: int, *, actor: Actor) -> None: ...

    async def split(
        self, store: Store, bus: Bus, story_id: int, article_ids: Iterable[int], *, actor: Actor
    ) -> int: ...
