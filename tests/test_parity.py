"""SQLite and PostgreSQL give the same desk: realistic corpora ingested through the real chain into both, then
compared through `livedesk export` (articles and stories).

Database ids are not compared (a PostgreSQL sequence skips the values of conflicting inserts, SQLite's rowids do
not): articles are matched by URL, and stories by the URLs of their articles, so the story partitions must agree.
"""

from __future__ import annotations

import asyncio
import gzip
import html
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from livedesk.cli import app
from livedesk.config import Settings
from livedesk.demo import DemoSite
from livedesk.pipeline import Ingestor, IngestReport
from livedesk.store import Store
from tests.fixtures_db import temporary_database, with_postgres_options

BENCHMARKS = Path(__file__).resolve().parents[1].parent / "shared" / "benchmarks"
SCRAPINGHUB = BENCHMARKS / "scrapinghub-article-extraction" / "html"
ECB = BENCHMARKS / "ecbplus" / "ECB+_LREC2014" / "ECB+"
# Enough topics for a few hundred documents, several stories each (ECB+ has about 20 documents to a topic).
ECB_TOPICS = range(1, 13)
ECB_TOKEN = re.compile(r'<token t_id="\d+" sentence="(\d+)" number="\d+">([^<]*)</token>')
ECB_FILE = re.compile(r"^(\d+)_\d+(ecb|ecbplus)\.xml$")

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@dataclass(frozen=True)
class Export:
    articles: dict[str, dict[str, Any]]  # by URL; the story as the sorted URLs of its articles
    stories: dict[frozenset[str], dict[str, Any]]  # by the URLs of their articles
    failures: list[tuple[str, str]]  # what the ingest could not read (e.g. ECB+ documents of one sentence)


# -- corpora as folders of pages -----------------------------------------------------------------------------


def demo_pages(folder: Path) -> Path:
    """The bundled demo corpus, its rendered pages named in publication order (the order a desk reads them)."""
    folder.mkdir()
    pages = sorted(DemoSite().pages(), key=lambda page: (page[0].published, page[0].slug))
    for n, (article, _url, body) in enumerate(pages):
        (folder / f"{n:03}-{article.slug}.html").write_bytes(body)
    return folder


def scrapinghub_pages(folder: Path) -> Path:
    folder.mkdir()
    for path in sorted(SCRAPINGHUB.glob("*.html.gz")):
        (folder / path.name.removesuffix(".gz")).write_bytes(gzip.decompress(path.read_bytes()))
    return folder


def ecb_documents(topics: range) -> list[tuple[str, str, list[str]]]:
    """(name, title, paragraphs) of the ECB+ documents of `topics`, rebuilt from their tokens: sentence 0 of an
    `ecbplus` file is its source URL and is dropped, the first remaining sentence is the title, and each
    sentence is a paragraph."""
    documents = []
    for topic in topics:
        for path in sorted((ECB / str(topic)).glob("*.xml")):
            match = ECB_FILE.match(path.name)
            if match is None:
                continue
            sentences: dict[int, list[str]] = {}
            for number, token in ECB_TOKEN.findall(path.read_text(encoding="utf-8")):
                sentences.setdefault(int(number), []).append(token)
            ordered = [" ".join(sentences[n]) for n in sorted(sentences) if not (match[2] == "ecbplus" and n == 0)]
            documents.append((path.stem, ordered[0], ordered[1:]))
    return documents


def ecb_pages(folder: Path) -> Path:
    """ECB+ documents as small HTML pages, each at its own URL, the topics interleaved as on a news day."""
    folder.mkdir()
    documents = ecb_documents(ECB_TOPICS)
    random.Random(0).shuffle(documents)
    for n, (name, title, paragraphs) in enumerate(documents):
        body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
        page = (
            f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<link rel="canonical" href="https://ecb.example/{name}"></head>'
            f"<body><article><h1>{html.escape(title)}</h1>{body}</article></body></html>"
        )
        (folder / f"{n:04}.html").write_text(page, encoding="utf-8")
    return folder


# -- the chain and the export --------------------------------------------------------------------------------


def ingest(database_url: str, folder: Path) -> IngestReport:
    settings = Settings(database_url=database_url, extract_workers=1)

    async def run() -> IngestReport:
        with Store.open(database_url) as store:
            async with Ingestor(store, settings) as ingestor:
                return await ingestor.ingest([str(folder)])

    return asyncio.run(run())


def export(database_url: str, what: str, output: Path) -> list[dict[str, Any]]:
    result = CliRunner().invoke(app, ["--db", database_url, "export", "--what", what, "-o", str(output)])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]


def exported(database_url: str, folder: Path, work: Path) -> Export:
    report = ingest(database_url, folder)
    articles = export(database_url, "articles", work / "articles.jsonl")
    url_of = {record["id"]: record["url"] for record in articles}
    stories = {}
    for record in export(database_url, "stories", work / "stories.jsonl"):
        members = frozenset(url_of[i] for i in record.pop("article_ids"))
        del record["id"]
        stories[members] = record
    story_of = {url: sorted(members) for members in stories for url in members}
    by_url = {}
    for record in articles:
        del record["id"], record["story_id"]
        record["story"] = story_of.get(record["url"])
        by_url[record["url"]] = record
    assert len(by_url) == len(articles)
    return Export(by_url, stories, sorted(report.failures))


def through(backend: str, folder: Path, work: Path) -> Export:
    (work / backend).mkdir()
    with temporary_database(backend, work / backend) as database_url:
        if backend == "postgres":
            # PostgreSQL hands times back in the session's zone: one far from UTC, at an odd offset, shows any
            # time that is not converted back.
            database_url = with_postgres_options(database_url, "-cTimeZone=Pacific/Chatham")
        return exported(database_url, folder, work / backend)


def differences(sqlite: Export, postgres: Export) -> list[str]:
    """What differs: one line per failure, article or story only one database has, and differing field."""
    found = [f"failed only in sqlite: {f}" for f in sqlite.failures if f not in postgres.failures]
    found += [f"failed only in postgres: {f}" for f in postgres.failures if f not in sqlite.failures]
    only = sqlite.articles.keys() ^ postgres.articles.keys()
    found += [f"article only in {'sqlite' if url in sqlite.articles else 'postgres'}: {url}" for url in only]
    for url in sqlite.articles.keys() & postgres.articles.keys():
        a, b = sqlite.articles[url], postgres.articles[url]
        found += [f"{url} {field}: sqlite {a[field]!r} / postgres {b[field]!r}" for field in a if a[field] != b[field]]
    only_stories = sqlite.stories.keys() ^ postgres.stories.keys()
    found += [f"story only in {'sqlite' if s in sqlite.stories else 'postgres'}: {sorted(s)}" for s in only_stories]
    for members in sqlite.stories.keys() & postgres.stories.keys():
        a, b = sqlite.stories[members], postgres.stories[members]
        found += [
            f"story of {min(members)} {field}: sqlite {a[field]!r} / postgres {b[field]!r}"
            for field in a
            if a[field] != b[field]
        ]
    return sorted(found)


def same_desk(folder: Path, work: Path, *, articles: int) -> Export:
    """The corpus in `folder` through both databases: their exports must not differ. Returns SQLite's."""
    sqlite, postgres = through("sqlite", folder, work), through("postgres", folder, work)
    assert len(sqlite.articles) >= articles
    # Not vacuous: the corpus exercises every stage whose output is compared.
    records = list(sqlite.articles.values())
    assert any(r["entities"] for r in records) and any(r["claims"] for r in records)
    assert any(len(members) > 1 for members in sqlite.stories)
    found = differences(sqlite, postgres)
    assert not found, "\n".join(found)
    return sqlite


# -- the corpora through both databases ------------------------------------------------------------------------


def test_demo_corpus_is_the_same_on_both_databases(tmp_path: Path) -> None:
    desk = same_desk(demo_pages(tmp_path / "pages"), tmp_path, articles=40)
    assert any(r["syndicated_from"] for r in desk.articles.values())


@pytest.mark.skipif(not SCRAPINGHUB.is_dir(), reason="the scrapinghub benchmark is not beside the repository")
def test_scrapinghub_pages_are_the_same_on_both_databases(tmp_path: Path) -> None:
    same_desk(scrapinghub_pages(tmp_path / "pages"), tmp_path, articles=181)


@pytest.mark.skipif(not ECB.is_dir(), reason="the ECB+ corpus is not beside the repository")
def test_ecb_texts_are_the_same_on_both_databases(tmp_path: Path) -> None:
    same_desk(ecb_pages(tmp_path / "pages"), tmp_path, articles=250)
