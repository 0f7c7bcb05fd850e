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
        line = orjson.dumps(entry, default=str).decode()
        # The last line of defence: no known secret leaves in a log line. A line that holds
        # one (in any form it was registered in, escaped as JSON too) is written again with
        # each value masked before encoding: masked after, a secret that is also a number
        # (a PIN "4242" beside "attempt": 4242) left "attempt": [redacted], no JSON.
        if SECRETS.found(line):
            line = orjson.dumps(_masked(entry), default=str).decode()
        return line


def _masked(value: Any) -> Any:
    """``value`` with every secret masked in each of its strings, keys and numbers."""
    if isinstance(value, dict):
        return {_masked(k): _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    if value is None or isinstance(value, bool):
        return value
    text = str(value)  # a number, or anything else as default=str would write it
    masked = SECRETS.redact(text)
    return value if masked == text else masked


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
