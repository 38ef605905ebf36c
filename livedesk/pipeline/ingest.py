"""The front of the chain: sources ──> fetch ──> extract ──> `process` (store → … → enrich) ──> (announce).

`Ingestor` takes targets (URLs, files, directories, WARCs, OPML) or due sources, and reports what happened to each
article. One bad target, source or article never stops the others: every failure becomes a line in the report.
Fetching runs on the event loop; extraction in worker processes or a thread; `process` in one writer thread, in
arrival order, so the loop (and live pages served from it) never waits for parsing, NLP or the database.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from livedesk.config import Settings
from livedesk.models import Article, Feed, FeedEntry, Page, Source, SourceKind, StoredArticle, UpsertOutcome
from livedesk.pipeline import extract_worker
from livedesk.pipeline.extract import ExtractError, article_from_entry, extract
from livedesk.pipeline.fetch import Fetcher, FetchError, FetchResult, RobotsCache
from livedesk.pipeline.process import Processed, process, resume
from livedesk.pipeline.sources import (
    LocalFailure,
    SourceError,
    is_opml,
    looks_like_feed,
    parse_feed,
    parse_opml,
    read_capped,
    read_path,
)
from livedesk.store import Store
from livedesk.urls import canonicalize_url, url_hash, validate_source_url

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

# Sitemap indexes may nest; real ones rarely go deeper than two levels.
MAX_SITEMAP_DEPTH = 3
# Pages extracted ahead of storage, per extraction worker: enough to keep every worker busy, few enough that a
# large WARC is never held in memory.
PAGES_AHEAD_PER_WORKER = 4


@dataclass
class IngestReport:
    outcomes: Counter[str] = field(default_factory=Counter)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (where, one-line reason)
    warnings: list[tuple[str, str]] = field(default_factory=list)

    def count(self, outcome: UpsertOutcome | str) -> None:
        self.outcomes[str(outcome)] += 1

    def fail(self, origin: str, reason: str) -> None:
        self.outcomes["failed"] += 1
        self.failures.append((origin, reason))

    @property
    def read_anything(self) -> bool:
        return any(self.outcomes[o.value] for o in UpsertOutcome)


ProgressHook = Callable[[str], None]
# Called after an article was stored new or changed, e.g. to announce it to open live pages.
StoredHook = Callable[[StoredArticle, UpsertOutcome], Awaitable[None]]
# Articles resumed per read when completing what an earlier run left midway.
RESUME_BATCH = 100


class Ingestor:
    """Runs targets through fetch → extract → process. Use as an async context manager; it first completes the
    articles an earlier run left midway."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        on_item: ProgressHook | None = None,
        on_stored: StoredHook | None = None,
        robots: RobotsCache | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.report = IngestReport()
        self._on_item = on_item or (lambda _origin: None)
        self._on_stored = on_stored
        # A poll loop passes the cache it keeps across rounds: robots.txt is then read once a day, not every round.
        self._fetcher = Fetcher(settings, robots=robots)
        self._workers = settings.extract_workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None  # started when a second page is waiting
        # The one thread that runs the chain: in arrival order, one article at a time, off the event loop.
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="livedesk-chain")

    async def __aenter__(self) -> Ingestor:
        await self._fetcher.__aenter__()
        await self.resume_unprocessed()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
        # Waits for the article in the chain (it finishes, or the process dies and the next run resumes it), without
        # holding up the event loop meanwhile.
        await asyncio.to_thread(self._writer.shutdown, wait=True, cancel_futures=True)
        await self._fetcher.__aexit__(*exc)

    async def resume_unprocessed(self) -> None:
        """Complete every stored article an earlier run left midway (stopped between two stages), oldest first."""
        last_id = 0
        while pending := await self._in_writer(self.store.unprocessed_articles, after_id=last_id, limit=RESUME_BATCH):
            for stored in pending:
                self._on_item(stored.article.url)
                await self._run_chain(stored.article.url, resume, self.store, stored)
                last_id = stored.id

    async def _in_writer(self, function: Callable[..., _T], *args: object, **kwargs: object) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._writer, lambda: function(*args, **kwargs))

    async def _run_chain(self, origin: str, function: Callable[..., Processed], *args: object) -> None:
        """Run `process` or `resume` in the writer thread; its outcome (or failure) goes into the report."""
        try:
            processed = await self._in_writer(function, *args)
        except Exception as err:  # one article's failure (a stage's bug, a database error) never stops the rest
            logger.warning("processing %s failed", origin, exc_info=True, extra={"url": origin, "outcome": "failed"})
            first_line = str(err).strip().splitlines()[0] if str(err).strip() else ""
            self.report.fail(origin, f"{type(err).__name__}: {first_line}")
            return
        self.report.count("resumed" if function is resume else processed.outcome)
        if processed.changed and self._on_stored is not None:
            await self._on_stored(processed.stored, processed.outcome)

    def _extract_in_pool(self, page: Page) -> asyncio.Future[Article]:
        """Extraction of `page` in a worker process (parsing is CPU-bound: the event loop and the stages that
        follow keep running meanwhile). Storage stays in this process, in arrival order: SQLite has one writer."""
        if self._pool is None:
            # forkserver: workers start from a clean process with extraction imported once, not from a copy of
            # this one (its threads, its open database connections).
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["livedesk.pipeline.extract_worker"])
            self._pool = ProcessPoolExecutor(
                self._workers, mp_context=context, initializer=extract_worker.start, initargs=(os.getpid(),)
            )
        return asyncio.get_running_loop().run_in_executor(self._pool, extract, page)

    # -- targets given on the command line -------------------------------------------------------------

    async def ingest(self, targets: Iterable[str]) -> IngestReport:
        for target in targets:
            path = Path(target)
            if "://" not in target and path.exists():
                await self._ingest_path(path)
                continue
            try:
                url = validate_source_url(target)
            except ValueError as err:
                reason = str(err) if "://" in target else "not an existing file or directory, nor an http(s) URL"
                self.report.fail(target, reason)
                continue
            await self._ingest_url(url)
        return self.report

    async def _ingest_path(self, path: Path) -> None:
        if path.is_file() and is_opml(path):
            try:
                feeds = parse_opml(read_capped(path, self.settings.max_bytes), str(path))
            except SourceError as err:
                self.report.fail(str(path), str(err))
                return
            await asyncio.gather(*(self._ingest_url(url) for url, _title in feeds))
            return
        # Pages read but not yet stored, each with its extraction running in the pool once a second page came.
        ahead: deque[tuple[Page, asyncio.Future[Article] | None]] = deque()
        for item in read_path(path, max_bytes=self.settings.max_bytes):
            if isinstance(item, LocalFailure):
                self.report.fail(item.origin, item.reason)
            elif isinstance(item, Feed):
                await self._store_ahead(ahead, keep=0)
                await self.ingest_feed(item)
            elif self._workers == 1:
                await self._store_page(item)
            else:
                ahead.append((item, None))
                if len(ahead) > 1:  # more than one page: worth the pool (a single file pays nothing)
                    for index, (page, extracting) in enumerate(ahead):
                        if extracting is None:
                            ahead[index] = (page, self._extract_in_pool(page))
                await self._store_ahead(ahead, keep=self._workers * PAGES_AHEAD_PER_WORKER)
        await self._store_ahead(ahead, keep=0)

    async def _store_ahead(self, ahead: deque[tuple[Page, asyncio.Future[Article] | None]], keep: int) -> None:
        """Store the oldest pages read until at most `keep` are left, in the order they were read."""
        while len(ahead) > keep:
            page, extracting = ahead.popleft()
            await self._store_page(page, extracting=extracting)

    async def _ingest_url(self, url: str) -> None:
        try:
            result = await self._fetcher.fetch(url)
        except FetchError as err:
            self.report.fail(url, str(err))
            return
        await self._ingest_fetched(result)

    async def _ingest_fetched(self, result: FetchResult, source_id: int | None = None, depth: int = 0) -> None:
        if looks_like_feed(result.body, result.content_type):
            try:
                feed = await asyncio.to_thread(parse_feed, result.body, result.url, result.content_type)
            except SourceError as err:
                self.report.fail(result.url, str(err))
                return
            await self.ingest_feed(feed, source_id=source_id, depth=depth)
        else:
            await self._store_page(_page(result, source_id=source_id))

    # -- feeds and sitemaps ------------------------------------------------------------------------------

    async def ingest_feed(self, feed: Feed, *, source_id: int | None = None, depth: int = 0) -> None:
        for problem in feed.warnings:
            self.report.warnings.append((feed.url, problem))
        if feed.sitemaps and depth < MAX_SITEMAP_DEPTH:
            await asyncio.gather(*(self._ingest_sitemap(u, source_id, depth + 1) for u in feed.sitemaps))
        await asyncio.gather(*(self._ingest_entry(entry, source_id) for entry in feed.entries))

    async def _ingest_sitemap(self, url: str, source_id: int | None, depth: int) -> None:
        try:
            result = await self._fetcher.fetch(url)
        except FetchError as err:
            self.report.fail(url, str(err))
            return
        await self._ingest_fetched(result, source_id=source_id, depth=depth)

    async def _ingest_entry(self, entry: FeedEntry, source_id: int | None) -> None:
        # A feed lists the same articles poll after poll: skip pages we already hold in full.
        known = self.store.find_article(entry.link, url_hash(canonicalize_url(entry.link)))
        if known is not None and not known.article.from_summary:
            self.report.count(UpsertOutcome.DUPLICATE)
            self._on_item(entry.link)
            return
        try:
            result = await self._fetcher.fetch(entry.link)
        except FetchError as err:
            # The page is out of reach: keep what the feed said, marked as a summary.
            self.report.warnings.append((entry.link, f"{err}; kept the feed summary instead"))
            await self._store_summary(entry, source_id)
            return
        await self._store_page(_page(result, source_id=source_id, entry=entry), fallback=entry)

    # -- extract → store ---------------------------------------------------------------------------------

    async def _store_page(
        self, page: Page, fallback: FeedEntry | None = None, extracting: Awaitable[Article] | None = None
    ) -> None:
        self._on_item(page.url)
        try:
            article = await (asyncio.to_thread(extract, page) if extracting is None else extracting)
        except ExtractError as err:
            if fallback is None:
                self.report.fail(page.url, str(err))
                return
            self.report.warnings.append((page.url, f"{err}; kept the feed summary instead"))
            await self._store_summary(fallback, page.source_id)
            return
        await self._store(article)

    async def _store_summary(self, entry: FeedEntry, source_id: int | None) -> None:
        try:
            article = article_from_entry(entry, fetched_at=datetime.now(UTC), source_id=source_id)
        except ExtractError as err:
            self.report.fail(entry.link, str(err))
            return
        await self._store(article)

    async def _store(self, article: Article) -> None:
        await self._run_chain(article.url, process, self.store, article)

    # -- polling sources ---------------------------------------------------------------------------------

    async def poll(self, sources: Iterable[Source]) -> IngestReport:
        await asyncio.gather(*(self._poll_one(source) for source in sources))
        return self.report

    async def _poll_one(self, source: Source) -> None:
        assert source.id is not None
        now = datetime.now(UTC)
        try:
            result = await self._fetcher.fetch(source.url, etag=source.etag, last_modified=source.last_modified)
            title = None
            if not result.not_modified:
                if source.kind is SourceKind.PAGE:
                    await self._store_page(_page(result, source_id=source.id))
                else:
                    feed = await asyncio.to_thread(parse_feed, result.body, result.url, result.content_type)
                    title = feed.title
                    await self.ingest_feed(feed, source_id=source.id)
        except (FetchError, SourceError) as err:
            outcome = err.outcome if isinstance(err, FetchError) else "unreadable"
            logger.warning(
                "polling source %d failed: %s",
                source.id,
                err,
                extra={"source_id": source.id, "url": source.url, "outcome": outcome},
            )
            self.report.fail(source.url, str(err))
            delay = min(self.settings.poll_interval * 2 ** (source.error_count + 1), self.settings.max_backoff)
            updated = await self._in_writer(
                self.store.record_poll_failure,
                source.id,
                polled_at=now,
                error=str(err),
                next_poll_at=now + timedelta(seconds=delay),
                disable_after=self.settings.disable_after,
            )
            if updated.disabled:
                self.report.warnings.append((source.url, f"disabled: {updated.disabled_reason}"))
            return
        await self._in_writer(
            self.store.record_poll_success,
            source.id,
            polled_at=now,
            next_poll_at=now + timedelta(seconds=self.settings.poll_interval),
            etag=result.etag,
            last_modified=result.last_modified,
            title=title,
        )


def _page(result: FetchResult, *, source_id: int | None = None, entry: FeedEntry | None = None) -> Page:
    return Page(
        url=result.url,
        body=result.body,
        fetched_at=result.fetched_at,
        content_type=result.content_type,
        charset=result.charset,
        entry=entry,
        source_id=source_id,
    )
