"""The JSON log line: the call's extra fields, nothing of the terminal."""

from __future__ import annotations

import json
import logging

from graph.logs import JsonFormatter
from providers.redact import MASK, SECRETS


def test_a_line_keeps_extra_fields_and_drops_uvicorns_colour_copy() -> None:
    record = logging.makeLogRecord(
        {
            "name": "uvicorn.error",
            "levelno": logging.INFO,
            "levelname": "INFO",
            "msg": "Started server process [%d]",
            "args": (42,),
            "color_message": "Started server process [\x1b[36m%d\x1b[0m]",
            "provider": "akinon",
        }
    )
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "Started server process [42]"
    assert line["provider"] == "akinon"
    assert "color_message" not in line


def test_each_line_has_its_own_seconds_timestamp() -> None:
    """The formatter formats the time once a second: lines a second apart still differ."""
    formatter = JsonFormatter()
    stamps = []
    for created in (1_700_000_000.1, 1_700_000_000.9, 1_700_000_001.2):
        record = logging.makeLogRecord({"msg": "x", "levelname": "INFO", "created": created})
        stamps.append(json.loads(formatter.format(record))["time"])
    expected = [formatter.formatTime(logging.makeLogRecord({"created": c}), "%Y-%m-%dT%H:%M:%S")
                for c in (1_700_000_000, 1_700_000_000, 1_700_000_001)]  # fmt: skip
    assert stamps == expected
    assert stamps[0] == stamps[1] != stamps[2]


def test_a_secret_is_masked_however_the_line_writes_it() -> None:
    """Masked after encoding, a secret with a quote was found only in its escaped form
    (``s3cr\\"et``); and one that is also a number broke the line: ``"attempt": [redacted]``."""
    SECRETS.add('s3cr"et\\pass')
    SECRETS.add("918273645")  # a numeric password, or a PIN
    record = logging.makeLogRecord(
        {
            "msg": 'login failed: s3cr"et\\pass',
            "levelname": "WARNING",
            "attempt": 918273645,
            "tried": ["a", "918273645"],
            "fine": 42,
        }
    )
    text = JsonFormatter().format(record)
    line = json.loads(text)
    assert line["message"] == f"login failed: {MASK}"
    assert (line["attempt"], line["tried"], line["fine"]) == (MASK, ["a", MASK], 42)
    assert "s3cr" not in text
    assert "918273645" not in text
