"""A real HTTP/1.1 server on 127.0.0.1 (random port) for every test that fetches.

Routes are exact paths (the query string is ignored for routing); unknown paths answer 404, so /robots.txt
means "allow all" unless a test adds one. Each test gets a fresh server.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

CHUNK = 64 * 1024


@dataclass(frozen=True)
class RequestInfo:
    method: str
    path: str  # without the query string
    headers: dict[str, str]  # lower-cased names
    query: str = ""
    body: bytes = b""


Handler = Callable[[RequestInfo], tuple[int, dict[str, str], bytes]]


@dataclass(frozen=True)
class _Route:
    handler: Handler
    delay: float = 0.0


@dataclass
class LoopbackServer:
    """Routes, the log of received requests, and the server thread."""

    requests: list[RequestInfo] = field(default_factory=list)
    _routes: dict[str, _Route] = field(default_factory=dict)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _httpd: _Server | None = None

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def add(
        self,
        path: str,
        body: bytes | str = b"",
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> None:
        """A static route. With `etag`/`last_modified` it answers 304 to a matching conditional GET.

        A `Transfer-Encoding: chunked` header makes the body go out chunked, without Content-Length.
        """
        payload = body.encode() if isinstance(body, str) else body
        validators = {k: v for k, v in (("ETag", etag), ("Last-Modified", last_modified)) if v is not None}

        def static(request: RequestInfo) -> tuple[int, dict[str, str], bytes]:
            if _not_modified(request, etag, last_modified):
                return 304, validators, b""
            return status, {**validators, **(headers or {})}, payload

        self._routes[path] = _Route(static, delay)

    def add_handler(self, path: str, fn: Handler) -> None:
        """A dynamic route: `fn` runs in the server thread per request and returns (status, headers, body)."""
        self._routes[path] = _Route(fn)

    def start(self) -> None:
        self._httpd = _Server(("127.0.0.1", 0), _RequestHandler)
        self._httpd.loopback = self
        threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},  # shutdown() waits up to one poll interval
            name="loopback-http",
            daemon=True,
        ).start()

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping in a `delay`
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    def _respond(self, request: RequestInfo) -> tuple[int, dict[str, str], bytes]:
        self.requests.append(request)
        route = self._routes.get(request.path)
        if route is None:
            return 404, {"Content-Type": "text/plain"}, b"not found"
        if route.delay and self._stopping.wait(route.delay):
            raise ConnectionAbortedError("server stopping")
        return route.handler(request)


def _not_modified(request: RequestInfo, etag: str | None, last_modified: str | None) -> bool:
    # RFC 9110 §13.2.2: If-None-Match, when present, decides alone.
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return etag is not None and ("*" in tags or etag.removeprefix("W/") in tags)
    if_modified_since = request.headers.get("if-modified-since")
    if if_modified_since is None or last_modified is None:
        return False
    try:
        return parsedate_to_datetime(last_modified) <= parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    loopback: LoopbackServer

    def handle_error(self, request: object, client_address: object) -> None:
        # Clients hanging up early (timeouts, size caps) are expected in these tests, not errors.
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10  # idle keep-alive connections end on their own
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_GET

    def log_message(self, format: str, *args: object) -> None:
        pass  # the request log is `LoopbackServer.requests`

    def _serve(self) -> None:
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        request = RequestInfo(
            method=self.command,
            path=path,
            headers={name.lower(): value for name, value in self.headers.items()},
            query=query,
            body=self.rfile.read(length) if length else b"",
        )
        status, headers, body = self.server.loopback._respond(request)
        self.send_response(status)
        names = {name.lower() for name in headers}
        chunked = headers.get("Transfer-Encoding", headers.get("transfer-encoding", "")).lower() == "chunked"
        for name, value in headers.items():
            self.send_header(name, value)
        if not chunked and "content-length" not in names and status not in (204, 304):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "HEAD" or status in (204, 304):
            return
        if chunked:
            for start in range(0, len(body), CHUNK):
                piece = body[start : start + CHUNK]
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(body)


@pytest.fixture
def http_server() -> Iterator[LoopbackServer]:
    server = LoopbackServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
