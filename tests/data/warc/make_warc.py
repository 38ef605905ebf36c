"""Writes pages.warc.gz (run once; the output is kept beside this script)."""

import gzip
from io import BytesIO
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

HTML = (
    b"<html><head><title>Ferry timetable changes</title></head><body><p>Ferries run hourly from June.</p></body></html>"
)
RSS = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Port news</title>'
    b"<item><title>Timetable</title><link>https://port.example.com/ferry</link></item></channel></rss>"
)
RECORDS = [
    ("request", "https://port.example.com/ferry", None, b""),
    ("response", "https://port.example.com/ferry", ("200 OK", "text/html; charset=iso-8859-1"), HTML),
    ("response", "https://port.example.com/gone", ("404 Not Found", "text/html"), b"<html>gone</html>"),
    ("response", "https://port.example.com/logo.png", ("200 OK", "image/png"), b"\x89PNG\r\n\x1a\n"),
    ("response", "https://port.example.com/feed.xml", ("200 OK", "application/rss+xml"), RSS),
    ("response", "https://port.example.com/second", ("200 OK", "application/xhtml+xml"), HTML),
    (
        "response",
        "https://port.example.com/zipped",
        ("200 OK", "text/html", "gzip"),
        gzip.compress(HTML, mtime=0),
    ),
]

with (Path(__file__).parent / "pages.warc.gz").open("wb") as out:
    writer = WARCWriter(out, gzip=True)
    for kind, uri, http, body in RECORDS:
        headers = None
        if http:
            fields = [("Content-Type", http[1]), *[("Content-Encoding", enc) for enc in http[2:]]]
            headers = StatusAndHeaders(http[0], fields, protocol="HTTP/1.1")
        elif kind == "request":
            headers = StatusAndHeaders("GET /ferry HTTP/1.1", [("Host", "port.example.com")], is_http_request=True)
        record = writer.create_warc_record(
            uri,
            kind,
            payload=BytesIO(body),
            http_headers=headers,
            warc_headers_dict={"WARC-Date": "2024-05-14T08:30:00Z"},
        )
        writer.write_record(record)
