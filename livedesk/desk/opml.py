"""Sources from an OPML file: every feed it lists, through the same URL check as one added by hand."""

from __future__ import annotations

from dataclasses import dataclass

from livedesk.models import COMMAND_LINE, Actor, Source, SourceKind
from livedesk.pipeline.sources import parse_opml
from livedesk.store import Store
from livedesk.urls import validate_source_url

__all__ = ["OpmlImport", "import_opml"]


@dataclass(frozen=True)
class OpmlImport:
    added: list[Source]
    present: list[Source]  # listed in the file and already a source
    skipped: list[tuple[str, str]]  # (URL, why it is unusable)


def import_opml(store: Store, body: bytes, origin: str = "OPML", *, actor: Actor = COMMAND_LINE) -> OpmlImport:
    """Add every feed the OPML document lists, in one transaction; unusable URLs are skipped and reported.
    SourceError when `body` is not OPML."""
    usable: list[tuple[str, SourceKind, str | None]] = []
    skipped: list[tuple[str, str]] = []
    for url, title in parse_opml(body, origin):
        try:
            usable.append((validate_source_url(url), SourceKind.FEED, title))
        except ValueError as err:
            skipped.append((url, str(err)))
    results = store.add_sources(usable, actor=actor)
    return OpmlImport(
        added=[source for source, created in results if created],
        present=[source for source, created in results if not created],
        skipped=skipped,
    )
