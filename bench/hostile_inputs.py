"""What hostile material costs: peak memory of fetching compression bombs, and time and memory of ingesting a huge
page, each in a fresh child process and against a baseline child doing the least work on the same bytes.

- Bombs (1 GiB of zeros behind each coding, served from a loopback server): a child fetches the URL through
  livedesk's Fetcher; the baseline child only imports the same modules. The figure is the growth of the child's
  peak RSS over the baseline's.
- A huge page (HTML of distinct "X said Y" sentences, just under LIVEDESK_MAX_BYTES by default, the worst a page
  may be): `livedesk ingest FILE` into a fresh SQLite file, against a child that only parses the bytes with lxml.

    python bench/hostile_inputs.py [--page-bytes 9900000]
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import brotli
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
BOMB_BYTES = 1 << 30

FETCH = """
import asyncio, json, resource, sys
from livedesk.config import Settings
from livedesk.pipeline.fetch import Fetcher, FetchError
async def main():
    async with Fetcher(Settings(allowed_networks="127.0.0.0/8", per_host_delay=0.0, retries=0)) as fetcher:
        try:
            result = await fetcher.fetch(sys.argv[1])
            return f"{len(result.body)} bytes"
        except FetchError as err:
            return str(err).split(": ", 1)[-1][:70]
outcome = asyncio.run(main()) if sys.argv[1] != "-" else "imports only"
print(json.dumps({"outcome": outcome, "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""

PARSE = """
import json, resource, sys, lxml.html
lxml.html.document_fromstring(open(sys.argv[1], "rb").read())
print(json.dumps({"peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def bombs() -> dict[str, bytes]:
    zeros = bytes(1 << 20)

    def gzipped() -> bytes:
        out = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
        return b"".join(out.compress(zeros) for _ in range(BOMB_BYTES >> 20)) + out.flush()

    def deflated() -> bytes:
        out = zlib.compressobj(9)
        return b"".join(out.compress(zeros) for _ in range(BOMB_BYTES >> 20)) + out.flush()

    once = gzipped()
    return {
        "br": brotli.compress(bytes(BOMB_BYTES), quality=5),
        "deflate": deflated(),
        "gzip": once,
        "gzip, gzip": gzip.compress(once),
    }


class Bombs(BaseHTTPRequestHandler):
    served: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        coding = self.path.strip("/").replace("-", ", ")
        body = self.served[coding]
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Encoding", coding)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


def child(code: str, *args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=600, cwd=REPO, check=True
    )
    return json.loads(done.stdout)


def huge_page(path: Path, size: int) -> int:
    syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "be", "di", "go", "ha", "ji", "ku", "le", "mo", "pa"]
    names = ["Officials", "The minister", "A spokesman", "Police", "Gen. Smith", "Dr. Jones", "The mayor", "Witness"]
    parts = ["<!doctype html><html><head><title>Everyone said something</title></head><body><article>"]
    written, n = 0, 0
    while written < size - 200:
        sentences = []
        for _ in range(8):
            word = "".join(syllables[(n // 16**k) % 16] for k in range(4)).capitalize()
            sentences.append(f"{names[n % 8]} said the bridge of {word} was closed on day {n % 997}.")
            n += 1
        paragraph = "<p>" + " ".join(sentences) + "</p>\n"
        parts.append(paragraph)
        written += len(paragraph)
    parts.append("</article></body></html>\n")
    path.write_text("".join(parts), encoding="utf-8")
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--page-bytes", type=int, default=9_900_000, help="0: bombs only.")
    args = parser.parse_args()
    console = Console()

    Bombs.served = bombs()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Bombs)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    baseline = child(FETCH, "-")
    table = Table("bomb", "body bytes", "outcome", "peak RSS growth over the baseline child (MiB)")
    try:
        for coding, body in Bombs.served.items():
            url = f"http://127.0.0.1:{server.server_address[1]}/{coding.replace(', ', '-')}"
            fetched = child(FETCH, url)
            growth = (int(fetched["peak_kb"]) - int(baseline["peak_kb"])) / 1024
            table.add_row(coding, f"{len(body):,}", str(fetched["outcome"]), f"{growth:.1f}")
    finally:
        server.shutdown()
    console.print(f"baseline child (imports only): peak {int(baseline['peak_kb']) / 1024:.0f} MiB")
    console.print(table)
    if args.page_bytes:
        huge_page_row(console, args.page_bytes)


def huge_page_row(console: Console, page_bytes: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "huge.html"
        sentences = huge_page(page, page_bytes)
        size = page.stat().st_size
        started = time.perf_counter()
        parsed = child(PARSE, str(page))
        parse_seconds = time.perf_counter() - started
        started = time.perf_counter()
        command = [sys.executable, "-m", "livedesk", "--db", str(Path(tmp) / "x.db"), "ingest", str(page)]
        ingest = subprocess.run(
            ["/usr/bin/time", "-f", "%M", *command], capture_output=True, text=True, timeout=1800, cwd=REPO
        )
        ingest_seconds = time.perf_counter() - started
    peak_kb = int(ingest.stderr.strip().splitlines()[-1])
    pages = Table("huge page", "bytes", "sentences", "seconds", "peak RSS (MiB)", "exit")
    pages.add_row(
        "lxml parse only (baseline)",
        f"{size:,}",
        f"{sentences:,}",
        f"{parse_seconds:.1f}",
        f"{int(parsed['peak_kb']) / 1024:.0f}",
        "0",
    )
    pages.add_row(
        "livedesk ingest",
        f"{size:,}",
        f"{sentences:,}",
        f"{ingest_seconds:.1f}",
        f"{peak_kb / 1024:.0f}",
        str(ingest.returncode),
    )
    console.print(pages)


if __name__ == "__main__":
    main()
