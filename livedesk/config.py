"""One Settings object: every LIVEDESK_* environment variable, its default and its meaning."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from typing import Any

from livedesk.text import MAX_OUTLET_NAME


def _setting(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    database_url: str = _setting("sqlite:///livedesk.db", "SQLAlchemy URL of the database (SQLite or PostgreSQL).")
    allowed_hosts: str = _setting(
        "localhost,127.0.0.1,[::1]",
        "Comma-separated host names (any port) the web app answers to; a request naming another host in its Host "
        "header gets 400, so links, feeds and JSON-LD never carry a name a client made up. The default serves "
        "`livedesk serve` and `demo` on loopback; list the public name(s) when serving elsewhere.",
    )
    user_agent: str = _setting(
        "livedesk/0.1 (self-hosted news desk)",
        "User-Agent sent with every request; also the name matched in robots.txt.",
    )
    timeout: float = _setting(
        20.0,
        "Seconds one fetch may take in all: robots.txt, every retry and redirect, and the waits between retries "
        "(time queued behind other requests to the same host does not count).",
    )
    max_bytes: int = _setting(
        10_000_000, "Largest response body accepted, after decompression; checked while streaming."
    )
    max_redirects: int = _setting(5, "Redirects followed before giving up.")
    concurrency: int = _setting(16, "Requests in flight at once, all hosts together.")
    per_host_concurrency: int = _setting(2, "Requests in flight at once to one host.")
    per_host_delay: float = _setting(1.0, "Minimum seconds between two requests to the same host.")
    retries: int = _setting(3, "Retries after a 429, a 5xx or a connection error.")
    backoff_base: float = _setting(1.0, "First retry delay in seconds; doubles each retry (Retry-After wins).")
    allowed_networks: str = _setting(
        "",
        "Comma-separated CIDRs that may be fetched although private/loopback (e.g. 127.0.0.0/8 for the demo).",
    )
    resolve: str = _setting(
        "",
        "Comma-separated host=address pairs used instead of DNS, like curl --resolve; the address still passes "
        "the SSRF check (the offline demo gives each fictional outlet its own host name this way).",
    )
    trusted_proxies: str = _setting(
        "",
        "Comma-separated CIDRs of the reverse proxies in front of the web server: X-Forwarded-For is read only "
        "from them (the reader is its right-most address that is not one of them) and ignored from anyone else.",
    )
    session_idle: float = _setting(
        43_200.0, "Seconds a desk sign-in lasts without being used (12 hours: a shift, not the night)."
    )
    session_lifetime: float = _setting(
        604_800.0, "Seconds a desk sign-in lasts at most, used or not (7 days); then the password is asked again."
    )
    oidc_issuer: str = _setting(
        "",
        "Issuer URL of an OpenID Connect provider to sign in to the desk with (e.g. https://id.example.org/realms/"
        "news); empty: passwords only. The provider proves who someone is; the desk account of that name, its role "
        "and whether it is disabled are still decided here.",
    )
    oidc_client_id: str = _setting("", "The desk's client id at the OpenID Connect provider.")
    oidc_client_secret: str = _setting("", "The desk's client secret at the OpenID Connect provider.")
    oidc_username_claim: str = _setting("preferred_username", "The ID token claim holding the desk account's name.")
    outlet_names: str = _setting(
        "",
        "Comma-separated domain=name pairs naming outlets on the pages and in the API (e.g. "
        "meridian-wire.example=Meridian Wire); a configured name wins over the name an outlet's pages or feed give "
        "themselves, and an outlet named nowhere shows as its domain.",
    )
    respect_robots: bool = _setting(True, "Honour robots.txt.")
    poll_interval: float = _setting(900.0, "Seconds between two polls of a healthy source.")
    max_backoff: float = _setting(86_400.0, "Longest delay between polls of a failing source.")
    disable_after: int = _setting(10, "Consecutive failures after which a source is disabled.")
    extract_workers: int = _setting(
        0,
        "Processes extracting pages in parallel when an ingest has many (0: one per CPU; 1: in the ingesting "
        "process). Storing, syndication and stories stay in the ingesting process, in arrival order.",
    )
    metrics_token: str = _setting(
        "",
        "Bearer token that /metrics asks for (`Authorization: Bearer TOKEN`); empty: /metrics answers only clients on "
        "this machine (a loopback address, not forwarded by a proxy).",
    )
    log_format: str = _setting(
        "text", "Log lines as `text` (human-readable) or `json` (one JSON object per line, for log collectors)."
    )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Read LIVEDESK_<FIELD> variables; explicit overrides (e.g. from CLI options) win."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"LIVEDESK_{f.name.upper()}")
            if raw is None:
                continue
            kind: type = type(f.default)
            if kind is bool:
                values[f.name] = raw.strip().lower() in {"1", "true", "yes", "on"}
            else:
                values[f.name] = kind(raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(cls(), **values)

    def outlet_name_map(self) -> dict[str, str]:
        """`outlet_names` as {domain: name}; ValueError naming the first pair that is not domain=name."""
        return parse_outlet_names(self.outlet_names)

    @classmethod
    def describe(cls) -> list[tuple[str, str, str]]:
        """(variable, default, help) rows for the README and `livedesk config`."""
        return [(f"LIVEDESK_{f.name.upper()}", repr(f.default), f.metadata["help"]) for f in fields(cls)]


def parse_outlet_names(text: str) -> dict[str, str]:
    """ "a.example=A, b.example=B" as {"a.example": "A", "b.example": "B"} (domains lower-cased, "www." dropped)."""
    names: dict[str, str] = {}
    for pair in filter(None, (part.strip() for part in text.split(","))):
        domain, equals, name = pair.partition("=")
        domain, name = domain.strip().lower().removeprefix("www."), " ".join(name.split())
        if not equals or not domain or not name or len(name) > MAX_OUTLET_NAME:
            raise ValueError(f"not a domain=name pair of at most {MAX_OUTLET_NAME} characters: {pair[:100]!r}")
        names[domain] = name
    return names
