"""The one upstream HTTP client: a single ``aiohttp.ClientSession`` for the app's life.

Every connector talks to its provider through an :class:`Upstream` made by :class:`HttpClient`
for it. The client owns what all providers share: the session and its connection pool, a total
deadline per call (a dripping body cannot outlive it), a concurrency cap per provider, the
request id sent upstream and the one that comes back, JSON decoding with orjson, and one log
line per call that never holds a header, a body or a query value.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

from providers.errors import BadResponse, ProviderTimeout, ProviderUnavailable
from providers.redact import SECRETS

log = logging.getLogger("commerce_graph.upstream")

# The gateway request this upstream call serves; set by the graph layer per request.
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


@dataclass(frozen=True, slots=True)
class UpstreamSettings:
    """What the shared client needs to know about one provider."""

    provider: str
    base_url: str
    timeout_s: float = 10.0
    max_concurrency: int = 64


@dataclass(slots=True)
class UpstreamResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes
    request_id: str | None
    provider: str = field(repr=False)

    def json(self) -> Any:
        """The body as JSON; a body that is not JSON is the provider's fault."""
        try:
            return orjson.loads(self.body) if self.body else None
        except orjson.JSONDecodeError:
            raise BadResponse(
                self.provider,
                f"malformed JSON in a {self.status} answer",
                request_id=self.request_id,
                http_status=self.status,
            ) from None


class HttpClient:
    """Owns the shared session; hands each connector its :class:`Upstream`."""

    def __init__(self, *, pool_size: int = 256, keepalive_s: float = 4.0) -> None:
        self._pool_size = pool_size
        self._keepalive_s = keepalive_s
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # Keep-alive shorter than the upstream's, so we never reuse a socket it closed.
            connector = aiohttp.TCPConnector(
                limit=self._pool_size,
                limit_per_host=0,
                keepalive_timeout=self._keepalive_s,
                ttl_dns_cache=300,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                json_serialize=lambda obj: orjson.dumps(obj).decode(),
                skip_auto_headers=("User-Agent",),
                headers={"User-Agent": "commerce-graph/0.1"},
            )
        return self._session

    def upstream(self, settings: UpstreamSettings) -> Upstream:
        return Upstream(self, settings)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class Upstream:
    """One provider's view of the shared client: its base URL, deadline and cap."""

    def __init__(self, client: HttpClient, settings: UpstreamSettings) -> None:
        self._client = client
        self.settings = settings
        self.provider = settings.provider
        self._base = settings.base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=settings.timeout_s)
        self._cap = asyncio.Semaphore(settings.max_concurrency)

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self._base}{path}"

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> UpstreamResponse:
        """Send one request; answer whatever status came back, raise only for transport faults.

        ``path`` is appended to the base URL unless it is already absolute (a ``next`` link).
        """
        url = self.url(path)
        send_headers = dict(headers or {})
        request_id = REQUEST_ID.get()
        if request_id:
            send_headers.setdefault("X-Request-ID", request_id)
        body = orjson.dumps(json) if json is not None else data
        if json is not None:
            send_headers.setdefault("Content-Type", "application/json")
        started = time.perf_counter()
        status: int | str = "error"
        try:
            async with self._cap:
                async with self._client.session.request(
                    method,
                    url,
                    params=params,
                    data=body,
                    headers=send_headers,
                    timeout=self._timeout,
                    allow_redirects=False,
                ) as response:
                    raw = await response.read()
                    status = response.status
                    return UpstreamResponse(
                        status=response.status,
                        headers=response.headers,
                        body=raw,
                        request_id=response.headers.get("X-Request-ID"),
                        provider=self.provider,
                    )
        except TimeoutError:
            status = "timeout"
            raise ProviderTimeout(
                self.provider,
                f"{self.provider} did not answer within {self.settings.timeout_s:g} s",
            ) from None
        except aiohttp.ClientError as exc:
            status = "unavailable"
            raise ProviderUnavailable(
                self.provider, SECRETS.redact(f"{self.provider} unreachable: {type(exc).__name__}")
            ) from None
        finally:
            log.info(
                "upstream call",
                extra={
                    "provider": self.provider,
                    "method": method,
                    "endpoint": _endpoint(path),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "request_id": request_id,
                },
            )


def _endpoint(path: str) -> str:
    """The path without its query: query values may carry personal data."""
    return path.split("?", 1)[0].split("://", 1)[-1]
