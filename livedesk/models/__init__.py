"""Value types passed between the stages, the store, the desk and the web: plain frozen dataclasses and enums.

Nothing here does I/O; every other package may import these, and they import nothing of livedesk but `urls`.
"""

from livedesk.models.accounts import ApiToken, DeskSession, Role, User
from livedesk.models.articles import Article, StoredArticle, Upserted, UpsertOutcome
from livedesk.models.claims import (
    UNATTRIBUTED,
    Carrier,
    ClaimStatus,
    Drift,
    LedgerEntry,
    NewClaim,
    StatusChange,
    TimeBasis,
)
from livedesk.models.desk import COMMAND_LINE, Actor, AuditEntry, Post, PostStatus, PostVersion
from livedesk.models.entities import Entity, EntityRef, KnownEntity, Resolved, kind_in_words
from livedesk.models.sources import Feed, FeedEntry, Page, Source, SourceKind
from livedesk.models.stories import Story, StoryMember
from livedesk.models.streams import (
    MAX_ID,
    EntityFilter,
    InvalidCursorError,
    Outlet,
    Position,
    SearchFilter,
    SearchResults,
    Selection,
    SiteStream,
    StoryStream,
    StreamItem,
    StreamPage,
    Topic,
    TopicQuery,
)
from livedesk.models.syndication import Evidence, SyndicationGroup, SyndicationMember, SyndicationResult

__all__ = [
    "COMMAND_LINE",
    "MAX_ID",
    "UNATTRIBUTED",
    "Actor",
    "ApiToken",
    "Article",
    "AuditEntry",
    "Carrier",
    "ClaimStatus",
    "DeskSession",
    "Drift",
    "Entity",
    "EntityFilter",
    "EntityRef",
    "Evidence",
    "Feed",
    "FeedEntry",
    "InvalidCursorError",
    "KnownEntity",
    "LedgerEntry",
    "NewClaim",
    "Outlet",
    "Page",
    "Position",
    "Post",
    "PostStatus",
    "PostVersion",
    "Resolved",
    "Role",
    "SearchFilter",
    "SearchResults",
    "Selection",
    "SiteStream",
    "Source",
    "SourceKind",
    "StatusChange",
    "StoredArticle",
    "Story",
    "StoryMember",
    "StoryStream",
    "StreamItem",
    "StreamPage",
    "SyndicationGroup",
    "SyndicationMember",
    "SyndicationResult",
    "TimeBasis",
    "Topic",
    "TopicQuery",
    "UpsertOutcome",
    "Upserted",
    "User",
    "kind_in_words",
]
