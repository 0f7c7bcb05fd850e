"""The ``Sign`` header of the Lipa Later open platform: one small, replaceable function.

The open platform does not publish its algorithm. This is the documented default
(``PROVIDERS.md``, README "Lipa Later"): the standard base64 (with padding) of HMAC-SHA256,
keyed by ``app_secret``, over five parts joined by ``"\\n"``:

    METHOD                 upper case: GET, POST
    target                 the path as the server sees it (a base_url's own path included),
                           then, only when there is a query, "?" and its k=v pairs sorted by
                           name, joined by "&", not URL-encoded: the query cannot be changed
    Timestamp              Unix seconds, as sent in the Timestamp header
    Noncestr               as sent in the Noncestr header
    body                   the exact body sent, "" for none

So a schedule read signs ``"GET\\n/open/op/order/calculateSchedule/?countryId=10001&
loanProductId=2&orderNo=8800000001\\n1700000000\\nnonce-1\\n"`` (one line of the target).

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
    pairs = "&".join(f"{k}={v}" for k, v in sorted(query))
    target = f"{path}?{pairs}" if pairs else path
    text = "\n".join([method.upper(), target, timestamp, nonce, body])
    digest = hmac.new(app_secret.encode(), text.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()
