"""Setting a database up: create it where the server allows (PostgreSQL), then bring its schema up to date."""

from __future__ import annotations

from dataclasses import dataclass

from livedesk.store import Store
from livedesk.store.engine import create_database


@dataclass(frozen=True)
class Initialised:
    dialect: str
    created: bool  # the PostgreSQL database did not exist and was created


def init_database(url: str) -> Initialised:
    """Create the database of `url` if missing (a SQLite file is created on first use), then migrate it."""
    created = create_database(url)
    with Store.open(url) as store:
        return Initialised(store.dialect, created)
