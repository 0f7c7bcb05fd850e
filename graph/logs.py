"""Structured logs: one JSON object per line, with whatever ``extra`` the call gave."""

from __future__ import annotations

import logging
import sys
from typing import Any

import orjson

from providers.redact import SECRETS

# Record attributes that are not a call's ``extra``; uvicorn's ``color_message`` (the message
# again, with terminal colour codes) has no place in a JSON line either.
_STANDARD = frozenset(vars(logging.makeLogRecord({})).keys()) | {
    "message",
    "asctime",
    "color_message",
}


class JsonFormatter(logging.Formatter):
    _second = -1
    _stamp = ""

    def format(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:  # one strftime a second, not one a line
            self._second, self._stamp = second, self.formatTime(record, "%Y-%m-%dT%H:%M:%S")
        entry: dict[str, Any] = {
            "time": self._stamp,
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        # The last line of defence: no known secret leaves in a log line.
        return SECRETS.redact(orjson.dumps(entry, default=str).decode())


def configure(level: int = logging.INFO) -> None:
    # The logging HOWTO's "Optimization": a line shows neither its caller (found by walking the
    # stack for every record) nor the thread or process, so none of them is looked up.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
