"""The ``Sign`` header of the Lipa Later open platform: one small, replaceable function.

The open platform does not publish its algorithm. This is the documented default
(``PROVIDERS.md``): base64 of HMAC-SHA256, keyed by ``app_secret``, over the lines

    METHOD
    /path/as/the/server/sees/it
    k1=v1&k2=v2            (query parameters sorted by name, values not URL-encoded)
    Timestamp              (Unix seconds)
    Noncestr
    body                   (the exact bytes sent, "" for none)

When Lipa Later confirms its real algorithm, replace :func:`sign` (or hand the connector another
function of the same signature); nothing else changes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Iterable

Signer = Callable[[str, str, str, Iterable[tuple[str, str]], str, str, str], str]


def sign(
    app_secret: str,
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    timestamp: str,
    nonce: str,
    body: str,
) -> str:
    """The ``Sign`` header value for one request."""
    canonical = "&".join(f"{k}={v}" for k, v in sorted(query, key=lambda kv: kv[0]))
    text = "\n".join([method.upper(), path, canonical, timestamp, nonce, body])
    digest = hmac.new(app_secret.encode(), text.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()
