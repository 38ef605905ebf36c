"""Typer commands only: parse options, call the desk's operations (or the pipeline), print."""

from __future__ import annotations

import asyncio
import functools
import inspect
import itertools
import json
import logging.config
import os
import re
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, cast

import click
import sqlalchemy as sa
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from livedesk import worker
from livedesk.config import Settings
from livedesk.desk import accounts as desk_accounts
from livedesk.desk import claims as desk_claims
from livedesk.desk import export as exporting
from livedesk.desk import opml as desk_opml
from livedesk.desk import sources as desk_sources
from livedesk.desk import stories as desk_stories
from livedesk.desk import topics as desk_topics
from livedesk.desk.database import init_database
from livedesk.logs import logging_config
from livedesk.metrics import MULTIPROCESS_ENV, serve_metrics
from livedesk.models import MAX_ID, Role, SourceKind, TimeBasis
from livedesk.pipeline import Ingestor, IngestReport
from livedesk.pipeline import enrich as enriching
from livedesk.pipeline.sources import SourceError, read_capped, write_opml
from livedesk.publish import Bus, announcer, open_bus
from livedesk.store import Store

if TYPE_CHECKING:
    from fastapi import FastAPI

app = typer.Typer(help="livedesk: a self-hosted live-updates news desk.", pretty_exceptions_enable=False)
sources_app = typer.Typer(help="Manage the sources livedesk polls.")
app.add_typer(sources_app, name="sources")
stories_app = typer.Typer(help="List, merge and split stories.")
app.add_typer(stories_app, name="stories")
claims_app = typer.Typer(help="The claim ledger of a story: list claims, set their status, read their history.")
app.add_typer(claims_app, name="claims")
live_app = typer.Typer(help="Topic live pages defined by a saved query.")
app.add_typer(live_app, name="live")
users_app = typer.Typer(help="The desk's accounts: add, list, change passwords, disable, enable, remove.")
app.add_typer(users_app, name="users")
tokens_app = typer.Typer(help="API tokens: create (shown once), list, revoke.")
app.add_typer(tokens_app, name="tokens")

console = Console()
err_console = Console(stderr=True)


@dataclass
class _State:
    debug: bool = False
    db: str | None = None

    def settings(self, **overrides: object) -> Settings:
        return Settings.from_env(None, database_url=self.db, **overrides)


state = _State()


DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database file or SQLAlchemy URL, before or after the command"
        " (env LIVEDESK_DATABASE_URL; default ./livedesk.db).",
        show_default=False,
    ),
]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")]


def _id(help: str) -> Any:
    """An id argument, refused as a usage error when no row could have it (the id columns are 32-bit)."""
    return typer.Argument(help=help, min=1, max=MAX_ID)


@app.callback()
def _global(db: DbOption = None, debug: DebugOption = False) -> None:
    state.db = db
    state.debug = debug


def _group_options(db: DbOption = None, debug: DebugOption = False) -> None:
    """The same options between a group and its command (`livedesk sources --db x.db list`)."""
    if db is not None:
        state.db = db
    state.debug = state.debug or debug


for _group in (sources_app, stories_app, claims_app, live_app, users_app, tokens_app):
    _group.callback()(_group_options)


_F = TypeVar("_F", bound=Callable[..., Any])
_T = TypeVar("_T")


def command(group: typer.Typer, name: str | None = None) -> Callable[[_F], _F]:
    """Register a command of `group` that also takes the global --db and --debug after its own arguments
    (`livedesk sources list --db x.db`): they are added to its signature, which is what Typer reads."""

    def register(func: _F) -> _F:
        @functools.wraps(func)
        def run(*args: Any, db: str | None = None, debug: bool = False, **kwargs: Any) -> Any:
            if db is not None:
                state.db = db
            state.debug = state.debug or debug
            return func(*args, **kwargs)

        signature = inspect.signature(func, eval_str=True)
        extra = [
            inspect.Parameter("db", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=DbOption),
            inspect.Parameter("debug", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=DebugOption),
        ]
        run.__signature__ = signature.replace(parameters=[*signature.parameters.values(), *extra])  # type: ignore[attr-defined]
        group.command(name)(run)
        return func

    return register


@contextmanager
def _store(settings: Settings | None = None) -> Iterator[Store]:
    store = Store.open((settings or state.settings()).database_url)
    try:
        yield store
    finally:
        store.close()


def _announced(operation: Callable[[Store, Bus], Awaitable[_T]]) -> _T:
    """Run a desk operation that announces its changes: on PostgreSQL (LISTEN/NOTIFY) web processes elsewhere
    refresh the pages concerned."""
    settings = state.settings()

    async def run() -> _T:
        bus = open_bus(settings.database_url)
        try:
            with _store(settings) as store:
                return await operation(store, bus)
        finally:
            await bus.stop()

    return asyncio.run(run())


@contextmanager
def _refusals() -> Iterator[None]:
    """The desk's refusals (unknown ids, invalid requests) as one-line command errors."""
    try:
        yield
    except desk_stories.StoryNotFoundError as err:
        raise click.ClickException(f"no story {err}") from err
    except desk_claims.ClaimNotFoundError as err:
        raise click.ClickException(f"no claim {err}") from err
    except desk_sources.SourceNotFoundError as err:
        raise click.ClickException(f"no source {err}") from err
    except desk_topics.TopicExistsError as err:
        raise click.ClickException(f"topic page {str(err)!r} exists already") from err
    except desk_accounts.UserNotFoundError as err:
        raise click.ClickException(f"no user {str(err)!r}") from err
    except desk_accounts.UserExistsError as err:
        raise click.ClickException(f"user {str(err)!r} exists already") from err
    except desk_accounts.TokenNotFoundError as err:
        raise click.ClickException(f"no token {err}") from err
    except ValueError as err:
        raise click.ClickException(str(err)) from err


# -- init and sources ------------------------------------------------------------------------------------


@command(app)
def init() -> None:
    """Create the database (on PostgreSQL too, if the server allows) or bring its schema up to date."""
    settings = state.settings()
    done = init_database(settings.database_url)
    if done.created:
        console.print(f"created database: {settings.database_url}")
    console.print(f"database ready ({done.dialect}): {settings.database_url}")


@command(sources_app, "add")
def sources_add(
    url: str,
    kind: Annotated[SourceKind, typer.Option(help="What the URL is.")] = SourceKind.FEED,
    title: Annotated[str | None, typer.Option(help="A name for the source.")] = None,
) -> None:
    """Add a feed, sitemap or page URL to poll."""
    with _store() as store, _refusals():
        source, created = desk_sources.add_source(store, url, kind, title)
    console.print(f"{'added' if created else 'already present'}: #{source.id} {source.url} ({source.kind})")


@command(sources_app, "list")
def sources_list() -> None:
    """List sources with their fetch state."""
    with _store() as store:
        sources = store.list_sources()
    table = Table("id", "kind", "url", "title", "next poll", "errors", "state")
    for s in sources:
        status = f"disabled: {s.disabled_reason}" if s.disabled else (s.last_error or "ok")
        next_poll = s.next_poll_at.strftime("%Y-%m-%d %H:%M") if s.next_poll_at else "now"
        table.add_row(str(s.id), s.kind, s.url, s.title or "", next_poll, str(s.error_count), status)
    console.print(table)


@command(sources_app, "import-opml")
def sources_import_opml(file: Path) -> None:
    """Add every feed listed in an OPML file (unusable URLs are skipped and listed)."""
    settings = state.settings()
    with _store(settings) as store:
        try:
            result = desk_opml.import_opml(store, read_capped(file, settings.max_bytes), str(file))
        except SourceError as err:
            raise click.ClickException(f"cannot read {file}: {err.reason}") from err
    console.print(f"{len(result.added)} added, {len(result.present)} already present, {len(result.skipped)} skipped")
    for url, reason in result.skipped:
        console.print(f"skipped {url!r}: {reason}", highlight=False)


@command(sources_app, "enable")
def sources_enable(source: Annotated[int, _id("Source id (see `sources list`).")]) -> None:
    """Poll a disabled source again, at once, its failure count cleared."""
    with _store() as store, _refusals():
        enabled = desk_sources.enable_source(store, source)
    console.print(f"enabled: #{enabled.id} {enabled.url}")


@command(sources_app, "disable")
def sources_disable(
    source: Annotated[int, _id("Source id (see `sources list`).")],
    reason: Annotated[str, typer.Option(help="Why: shown in `sources list`.")] = "disabled by an editor",
) -> None:
    """Stop polling a source until `sources enable`."""
    with _store() as store, _refusals():
        disabled = desk_sources.disable_source(store, source, reason)
    console.print(f"disabled: #{disabled.id} {disabled.url}")


@command(sources_app, "export-opml")
def sources_export_opml(
    output: Annotated[Path | None, typer.Option("-o", "--output", help="File to write (default stdout).")] = None,
) -> None:
    """Write the source list as OPML."""
    with _store() as store:
        opml = write_opml(store.list_sources())
    if output:
        output.write_text(opml, encoding="utf-8")
    else:
        sys.stdout.write(opml)


# -- ingest and poll -------------------------------------------------------------------------------------


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[current]}", style="dim"),
        console=err_console,
        transient=True,
    )


async def _run_ingest(settings: Settings, targets: list[str] | None) -> IngestReport:
    """Ingest `targets`, or poll the due sources once (None)."""
    # On PostgreSQL the bus is LISTEN/NOTIFY: web processes elsewhere push what this process stores.
    bus = open_bus(settings.database_url)
    with _store(settings) as store, _progress() as progress:
        task = progress.add_task("ingesting", total=None, current="")

        def advance(origin: str) -> None:
            progress.update(task, advance=1, current=origin[-60:])

        try:
            if targets is None:
                return await worker.poll_once(store, bus, settings, on_item=advance)
            async with Ingestor(store, settings, on_item=advance, on_stored=announcer(bus)) as ingestor:
                return await ingestor.ingest(targets)
        finally:
            await bus.stop()


def _print_report(report: IngestReport) -> None:
    # "resumed": articles an earlier, interrupted run had stored but not yet taken through every stage.
    columns = ["new", "updated", "duplicate", *(["resumed"] if report.outcomes["resumed"] else []), "failed"]
    table = Table(*columns, title="ingest summary")
    table.add_row(*(str(report.outcomes[k]) for k in columns))
    console.print(table)
    if report.failures:
        failures = Table("where", "reason", title="failed", title_style="red")
        for origin, reason in report.failures:
            failures.add_row(origin, reason)
        console.print(failures)
    if report.warnings:
        warnings = Table("where", "note", title="warnings", title_style="yellow")
        for origin, note in report.warnings[:50]:
            warnings.add_row(origin, note)
        if len(report.warnings) > 50:
            warnings.add_row("…", f"{len(report.warnings) - 50} more")
        console.print(warnings)


@command(app)
def enrich(
    batch_size: Annotated[int, typer.Option(help="Articles per spaCy batch.")] = enriching.BATCH_SIZE,
) -> None:
    """Link the entities (and claims) of every stored article: a backfill for articles stored before enrich ran."""
    with _store() as store, _progress() as progress:
        task = progress.add_task("enriching", total=store.count_articles(), current="")
        entities = 0
        for result in enriching.enrich_many(store, store.iter_articles(), batch_size=batch_size):
            entities += result.entities
            progress.update(task, advance=1, current=f"article {result.article_id}")
        total = progress.tasks[task].completed
    console.print(f"enriched {total:.0f} articles: {entities} entity links")


@command(app)
def repair(
    everything: Annotated[
        bool, typer.Option("--all", help="Run the stages again for every stored article, not only unfinished ones.")
    ] = False,
) -> None:
    """Complete every article an interrupted ingest left midway (syndication, stories, entities, claims); every
    ingest and poll does this first, this command does only that."""
    settings = state.settings()
    with _store(settings) as store:
        if everything:
            store.mark_unprocessed()
    report = asyncio.run(_run_ingest(settings, []))
    _print_report(report)


@command(app)
def ingest(
    targets: Annotated[list[str], typer.Argument(help="Feed/page URLs, HTML/feed/WARC/OPML files, dirs.")],
) -> None:
    """Read articles from URLs and local material into the database."""
    report = asyncio.run(_run_ingest(state.settings(), targets))
    _print_report(report)
    if not report.read_anything:
        raise typer.Exit(1)


@command(app)
def poll(
    once: Annotated[bool, typer.Option("--once", help="Poll the due sources once and exit.")] = False,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=65535,
            help="Serve this poller's metrics (fetches, ingest lag, stage times) at http://127.0.0.1:PORT/metrics.",
        ),
    ] = None,
) -> None:
    """Poll due sources (forever, or once). Several pollers may run against one database: each source is leased
    to one of them at a time."""
    settings = state.settings()
    if metrics_port is not None:
        serve_metrics(metrics_port)
    if once:
        _print_report(asyncio.run(_run_ingest(settings, None)))
        return
    asyncio.run(_poll_forever(settings))


async def _poll_forever(settings: Settings) -> None:
    bus = open_bus(settings.database_url)
    with _store(settings) as store:
        try:
            await worker.poll_forever(store, bus, settings, on_round=_print_round)
        finally:
            await bus.stop()


def _print_round(report: IngestReport, wait: float) -> None:
    _print_report(report)
    console.print(f"next poll in {wait:.0f} s")


# -- export ----------------------------------------------------------------------------------------------


@command(app, "export")
def export_(
    what: Annotated[exporting.Records, typer.Option(help="Which records.")] = exporting.Records.ARTICLES,
    format: Annotated[exporting.Format, typer.Option(help="Output format.")] = exporting.Format.JSONL,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="File to write (default stdout).")] = None,
) -> None:
    """Export articles (or stories) as JSON Lines or CSV."""
    with _store() as store:
        lines = exporting.export_lines(store, what, format)
        out = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
        try:
            out.writelines(lines)
        finally:
            if output:
                out.close()


# -- stories ---------------------------------------------------------------------------------------------


@command(stories_app, "list")
def stories_list(limit: Annotated[int, typer.Option(help="How many, most recently updated first.")] = 50) -> None:
    """List stories with their counts."""
    with _store() as store:
        found = store.list_stories(limit=limit)
    table = Table("id", "title", "articles", "outlets", "first seen", "last update")
    for s in found:
        table.add_row(
            str(s.id),
            s.title,
            str(s.article_count),
            str(s.outlet_count),
            s.first_seen.strftime("%Y-%m-%d %H:%M"),
            s.last_update.strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)


@command(stories_app, "merge")
def stories_merge(
    keep: Annotated[int, _id("Story id to keep.")], absorb: Annotated[int, _id("Story id to absorb.")]
) -> None:
    """Move every article of story ABSORB into story KEEP; later articles follow."""
    with _refusals():
        _announced(lambda store, bus: desk_stories.merge(store, bus, keep, absorb))
    console.print(f"merged story {absorb} into story {keep}")


@command(stories_app, "split")
def stories_split(
    story: Annotated[int, _id("Story id.")], articles: Annotated[list[int], _id("Article ids to move out.")]
) -> None:
    """Move the given articles of STORY into a new story; later articles follow."""
    with _refusals():
        new_id = _announced(lambda store, bus: desk_stories.split(store, bus, story, articles))
    console.print(f"split {len(articles)} article(s) of story {story} into new story {new_id}")


# -- demo ------------------------------------------------------------------------------------------------


# Demo releases: a third of the corpus at first, then this many more articles every poll round.
DEMO_RELEASE = 3
DEMO_POLL_INTERVAL = 10.0


@command(app)
def demo(
    serve_app: Annotated[
        bool, typer.Option("--serve/--no-serve", help="After ingesting, serve the web app (--no-serve: stop).")
    ] = True,
    host: Annotated[str, typer.Option(help="Address the web app listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the web app.")] = 8000,
) -> None:
    """Serve the bundled offline corpus on loopback, poll it through the real fetch path, show what came in;
    then serve the web app while the rest of the corpus is released a few articles at a time. The corpus is
    dated from the demo's first run in this database (its newest article then), so its stories are live while
    it serves, and a re-run serves the same pages at the same addresses: it stores nothing again."""
    from livedesk.demo import DemoServer, corpus, previous_port, previous_start, shift_to

    with _store() as store:
        feed_port = previous_port(source.url for source in store.list_sources())
    with DemoServer(hostnames=True, port=feed_port) as server:
        # The fictional outlets live on loopback, which the SSRF guard refuses unless allowed, under host names
        # that only the pinned addresses resolve.
        settings = state.settings(
            allowed_networks="127.0.0.0/8",
            resolve=server.resolve,
            per_host_delay=0.0,
            poll_interval=DEMO_POLL_INTERVAL,
        )
        with _store(settings) as store:
            # Every demo feed is polled now, on a re-run too (its conditional requests then store nothing twice).
            for url in server.feed_urls:
                source, _created = desk_sources.add_source(store, url)
                assert source.id is not None  # a stored source
                desk_sources.enable_source(store, source.id)
            started = previous_start(store.list_sources())
        assert started is not None  # the sources just added, if no earlier run's
        shift = shift_to(started)
        times = sorted(a.published + shift for a in corpus())
        # Served, the corpus arrives gradually so the live pages have something to show; otherwise all at once.
        release = iter(times[len(times) // 3 :] if serve_app else [None])
        server.set_shift(shift)
        server.set_cutoff(next(release))
        console.print(f"demo corpus served at {server.base_url}")
        report = asyncio.run(_run_ingest(settings, None))
        _print_report(report)
        with _store(settings) as store:
            table = Table("site", "title", "byline", "published", "source line", title="ingested articles")
            for stored in store.iter_articles():
                a = stored.article
                published = a.published_at.strftime("%Y-%m-%d %H:%M") if a.published_at else ""
                table.add_row(a.site, a.title[:70], a.byline or "—", published, a.attributed_to or "")
            console.print(table)
        if not table.row_count:
            raise typer.Exit(1)
        if serve_app:

            def release_more() -> None:
                for cutoff in itertools.islice(release, DEMO_RELEASE):
                    server.set_cutoff(cutoff)

            _serve(settings, host, port, poll=True, before_poll=release_more)


# -- web -------------------------------------------------------------------------------------------------


# Open live streams never end by themselves: on shutdown, give them this long, then close them (browsers
# reconnect with Last-Event-ID and miss nothing).
SHUTDOWN_GRACE_SECONDS = 5


def _serve(
    settings: Settings,
    host: str,
    port: int,
    *,
    poll: bool,
    before_poll: Callable[[], None] | None = None,
    workers: int = 1,
) -> None:
    import uvicorn

    from livedesk.web.app import create_app

    console.print(f"livedesk at http://{host}:{port}/" + (" (polling sources)" if poll else ""))
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": "warning",
        # The same log lines as the rest of livedesk, in every worker process (LIVEDESK_LOG_FORMAT).
        "log_config": logging_config(settings.log_format),
        "timeout_graceful_shutdown": SHUTDOWN_GRACE_SECONDS,
        # uvicorn would replace the peer's address with X-Forwarded-For from its own list of proxies (127.0.0.1
        # by default): only LIVEDESK_TRUSTED_PROXIES decides whose header counts.
        "proxy_headers": False,
    }
    if workers == 1:
        background = (
            [functools.partial(worker.poll_forever, settings=settings, before_round=before_poll)] if poll else []
        )
        uvicorn.run(create_app(settings, background=background, story_edits=desk_stories), **options)
        return
    # Worker processes build their own app from the environment (no polling: see `serve --workers`).
    os.environ["LIVEDESK_DATABASE_URL"] = settings.database_url
    with tempfile.TemporaryDirectory(prefix="livedesk-metrics-") as metrics_directory:
        # Every worker writes its figures there; whichever answers a scrape of /metrics reports them all.
        os.environ.setdefault(MULTIPROCESS_ENV, metrics_directory)
        uvicorn.run("livedesk.cli:web_app", factory=True, workers=workers, **options)


def web_app() -> FastAPI:
    """The app of a `serve --workers` process: settings from the environment, the desk's story edits at hand."""
    from livedesk.web.app import create_app

    return create_app(story_edits=desk_stories)


@command(app)
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    poll_sources: Annotated[
        bool | None,
        typer.Option(
            "--poll/--no-poll",
            help="Poll due sources in this process [default: on for SQLite (embedded), off for PostgreSQL].",
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Server processes. More than 1 needs PostgreSQL: SQLite (WAL) would serve reads from several"
            " processes fine, but its live-update bus lives inside one process, so pages served by the other"
            " workers would never get new updates. With PostgreSQL, updates reach every worker (LISTEN/NOTIFY);"
            " --poll is refused then (every worker would poll the same sources).",
        ),
    ] = 1,
) -> None:
    """Serve the live pages, feeds and JSON API."""
    settings = state.settings()
    with _store(settings) as store:  # migrate before the server starts
        embedded = store.dialect == "sqlite"
    poll = embedded if poll_sources is None else poll_sources
    if workers > 1 and embedded:
        raise click.UsageError("--workers above 1 needs PostgreSQL: SQLite's live updates stay in one process")
    if workers > 1 and poll:
        raise click.UsageError("--workers above 1 cannot --poll: every worker would poll the same sources")
    _serve(settings, host, port, poll=poll, workers=workers)


@command(live_app, "create")
def live_create(
    slug: Annotated[str, typer.Option(help="URL name: the page is /live/SLUG.")],
    title: Annotated[str, typer.Option(help="Page title.")],
    query: Annotated[str, typer.Option(help="Keywords; an article matches when it holds every word.")] = "",
    source: Annotated[list[str] | None, typer.Option(help="Only articles from this site (repeatable).")] = None,
    story: Annotated[list[int] | None, typer.Option(help="Every article of this story (repeatable).")] = None,
) -> None:
    """Create a topic live page: articles of the given stories, or matching the query (from the sources)."""
    with _store() as store, _refusals():
        topic = desk_topics.create_topic(
            store, slug, title, keywords=query, sources=source or (), story_ids=story or ()
        )
    console.print(f"created /live/{topic.slug}: {topic.title}")


@command(live_app, "list")
def live_list() -> None:
    """List topic live pages and their queries."""
    with _store() as store:
        topics = desk_topics.list_topics(store)
    table = Table("slug", "title", "query", "sources", "stories")
    for t in topics:
        q = t.query
        table.add_row(t.slug, t.title, q.keywords, ", ".join(q.sources), ", ".join(map(str, q.story_ids)))
    console.print(table)


# Usage errors and Ctrl-C: click's own, or the copies of them that newer Typer releases raise (it vendors click).
_CLICK_ERRORS = cast(
    tuple[type[click.ClickException], ...],
    (click.ClickException, *(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")),
)
_ABORTS = (click.Abort, typer.Abort)


def main(argv: list[str] | None = None) -> None:
    """The `livedesk` command: `argv` (default: the process's arguments), errors shown in one line."""
    try:
        logging.config.dictConfig(logging_config(Settings.from_env().log_format))
        code = app(args=argv, standalone_mode=False)
    except _CLICK_ERRORS as err:
        err.show()
        sys.exit(err.exit_code)
    except _ABORTS:
        sys.exit(1)
    except Exception as err:
        if state.debug:
            raise
        err_console.print(f"[red]error:[/red] {_one_line(err)}", highlight=False, soft_wrap=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


def _one_line(err: Exception) -> str:
    """The error as one line; a PostgreSQL database that is not there says how to create it."""
    if isinstance(err, sa.exc.OperationalError) and (
        missing := re.search(r'database "[^"]*" does not exist', str(err.orig))
    ):
        return f"{missing.group()} (`livedesk --db URL init` creates it)"
    return str(err)


# -- claims ----------------------------------------------------------------------------------------------


@command(claims_app, "list")
def claims_list(story: Annotated[int, _id("Story id.")]) -> None:
    """The story's claims: who claims what, how solid it is, which outlets carry it (and how many independent
    sources: copies of one original count once), the first appearance and what its time rests on, and the
    carriers whose wording drops the claim's hedge or attribution."""
    with _store() as store:
        if store.get_story(story) is None:
            raise click.ClickException(f"no story {story}")
        entries = store.story_claims(story)
    table = Table("id", "claim", "attributed to", "cue", "status", "outlets", "sources", "first appearance", "drift")
    for e in entries:
        first = e.first_appearance
        status = f"{e.status} (editor)" if e.editor_set else e.status
        basis = "published" if first and first.time_basis == TimeBasis.PUBLISHED else "first seen"
        reported = f"{first.outlet} {first.first_seen:%Y-%m-%d %H:%M} ({basis})" if first else ""
        drift = "; ".join(f"{c.outlet}: {', '.join(d.replace('_', ' ') for d in c.drift)}" for c in e.drifted)
        outlets = ", ".join(e.outlets)
        table.add_row(
            str(e.id), e.text, e.attributed_to, e.cue, status, outlets, str(e.independent_sources), reported, drift
        )
    console.print(table)


@command(claims_app, "set-status")
def claims_set_status(
    claim: Annotated[int, _id("Claim id (see `claims list`).")],
    status: Annotated[str, typer.Argument(help="confirmed, unconfirmed, denied, alleged or disputed.")],
    editor: Annotated[str, typer.Option(help="Who decides.")],
    reason: Annotated[str, typer.Option(help="Why: kept in the claim's history.")],
) -> None:
    """Set a claim's status as an editor; the decision is kept with who, when and why."""
    with _refusals():
        change = _announced(
            lambda store, bus: desk_claims.set_claim_status(store, bus, claim, status, editor=editor, reason=reason)
        )
    console.print(f"claim {claim}: {change.previous} → {change.status} (by {change.editor})")


@command(claims_app, "history")
def claims_history(claim: Annotated[int, _id("Claim id.")]) -> None:
    """Editors' decisions on a claim, oldest first."""
    with _store() as store:
        if store.get_claim(claim) is None:
            raise click.ClickException(f"no claim {claim}")
        changes = store.claim_history(claim)
    table = Table("at", "editor", "from", "to", "reason")
    for c in changes:
        table.add_row(f"{c.at:%Y-%m-%d %H:%M:%S}", c.editor, c.previous, c.status, c.reason)
    console.print(table)


# -- audit -----------------------------------------------------------------------------------------------

MAX_AUDIT_LIMIT = 10_000


@command(app, "audit")
def audit(
    target: Annotated[str | None, typer.Option(help="Only this target, e.g. post:12, story:3, source:4.")] = None,
    actor: Annotated[str | None, typer.Option(help='Only this actor\'s name ("command line" for this CLI).')] = None,
    limit: Annotated[int, typer.Option(min=1, max=MAX_AUDIT_LIMIT, help="How many, newest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line instead of a table.")] = False,
) -> None:
    """The audit log: every desk action with its actor, time, and before/after, newest first."""
    with _store() as store:
        entries = store.audit_entries(target=target, actor=actor, limit=limit)
    if as_json:
        for e in entries:
            typer.echo(json.dumps({**asdict(e), "at": e.at.isoformat()}, ensure_ascii=False))
        return
    table = Table("id", "at", "actor", "action", "target", "before", "after")
    for e in entries:
        table.add_row(
            str(e.id),
            f"{e.at:%Y-%m-%d %H:%M:%S}",
            Text(e.actor_name),
            e.action,
            Text(e.target),
            Text(_compact(e.before)),
            Text(_compact(e.after)),
        )
    console.print(table)


def _compact(value: object) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


# -- users and tokens ------------------------------------------------------------------------------------

PasswordStdinOption = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin (for scripts).")
]


def _new_password(from_stdin: bool) -> str:
    """The password from stdin's first line, or typed twice at a hidden prompt."""
    if from_stdin:
        # One more character than allowed, and the line end: an overlong line is refused, not cut short.
        line = sys.stdin.readline(desk_accounts.MAX_PASSWORD + 3)
        return line.removesuffix("\n").removesuffix("\r")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@command(users_app, "add")
def users_add(
    name: Annotated[str, typer.Argument(help="Sign-in name.")],
    role: Annotated[Role, typer.Option(help="What the user may do.")],
    password_stdin: PasswordStdinOption = False,
) -> None:
    """Add a user (the first admin too: there is no default account); the password is asked for."""
    with _store() as store, _refusals():
        # Refused before the password is asked for.
        if store.get_user(desk_accounts.check_name(name)) is not None:
            raise desk_accounts.UserExistsError(name)
        user = desk_accounts.add_user(store, name, role, _new_password(password_stdin))
    console.print(f"added {user.role}: #{user.id} {user.name}", markup=False, highlight=False)


@command(users_app, "list")
def users_list() -> None:
    """List users with their role and state."""
    with _store() as store:
        users = store.list_users()
    table = Table("id", "name", "role", "state", "created", "password changed")
    for u in users:
        state_ = "disabled" if u.disabled else "active"
        table.add_row(
            str(u.id),
            Text(u.name),
            u.role,
            state_,
            f"{u.created_at:%Y-%m-%d %H:%M}",
            f"{u.password_changed_at:%Y-%m-%d %H:%M}",
        )
    console.print(table)


@command(users_app, "passwd")
def users_passwd(name: str, password_stdin: PasswordStdinOption = False) -> None:
    """Set a user's password."""
    with _store() as store, _refusals():
        if store.get_user(name) is None:
            raise desk_accounts.UserNotFoundError(name)
        user = desk_accounts.set_password(store, name, _new_password(password_stdin))
    console.print(f"password changed: {user.name}", markup=False, highlight=False)


@command(users_app, "disable")
def users_disable(name: str) -> None:
    """Stop a user from signing in or using their tokens, until `users enable`."""
    with _store() as store, _refusals():
        user = desk_accounts.set_user_disabled(store, name, True)
    console.print(f"disabled: {user.name}", markup=False, highlight=False)


@command(users_app, "enable")
def users_enable(name: str) -> None:
    """Let a disabled user sign in and use their tokens again."""
    with _store() as store, _refusals():
        user = desk_accounts.set_user_disabled(store, name, False)
    console.print(f"enabled: {user.name}", markup=False, highlight=False)


@command(users_app, "remove")
def users_remove(name: str) -> None:
    """Delete a user and their tokens."""
    with _store() as store, _refusals():
        desk_accounts.remove_user(store, name)
    console.print(f"removed: {name}", markup=False, highlight=False)


@command(tokens_app, "create")
def tokens_create(
    name: Annotated[str, typer.Argument(help="The user the token acts as.")],
    label: Annotated[str, typer.Option(help="What the token is for: shown in `tokens list`.")] = "",
) -> None:
    """Create an API token; it is printed once, as the last word of the output, and kept only hashed."""
    with _store() as store, _refusals():
        created = desk_accounts.create_token(store, name, label)
    console.print(f"token #{created.token.id} for {created.token.user_name} (shown once, not kept):", markup=False)
    typer.echo(created.secret)


@command(tokens_app, "list")
def tokens_list(name: Annotated[str | None, typer.Argument(help="Only this user's tokens.")] = None) -> None:
    """List API tokens (never their secrets)."""
    with _store() as store:
        tokens = store.list_tokens(name)
    table = Table("id", "user", "label", "created", "last used", "state")
    for t in tokens:
        used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
        state_ = f"revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "active"
        table.add_row(str(t.id), Text(t.user_name), Text(t.label), f"{t.created_at:%Y-%m-%d %H:%M}", used, state_)
    console.print(table)


@command(tokens_app, "revoke")
def tokens_revoke(token: Annotated[int, _id("Token id (see `tokens list`).")]) -> None:
    """Revoke an API token for good."""
    with _store() as store, _refusals():
        revoked = desk_accounts.revoke_token(store, token)
    console.print(f"revoked: token #{revoked.id} of {revoked.user_name}", markup=False, highlight=False)
