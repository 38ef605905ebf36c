"""Typer commands only: parse options, call the pipeline or the store, print."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import click
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from livedesk import export as exporting
from livedesk.config import Settings
from livedesk.models import SourceKind
from livedesk.pipeline import Ingestor, IngestReport, seconds_until_next_poll
from livedesk.pipeline.sources import SourceError, parse_opml, write_opml
from livedesk.store import Store

app = typer.Typer(help="livedesk: a self-hosted live-updates news desk.", pretty_exceptions_enable=False)
sources_app = typer.Typer(help="Manage the sources livedesk polls.")
app.add_typer(sources_app, name="sources")

console = Console()
err_console = Console(stderr=True)


@dataclass
class _State:
    debug: bool = False
    db: str | None = None

    def settings(self, **overrides: object) -> Settings:
        return Settings.from_env(database_url=self.db, **overrides)


state = _State()


@app.callback()
def _global(
    db: Annotated[
        str | None,
        typer.Option(help="Database file or SQLAlchemy URL [env: LIVEDESK_DATABASE_URL; default ./livedesk.db]."),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    state.db = db
    state.debug = debug


@contextmanager
def _store(settings: Settings | None = None) -> Iterator[Store]:
    store = Store.open((settings or state.settings()).database_url)
    try:
        yield store
    finally:
        store.close()


# -- init and sources ------------------------------------------------------------------------------------


@app.command()
def init() -> None:
    """Create the database (or bring its schema up to date)."""
    settings = state.settings()
    with _store(settings) as store:
        console.print(f"database ready ({store.dialect}): {settings.database_url}")


@sources_app.command("add")
def sources_add(
    url: str,
    kind: Annotated[SourceKind, typer.Option(help="What the URL is.")] = SourceKind.FEED,
    title: Annotated[str | None, typer.Option(help="A name for the source.")] = None,
) -> None:
    """Add a feed, sitemap or page URL to poll."""
    if not url.startswith(("http://", "https://")):
        raise click.UsageError(f"not an http(s) URL: {url}")
    with _store() as store:
        source, created = store.add_source(url, kind, title)
    console.print(f"{'added' if created else 'already present'}: #{source.id} {source.url} ({source.kind})")


@sources_app.command("list")
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


@sources_app.command("import-opml")
def sources_import_opml(file: Path) -> None:
    """Add every feed listed in an OPML file."""
    try:
        feeds = parse_opml(file.read_bytes())
    except (OSError, SourceError) as err:
        raise click.ClickException(f"cannot read {file}: {err}") from err
    added = 0
    with _store() as store:
        for url, title in feeds:
            added += store.add_source(url, SourceKind.FEED, title)[1]
    console.print(f"{added} added, {len(feeds) - added} already present")


@sources_app.command("export-opml")
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
    with _store(settings) as store, _progress() as progress:
        task = progress.add_task("ingesting", total=None, current="")

        def advance(origin: str) -> None:
            progress.update(task, advance=1, current=origin[-60:])

        async with Ingestor(store, settings, on_item=advance) as ingestor:
            if targets is not None:
                return await ingestor.ingest(targets)
            return await ingestor.poll(store.due_sources(datetime.now(UTC)))


def _print_report(report: IngestReport) -> None:
    table = Table("new", "updated", "duplicate", "failed", title="ingest summary")
    table.add_row(*(str(report.outcomes[k]) for k in ("new", "updated", "duplicate", "failed")))
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


@app.command()
def ingest(
    targets: Annotated[list[str], typer.Argument(help="Feed/page URLs, HTML/feed/WARC/OPML files, dirs.")],
) -> None:
    """Read articles from URLs and local material into the database."""
    report = asyncio.run(_run_ingest(state.settings(), targets))
    _print_report(report)
    if not report.read_anything:
        raise typer.Exit(1)


@app.command()
def poll(
    once: Annotated[bool, typer.Option("--once", help="Poll the due sources once and exit.")] = False,
) -> None:
    """Poll due sources (forever, or once)."""
    settings = state.settings()
    while True:
        report = asyncio.run(_run_ingest(settings, None))
        _print_report(report)
        if once:
            return
        with _store(settings) as store:
            wait = seconds_until_next_poll(store.list_sources(), datetime.now(UTC), settings.poll_interval)
        console.print(f"next poll in {wait:.0f} s")
        asyncio.run(asyncio.sleep(wait))


# -- export ----------------------------------------------------------------------------------------------


class ExportWhat(StrEnum):
    ARTICLES = "articles"
    STORIES = "stories"


class ExportFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"


@app.command("export")
def export_(
    what: Annotated[ExportWhat, typer.Option(help="Which records.")] = ExportWhat.ARTICLES,
    format: Annotated[ExportFormat, typer.Option(help="Output format.")] = ExportFormat.JSONL,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="File to write (default stdout).")] = None,
) -> None:
    """Export articles (or stories) as JSON Lines or CSV."""
    with _store() as store:
        if what is ExportWhat.STORIES:
            # The story stage has not been built yet: there are no story records to export.
            records: Iterator[dict] = iter(())
            fields = ("id", "title", "summary", "first_seen", "last_update", "article_ids", "claims")
        else:
            records = (exporting.article_record(a) for a in store.iter_articles())
            fields = exporting.ARTICLE_FIELDS
        lines = exporting.to_jsonl(records) if format is ExportFormat.JSONL else exporting.to_csv(records, fields)
        out = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
        try:
            out.writelines(lines)
        finally:
            if output:
                out.close()


# -- demo ------------------------------------------------------------------------------------------------


@app.command()
def demo() -> None:
    """Serve the bundled offline corpus on loopback, poll it through the real fetch path, show what came in."""
    from livedesk.demo import DemoServer

    with DemoServer(hostnames=True) as server:
        # The fictional outlets live on loopback, which the SSRF guard refuses unless allowed, under host names
        # that only the pinned addresses resolve.
        settings = state.settings(allowed_networks="127.0.0.0/8", resolve=server.resolve, per_host_delay=0.0)
        console.print(f"demo corpus served at {server.base_url}")
        with _store(settings) as store:
            for url in server.feed_urls:
                store.add_source(url, SourceKind.FEED)
        report = asyncio.run(_run_ingest(settings, None))
    _print_report(report)
    with _store(settings) as store:
        table = Table("site", "title", "byline", "published", "source line", title="ingested articles")
        for stored in store.iter_articles():
            a = stored.article
            published = a.published_at.strftime("%Y-%m-%d %H:%M") if a.published_at else ""
            table.add_row(a.site, a.title[:70], a.byline or "—", published, a.attributed_to or "")
        console.print(table)
    if not report.read_anything:
        raise typer.Exit(1)


def main() -> None:
    try:
        code = app(standalone_mode=False)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except click.Abort:
        sys.exit(1)
    except Exception as err:
        if state.debug:
            raise
        err_console.print(f"[red]error:[/red] {err}")
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
