"""URLs livedesk is asked to fetch: the one check every entry point applies (sources, OPML, ingest targets)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

SCHEMES = ("http", "https")


def validate_source_url(url: str) -> str:
    """`url` normalised (surrounding blanks and the fragment dropped, scheme and host lower-cased, an empty path
    made "/"), or ValueError with a one-line reason: not http(s), no host, a bad port, spaces or control
    characters (a URL with a space is a copy-and-paste accident, not an address)."""
    text = url.strip()
    if not text:
        raise ValueError("empty URL")
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise ValueError(f"URL contains a space or control character: {text!r}")
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise ValueError(f"not an http(s) URL: {text}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"bad port in {text}") from None
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise ValueError(f"no host in {text}")
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    else:
        try:
            host.encode("idna")
        except UnicodeError:
            raise ValueError(f"bad host name in {text}") from None
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{host}" if userinfo else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
