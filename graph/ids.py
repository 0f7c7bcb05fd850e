"""Global ids: opaque, stable, and enough to find the record again.

An id is the URL-safe base64 (unpadded) of ``"<Type>:<provider>:<key>"``, where ``key`` is the
connector's own reference. Clients must treat ids as opaque; the format may change.
"""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache
from typing import NamedTuple

from graph.errors import BadUserInput
from providers.model import ProviderName

TYPES = frozenset({"Order", "OrderItem", "CancellationPlan", "CustomerAddress"})


class GlobalId(NamedTuple):
    type: str
    provider: ProviderName
    key: str


@lru_cache(maxsize=1 << 16)  # the same orders are read again and again; ids are pure
def encode(type_name: str, provider: ProviderName, key: str) -> str:
    raw = f"{type_name}:{provider.value}:{key}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(value: str, expected: str | None = None) -> GlobalId:
    """The parts of a global id; anything else is the caller's mistake, ``BAD_USER_INPUT``."""
    try:
        padded = value + "=" * (-len(value) % 4)
        type_name, provider, key = base64.urlsafe_b64decode(padded).decode().split(":", 2)
        gid = GlobalId(type_name, ProviderName(provider), key)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadUserInput(f"{value!r} is not a valid id") from None
    # Exactly as encoded: base64 decoding skips stray characters and takes padding, so
    # "<id>!!" found the record and answered "<id>", breaking a client's cache keyed by id.
    if gid.type not in TYPES or not gid.key or encode(*gid) != value:
        raise BadUserInput(f"{value!r} is not a valid id")
    if expected is not None and gid.type != expected:
        raise BadUserInput(f"{value!r} is the id of {_a(gid.type)}, not of {_a(expected)}")
    return gid


def _a(type_name: str) -> str:
    return f"{'an' if type_name[0] in 'AEIOU' else 'a'} {type_name}"
