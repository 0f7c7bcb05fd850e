"""The JSON log line: the call's extra fields, nothing of the terminal."""

from __future__ import annotations

import json
import logging

from graph.logs import JsonFormatter


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
