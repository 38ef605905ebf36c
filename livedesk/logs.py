"""Log lines as text for people or as one JSON object each for log collectors (LIVEDESK_LOG_FORMAT).

A JSON line holds time, level, logger and message, then whatever the code passed as `extra` (source_id, url,
article_id, outcome…), then the traceback if any. `logging_config` is the one configuration for the command line
and for uvicorn (which applies it in each of its worker processes too).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

LOG_FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Attributes every LogRecord has: anything else on a record came from `extra`.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
# Libraries that say something at INFO for every request or every start.
_QUIET_LOGGERS = ("httpx", "httpcore", "alembic", "asyncio")


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(
            (name, value)
            for name, value in vars(record).items()
            if name not in _RECORD_ATTRIBUTES and not name.startswith("_") and name not in entry
        )
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever sys.stderr is when a record comes (consoles and test runners replace it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _stream: TextIO) -> None:
        pass


def logging_config(log_format: str) -> dict[str, Any]:
    """The `logging.config.dictConfig` configuration for `log_format` ("text" or "json"; ValueError otherwise):
    INFO and above from livedesk, warnings from chatty libraries, all on stderr."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"LIVEDESK_LOG_FORMAT is one of {', '.join(LOG_FORMATS)}, not {log_format!r}")
    formatter = {"()": f"{__name__}.JsonFormatter"} if log_format == "json" else {"format": TEXT_FORMAT}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"livedesk": formatter},
        "handlers": {"stderr": {"()": f"{__name__}.StderrHandler", "formatter": "livedesk"}},
        "root": {"level": "INFO", "handlers": ["stderr"]},
        "loggers": {name: {"level": "WARNING"} for name in _QUIET_LOGGERS},
    }
