"""PostgreSQL LISTEN/NOTIFY: every web process hears every update, whichever process published it.

Each process keeps ONE connection listening on `CHANNEL` and fans what it hears out in-process through an
InProcessBus. Publishing is `SELECT pg_notify(...)` on a second connection, so it works from any process
(a worker publishes without subscribing). A process hears its own publications through the database too,
so local subscribers get each update exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import psycopg
import sqlalchemy as sa
from psycopg.conninfo import make_conninfo

from livedesk.publish.local import DEFAULT_BUFFER, InProcessBus, Subscription
from livedesk.publish.update import Update

CHANNEL = "livedesk_updates"

logger = logging.getLogger(__name__)

# TCP keep-alives notice a silently dropped connection (no FIN) in about a minute; an idle LISTEN
# connection would otherwise wait forever on a dead socket.
# Connection parameters (libpq keywords) for the bus's own connections; autocommit so NOTIFY goes out at once.
_CONNECT_PARAMETERS = {"connect_timeout": 10, "keepalives": 1, "keepalives_idle": 30}


def conninfo(url: sa.URL) -> str:
    """The libpq connection string of a SQLAlchemy `postgresql+psycopg://` URL, its query parameters included
    (e.g. `options=-csearch_path=...`)."""
    params: dict[str, object] = {
        "host": url.host,
        "port": url.port,
        "dbname": url.database,
        "user": url.username,
        "password": url.password,
    }
    for key, value in url.query.items():
        params[key] = value if isinstance(value, str) else value[-1]
    return make_conninfo("", **{key: str(value) for key, value in params.items() if value is not None})


class PostgresBus:
    def __init__(
        self, conninfo: str, *, buffer: int = DEFAULT_BUFFER, retry_delay: float = 1.0, max_retry_delay: float = 30.0
    ) -> None:
        self._conninfo = make_conninfo(conninfo, **_CONNECT_PARAMETERS)
        self._local = InProcessBus(buffer)
        self._retry_delay = retry_delay
        self._max_retry_delay = max_retry_delay
        self._listener: asyncio.Task[None] | None = None
        self._listening: psycopg.AsyncConnection | None = None
        self._publisher: psycopg.AsyncConnection | None = None
        self._publish_lock = asyncio.Lock()

    @property
    def subscribers(self) -> int:
        return self._local.subscribers

    @property
    def connected(self) -> bool:
        """Whether the LISTEN connection is open (updates from other processes arrive)."""
        return self._listening is not None and not self._listening.closed

    @property
    def listener_pid(self) -> int | None:
        """Server process id of the LISTEN connection (None before start)."""
        return None if self._listening is None else self._listening.info.backend_pid

    async def start(self) -> None:
        """Open the LISTEN connection; raises if the database cannot be reached now (later losses are retried)."""
        if self._listener is None:
            await self._listen_connect()
            self._listener = asyncio.create_task(self._listen(), name="livedesk-listen")

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        for connection in (self._listening, self._publisher):
            if connection is not None:
                await connection.close()
        self._listening = self._publisher = None
        await self._local.stop()

    async def publish(self, update: Update) -> None:
        payload = update.to_json()
        async with self._publish_lock:
            try:
                await self._notify(payload)
            except psycopg.OperationalError:
                # The connection broke since the last publish (e.g. a server restart): once more on a fresh one.
                if self._publisher is not None:
                    await self._publisher.close()
                self._publisher = None
                await self._notify(payload)

    def subscribe(self) -> Subscription:
        return self._local.subscribe()

    async def _notify(self, payload: str) -> None:
        if self._publisher is None:
            self._publisher = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
        await self._publisher.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))

    async def _listen_connect(self) -> None:
        connection = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
        await connection.execute(f"LISTEN {CHANNEL}")
        self._listening = connection

    async def _listen(self) -> None:
        while True:
            assert self._listening is not None
            try:
                async for notify in self._listening.notifies():
                    self._deliver(notify.payload)
            except psycopg.OperationalError as error:
                logger.warning("lost the LISTEN connection to PostgreSQL (%s); reconnecting", error)
            await self._listening.close()
            await self._reconnect()
            # Whatever was published while disconnected is gone: subscribers resume from the database.
            self._local.lag_all()

    async def _reconnect(self) -> None:
        delay = self._retry_delay
        while True:
            await asyncio.sleep(delay)
            try:
                await self._listen_connect()
            except psycopg.OperationalError as error:
                delay = min(delay * 2, self._max_retry_delay)
                logger.warning("cannot LISTEN on PostgreSQL (%s); retrying in %.1f s", error, delay)
            else:
                logger.info("listening on PostgreSQL again")
                return

    def _deliver(self, payload: str) -> None:
        try:
            update = Update.from_json(payload)
        except ValueError as error:
            logger.warning("ignoring a notification on %s: %s", CHANNEL, error)
            return
        self._local.fan_out(update)
