"""API keys and scopes.

Clients send ``Authorization: Bearer <key>``; ``[server].api_keys`` maps each key to its
scopes. Fields that need a scope the key lacks answer ``FORBIDDEN`` on that field alone.
"""

from __future__ import annotations

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
    """Who is asking: the key's name (never the key itself) and its scopes."""

    name: str
    scopes: frozenset[str]


class ApiKeys:
    def __init__(self, keys: dict[str, list[str]]) -> None:
        self._keys = {k: frozenset(v) for k, v in keys.items()}

    def authenticate(self, authorization: str | None) -> Principal | None:
        if not authorization:
            return None
        scheme, _, key = authorization.partition(" ")
        if scheme.lower() != "bearer" or not key:
            return None
        for known, scopes in self._keys.items():
            # compare_digest: the time taken does not say how much of a key was right
            if hmac.compare_digest(known.encode(), key.strip().encode()):
                return Principal(f"key-{known[:4]}…", scopes)
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
