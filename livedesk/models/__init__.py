"""Value types passed between the stages, the store, the desk and the web: plain frozen dataclasses and enums.

Nothing here does I/O; every other package may import these, and they import nothing of livedesk but `urls`.
"""

from livedesk.models.articles import Article, StoredArticle, Upserted, UpsertOutcome
from livedesk.models.claims import Carrier, ClaimStatus, LedgerEntry, NewClaim, StatusChange
from livedesk.models.entities import Entity, EntityRef, KnownEntity, Resolved
from livedesk.models.sources import Feed, FeedEntry, Page, Source, SourceKind
from livedesk.models.stories import Story, StoryMember
from livedesk.models.syndication import Evidence, SyndicationGroup, SyndicationMember, SyndicationResult

__all__ = [
    "Article",
    "Carrier",
    "ClaimStatus",
    "Entity",
    "EntityRef",
    "Evidence",
    "Feed",
    "FeedEntry",
    "KnownEntity",
    "LedgerEntry",
    "NewClaim",
    "Page",
    "Resolved",
    "Source",
    "SourceKind",
    "StatusChange",
    "StoredArticle",
    "Story",
    "StoryMember",
    "SyndicationGroup",
    "SyndicationMember",
    "SyndicationResult",
    "UpsertOutcome",
    "Upserted",
]
