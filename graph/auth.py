"""API keys and scopes.

Clients send ``Authorization: Bearer <key>``; ``[server].api_keys`` maps each key to its
scopes. Fields that need a scope the key lacks answer ``FORBIDDEN`` on that field alone.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info

ORDERS_READ = "orders:read"
ORDERS_WRITE = "orders:write"
PINS_READ = "pins:read"
PII_READ = "pii:read"
RAW_READ = "raw:read"
ALL_SCOPES = (ORDERS_READ, ORDERS_WRITE, PINS_READ, PII_READ, RAW_READ)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: the key's name for logs (its first characters, never the key itself),
    its scopes, and ``id``, which tells this key from every other one (what is kept per key,
    such as idempotency keys, is kept under it) without revealing it."""

    name: str
    scopes: frozenset[str]
    id: str


def key_id(key: str) -> str:
    """A stable identifier of the whole key: two keys sharing their first characters differ
    here, the same key has the same one in every process, and the key cannot be read back."""
    return hashlib.sha256(b"gateway api key:" + key.encode()).hexdigest()[:32]


class ApiKeys:
    def __init__(self, keys: dict[str, list[str]]) -> None:
        # Each key's principal, made once: a request only finds its own.
        self._keys = {
            k: Principal(f"key-{k[:4]}…", frozenset(v), key_id(k)) for k, v in keys.items()
        }

    def authenticate(self, authorization: str | None) -> Principal | None:
        if not authorization:
            return None
        scheme, _, key = authorization.partition(" ")
        if scheme.lower() != "bearer" or not key:
            return None
        for known, principal in self._keys.items():
            # compare_digest: the time taken does not say how much of a key was right
            if hmac.compare_digest(known.encode(), key.strip().encode()):
                return principal
        return None


def _scope_permission(scope: str) -> type[BasePermission]:
    class HasScope(BasePermission):
        message = f"this field needs the scope {scope!r}"
        error_extensions = {"code": "FORBIDDEN", "scope": scope}

        def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
            principal: Principal | None = getattr(info.context, "principal", None)
            return principal is not None and scope in principal.scopes

    HasScope.__name__ = f"HasScope_{scope.replace(':', '_')}"
    return HasScope


CanReadOrders = _scope_permission(ORDERS_READ)
CanWriteOrders = _scope_permission(ORDERS_WRITE)
CanReadPins = _scope_permission(PINS_READ)
CanReadPii = _scope_permission(PII_READ)
CanReadRaw = _scope_permission(RAW_READ)
