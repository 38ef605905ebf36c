"""The extraction processes' side of the Ingestor's pool: how each worker starts."""

from __future__ import annotations

import os
import threading
import time
from contextlib import suppress
from datetime import UTC, datetime

from livedesk.models import Page
from livedesk.pipeline.extract import ExtractError, extract

_SAMPLE = (
    b"<html><head><title>Warm-up</title></head><body><article><h1>Warm-up page</h1>"
    + b"<p>This paragraph exists so that the extractor runs its whole path once, dates and language included, "
    b"published on 2 March 2026.</p>" * 4 + b"</article></body></html>"
)


def start(ingester: int) -> None:
    """Pool initializer: warm up, and end with the ingesting process."""
    _exit_with(ingester)
    _warm_up()


def _warm_up() -> None:
    # trafilatura's first extraction builds caches (language data, date patterns) costing far more than a page:
    # paid here, while the first pages are still being read, rather than on them.
    with suppress(ExtractError):  # the caches are built either way
        extract(Page(url="https://warm-up.example/page", body=_SAMPLE, fetched_at=datetime.now(UTC)))


def _exit_with(ingester: int) -> None:
    """End this worker once the ingesting process is gone, even killed with -9 (the pool's pipes are shared by
    every worker, so none of them would ever read end-of-file)."""

    def watch() -> None:
        while True:
            time.sleep(1.0)
            try:
                os.kill(ingester, 0)
            except ProcessLookupError:
                os._exit(0)

    threading.Thread(target=watch, name="exit-with-ingester", daemon=True).start()
