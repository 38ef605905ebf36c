"""Sources: feeds, sitemaps, OPML, HTML files, directories and WARC archives → `Feed`s and `Page`s.

Pure parsers over bytes plus local-file readers; fetching is fetch.py's job.
"""

from livedesk.pipeline.sources.common import SourceError
from livedesk.pipeline.sources.feeds import looks_like_feed, parse_feed
from livedesk.pipeline.sources.local import LocalFailure, LocalItem, declared_url, is_opml, read_capped, read_path
from livedesk.pipeline.sources.opml import parse_opml, write_opml
from livedesk.pipeline.sources.sitemaps import parse_sitemap

__all__ = [
    "LocalFailure",
    "LocalItem",
    "SourceError",
    "declared_url",
    "is_opml",
    "looks_like_feed",
    "parse_feed",
    "parse_opml",
    "parse_sitemap",
    "read_capped",
    "read_path",
    "write_opml",
]
