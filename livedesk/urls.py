"""URLs: the check every entry point applies to a URL it is asked to fetch, canonical form, the hash articles
are keyed by, the outlet a URL or host belongs to; the media type and charset a Content-Type names; and lists of
networks in settings."""

from __future__ import annotations

import hashlib
import ipaddress
from urllib.parse import urlsplit, urlunsplit

import tld
from courlan import normalize_url

__all__ = [
    "article_identity",
    "canonicalize_url",
    "outlet",
    "parse_content_type",
    "parse_networks",
    "registrable_domain",
    "url_hash",
    "validate_source_url",
]

SCHEMES = ("http", "https")
# Longer is no address anyone types or a feed links to (servers commonly refuse request lines past 8 KB).
MAX_URL_CHARS = 2048

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[IPNetwork, ...]:
    """A settings list of CIDRs ("127.0.0.0/8, ::1/128") → networks; a bad CIDR raises ValueError."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip())


def canonicalize_url(url: str) -> str:
    """Lower-cased host, default port and tracking parameters (utm_*, fbclid, gclid, …) removed, no fragment."""
    try:
        normalized = normalize_url(url.strip())
    except ValueError:
        normalized = url.strip()
    parts = urlsplit(normalized)
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, parts.query, ""))


def url_hash(canonical_url: str) -> str:
    return hashlib.sha256(canonical_url.encode()).hexdigest()


def article_identity(page_url: str, canonical_url: str) -> str:
    """The URL an article is keyed by: its canonical URL when on the page's own site, else the page's URL.

    A canonical link on another site (a copy crediting its original) is evidence for the syndication stage, not the
    page's identity: trusting it would let any page overwrite another outlet's article."""
    if registrable_domain(canonical_url) == registrable_domain(page_url):
        return canonicalize_url(canonical_url)
    return canonicalize_url(page_url)


def registrable_domain(url_or_host: str) -> str:
    """'https://www.bbc.co.uk/x' -> 'bbc.co.uk'; hosts without a public suffix (localhost, IPs) stay as they are."""
    value = url_or_host.strip().lower()
    domain = tld.get_fld(value, fix_protocol=True, fail_silently=True)
    if domain:
        return domain
    host = value.split("://", 1)[-1].split("/", 1)[0].split("@")[-1]
    host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    labels = host.split(".")
    if len(labels) < 3 or all(label.isdigit() for label in labels):
        return host
    # A suffix the public list does not know (reserved names such as .example or .test, intranets): assume a
    # one-label suffix, as most are, so "www.wire.example" and "wire.example" are the same outlet.
    return ".".join(labels[-2:])


def outlet(domain_or_url: str) -> str:
    """The outlet a domain or URL belongs to: 'https://www.cnn.com/x' and 'cnn.com' are both 'cnn.com'."""
    return registrable_domain(domain_or_url).removeprefix("www.")


def validate_source_url(url: str) -> str:
    """`url` normalised (surrounding blanks and the fragment dropped, scheme and host lower-cased, an empty path
    made "/"), or ValueError with a one-line reason: not http(s), no host, a bad port, spaces or control
    characters (a URL with a space is a copy-and-paste accident, not an address)."""
    text = url.strip()
    if not text:
        raise ValueError("empty URL")
    if len(text) > MAX_URL_CHARS:
        raise ValueError(f"URL longer than {MAX_URL_CHARS} characters")
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
    if "@" in parts.netloc:
        # It would be stored, listed and exported in clear.
        raise ValueError(f"credentials in a URL are not accepted: {parts.scheme}://…@{host}")
    netloc = host
    if port is not None:
        netloc = f"{netloc}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def parse_content_type(value: str | None) -> tuple[str | None, str | None]:
    """'Text/HTML; charset="UTF-8"' → ("text/html", "utf-8")."""
    if not value:
        return None, None
    media_type, *params = value.split(";")
    charset = None
    for param in params:
        name, _, param_value = param.partition("=")
        if name.strip().lower() == "charset" and param_value.strip().strip("\"'"):
            charset = param_value.strip().strip("\"'").lower()
    return media_type.strip().lower() or None, charset
