"""The sources livedesk polls: added (one URL check for every way in), imported from OPML, enabled, disabled."""

from __future__ import annotations

from dataclasses import dataclass

from livedesk.models import Source, SourceKind
from livedesk.pipeline.sources import parse_opml
from livedesk.store import SourceNotFoundError, Store
from livedesk.urls import validate_source_url

__all__ = ["OpmlImport", "SourceNotFoundError", "add_source", "disable_source", "enable_source", "import_opml"]


@dataclass(frozen=True)
class OpmlImport:
    added: list[Source]
    present: list[Source]  # listed in the file and already a source
    skipped: list[tuple[str, str]]  # (URL, why it is unusable)


def add_source(
    store: Store, url: str, kind: SourceKind = SourceKind.FEED, title: str | None = None
) -> tuple[Source, bool]:
    """The source at `url` (normalised), created if new; ValueError with the reason for an unusable URL."""
    return store.add_source(validate_source_url(url), kind, title)


def import_opml(store: Store, body: bytes, origin: str = "OPML") -> OpmlImport:
    """Add every feed the OPML document lists, in one transaction; unusable URLs are skipped and reported.
    SourceError when `body` is not OPML."""
    usable: list[tuple[str, SourceKind, str | None]] = []
    skipped: list[tuple[str, str]] = []
    for url, title in parse_opml(body, origin):
        try:
            usable.append((validate_source_url(url), SourceKind.FEED, title))
        except ValueError as err:
            skipped.append((url, str(err)))
    results = store.add_sources(usable)
    return OpmlImport(
        added=[source for source, created in results if created],
        present=[source for source, created in results if not created],
        skipped=skipped,
    )


def enable_source(store: Store, source_id: int) -> Source:
    """Poll the source again, at once, its failure count cleared (SourceNotFoundError for an unknown id)."""
    return store.enable_source(source_id)


def disable_source(store: Store, source_id: int, reason: str) -> Source:
    """Stop polling the source until it is enabled again; the reason is shown in the source list."""
    if not reason.strip():
        raise ValueError("a reason is required")
    return store.disable_source(source_id, reason.strip())
