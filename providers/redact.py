"""Keeping secrets out of logs, errors and ``raw`` payloads.

Two tools: :data:`SECRETS`, a registry of the secret values this process knows (passwords,
client secrets, tokens as they are issued), whose :meth:`Secrets.redact` masks them in any
text; and :func:`scrub`, which drops secret-bearing keys (PINs, tokens, passwords) from a
provider payload before it is shown as ``raw``, and masks personal numbers in it: ``raw``
needs raw:read, a personal number pii:read, so ``raw`` never holds one, whatever the key's
scopes (the typed fields ``identityNumber``, ``taxNumber`` and ``personalNumber`` serve them
under pii:read).
"""

from __future__ import annotations

import re
from typing import Any

MASK = "[redacted]"

# Keys whose values never leave the gateway in a ``raw`` payload, compared case-insensitively
# and without separators ("access_token" and "accessToken" both become "accesstoken").
SECRET_KEYS = frozenset(
    {
        "pin",
        "pins",
        "code",
        "codes",
        "serial",
        "password",
        "secret",
        "clientsecret",
        "apisecret",
        "appsecret",
        "token",
        "accesstoken",
        "refreshtoken",
        "key",
        "apikey",
        "authorization",
    }
)

# Keys holding a personal number (identity, tax or personal number), compared as SECRET_KEYS
# are, in each provider's spelling: Akinon's address ``identity_number`` and ``tax_no``, Front
# Payment's ``customerDetails.personalNumber``, and the gateway's own field names.
PII_KEYS = frozenset(
    {
        "identitynumber",
        "identityno",
        "taxno",
        "taxnumber",
        "personalnumber",
    }
)

_SEPARATORS = re.compile(r"[_\-\s]")


class Secrets:
    """The secret values this process holds; any text can be masked against them."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, value: str | None) -> None:
        # Short values would mask innocent text ("1", "ok"); secrets are never that short.
        if value and len(value) >= 6 and value not in self._values:
            self._values.add(value)
            escaped = sorted((re.escape(v) for v in self._values), key=len, reverse=True)
            self._pattern = re.compile("|".join(escaped))

    def redact(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(MASK, text)


SECRETS = Secrets()


def _normal(key: object) -> str:
    return _SEPARATORS.sub("", str(key)).lower()


def scrub(payload: Any) -> Any:
    """A copy of ``payload`` without secret-bearing keys and with every personal number
    masked (a null or empty one is left as it is: it says nothing), at any depth."""
    if isinstance(payload, dict):
        kept: dict[Any, Any] = {}
        for k, v in payload.items():
            name = _normal(k)
            if name in SECRET_KEYS:
                continue
            kept[k] = MASK if name in PII_KEYS and v not in (None, "") else scrub(v)
        return kept
    if isinstance(payload, list):
        return [scrub(v) for v in payload]
    return payload
