"""Relay cursors: an offset into one list with one filter, opaque to clients.

Kept apart from the schema's types so that the benchmark's workloads (and its baseline, which
imports them) can write the gateway's own cursor without importing strawberry.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from graph.errors import BadUserInput


def scope_of(list_name: str, flt: Any) -> str:
    """What a cursor is a cursor of: the list and the filter's given fields, as a short digest.
    An offset means nothing in another list, or in the same list filtered otherwise: such a
    cursor was taken silently, and the client got a page of something else. ``flt`` is a
    filter input (its fields left unset are not part of it) or a mapping of the given ones."""
    given = flt if isinstance(flt, dict) else _given(flt)
    text = f"{list_name}|{sorted(given.items())!r}"
    return hashlib.blake2s(text.encode(), digest_size=6).hexdigest()


def _given(flt: Any) -> dict[str, Any]:
    """The filter's given fields, each as its value (the same instant in any offset, the same
    amount however many zeros: "100" and "100.00" page on alike)."""
    fields = dataclasses.fields(flt)
    return {
        f.name: _value(getattr(flt, f.name)) for f in fields if getattr(flt, f.name) is not None
    }


def _value(value: Any) -> Any:
    if isinstance(value, datetime) and value.utcoffset() is not None:
        return value.astimezone(UTC).isoformat()
    if isinstance(value, Decimal) and value.is_finite():
        return format(value.normalize(), "f")
    if isinstance(value, list | tuple):
        return tuple(_value(v) for v in value)
    return value


def cursor_for(offset: int, scope: str) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}:{scope}".encode()).decode().rstrip("=")


def offset_after(cursor: str | None, scope: str) -> int:
    """The offset just after ``cursor``; a cursor we did not make, or made for another list or
    filter (``scope_of``), is ``BAD_USER_INPUT``."""
    if cursor is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, number, made_for = text.split(":")
        # No cursor made here has more digits (a 5,000-digit one went on to Akinon as page=).
        if prefix != "offset" or not (number.isascii() and number.isdigit() and len(number) < 10):
            raise ValueError
    except ValueError:
        raise BadUserInput(f"{cursor!r} is not a valid cursor", argument="after") from None
    if made_for != scope:
        raise BadUserInput(
            f"{cursor!r} is a cursor of another list or filter: page on with the filter it "
            "was given with",
            argument="after",
        )
    return int(number) + 1
