"""Tokens that expire: fetched once however many requests want one, cached, refreshed early.

A token that cannot be had means the request it was wanted for was never sent: a fetch that
timed out, failed in transit, met a 5xx or answered nonsense is :class:`TokenUnavailable` (a
``NotSent``: retryable, and a create that met it placed nothing). A refusal (``AuthFailed``,
``RateLimited``, any other 4xx) keeps its own class, and says nothing was sent as well.

A refused login (``AuthFailed``: the configured credentials are wrong) is remembered for
``REFUSAL_MEMORY_S``: every request meanwhile gets the same refusal without asking again, so a
wrong password costs one login every half minute, not one per request (a provider may lock an
account that keeps failing). A token is renewed ``margin_s`` before it runs out, or halfway
through its life when that is shorter: a 25 s token is still used for 12.5 s.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from providers import errors as pe
from providers.http import DEADLINE, MAY_HAVE_APPLIED, READS, SENT
from providers.redact import SECRETS


@dataclass(frozen=True, slots=True)
class Token:
    value: str
    expires_at: float  # time.monotonic() seconds; float("inf") for a token that does not expire
    issued_at: float = 0.0  # time.monotonic() seconds when it was had (its life's start)


Fetch = Callable[[], Awaitable[Token]]


class _Answer(Protocol):
    status: int


A = TypeVar("A", bound=_Answer)

# What a token endpoint does that says nothing about our credentials: the token is not had.
_UNOBTAINED = (pe.ProviderTimeout, pe.ProviderUnavailable, pe.BadResponse, pe.ServerError)
# How long a refused login answers for itself before the credentials are tried again.
REFUSAL_MEMORY_S = 30.0
# Tokens a cache keeps registered as secrets: the one in use and the one it replaced.
KEPT_TOKENS = 2


class TokenUnavailable(pe.NotSent):
    """No token could be had, so the request that wanted it was never sent."""


class TokenCache:
    """A single-flight token cache.

    Concurrent callers share one fetch; a token is renewed ``margin_s`` before it runs out; an
    upstream's "invalid token" answer calls :meth:`invalidate` with the token that failed, so
    only the first of many failing requests triggers a new fetch.
    """

    def __init__(self, fetch: Fetch, *, provider: str, margin_s: float = 30.0) -> None:
        self._fetch = fetch
        self.provider = provider
        self._margin_s = margin_s
        self._token: Token | None = None
        # The fetch under way, shared by everyone who asks meanwhile: they get its token, or
        # its error (one refused login is one request, however many callers were waiting).
        self._inflight: asyncio.Future[Token] | None = None
        # The last refused login, and until when it answers for itself.
        self._refused: tuple[pe.AuthFailed, float] | None = None
        self.fetches = 0
        # The tokens this cache registered as secrets, oldest first (see ``_register``).
        self._registered: list[str] = []

    def _fresh(self, token: Token | None) -> bool:
        if token is None:
            return False
        margin = min(self._margin_s, (token.expires_at - token.issued_at) / 2)
        return token.expires_at - margin > time.monotonic()

    async def get(self) -> str:
        token = self._token
        if self._fresh(token):
            assert token is not None
            return token.value
        refused = self._refused
        if refused is not None:
            if time.monotonic() < refused[1]:
                raise refused[0]
            self._refused = None
        if self._inflight is None:
            self.fetches += 1
            self._inflight = asyncio.ensure_future(self._obtain())
            self._inflight.add_done_callback(self._fetched)
        # shield: a caller that gives up does not cancel the fetch the others wait for.
        fetched = asyncio.shield(self._inflight)
        query = DEADLINE.get()
        if query is None:
            return (await fetched).value
        try:  # a query waits for it until its own deadline; the fetch runs on for the others
            async with asyncio.timeout_at(query[0]):
                return (await fetched).value
        except TimeoutError:
            raise pe.ProviderTimeout(
                self.provider,
                f"could not obtain an access token within the query's {query[1]:g} s "
                "(query_timeout_s); nothing was sent",
            ) from None

    async def _obtain(self) -> Token:
        # The fetch's own task (its context a copy): its calls are no attempt of the request
        # that wants the token, whoever counts those (providers/http.py, ``counting``), and
        # share none of its reads: a token asked anew must be a new one. Nor is it bound by
        # that request's deadline: the others that wait for it have their own.
        SENT.set(None)
        READS.set(None)
        DEADLINE.set(None)
        try:
            return await self._fetch()
        except (pe.Rejected, pe.NotFound) as exc:
            # A token endpoint's 4xx (OAuth's 400 invalid_client, invalid_scope; a 404 from a
            # wrong base_url) refuses the gateway's credentials or setup, never the caller's
            # input or a record: it was BAD_USER_INPUT or NOT_FOUND.
            raise pe.AuthFailed(
                exc.provider,
                exc.message,
                http_status=exc.http_status,
                code=exc.code,
                request_id=exc.request_id,
            ) from exc
        except _UNOBTAINED as exc:
            if not exc.retryable and isinstance(exc, pe.BadResponse):
                raise  # a redirect: the base_url is wrong, and the next fetch would be too
            # A token request changes nothing at the provider: whether a lost one arrived does
            # not matter, and what it was for was not sent.
            why = exc.message.removesuffix(MAY_HAVE_APPLIED)
            raise TokenUnavailable(
                exc.provider,
                f"could not obtain an access token ({why}); nothing was sent",
                request_id=exc.request_id,
                http_status=exc.http_status,
            ) from exc

    def _fetched(self, done: asyncio.Future[Token]) -> None:
        self._inflight = None
        if done.cancelled():
            return
        failed = done.exception()
        if failed is None:
            self._token = done.result()
            self._register(self._token.value)
        elif isinstance(failed, pe.AuthFailed):
            self._refused = (failed, time.monotonic() + REFUSAL_MEMORY_S)

    def _register(self, value: str) -> None:
        """Register ``value`` as a secret, and forget the token before the one it replaces: a
        gateway up for weeks renews thousands of tokens, and each one kept made every log line
        slower to mask (one pattern alternative each). The one it replaces stays registered
        while requests sent with it may still be answered."""
        SECRETS.add(value)
        self._registered.append(value)
        if len(self._registered) > KEPT_TOKENS:
            old = self._registered.pop(0)
            if old not in self._registered:  # some providers issue the same token again
                SECRETS.discard(old)

    async def send(self, attempt: Callable[[str], Awaitable[A]], *, static: str | None = None) -> A:
        """``attempt`` with the static token, or with a cached one that a 401 renews once.

        A 401 means the provider did nothing with the request, so sending it again (even a
        create) is safe. A static token has nothing to renew: its 401 is the answer.
        """
        token = static or await self.get()
        answer = await attempt(token)
        if answer.status == 401 and not static:
            self.invalidate(token)
            answer = await attempt(await self.get())
        return answer

    def invalidate(self, value: str) -> None:
        if self._token is not None and self._token.value == value:
            self._token = None

    @staticmethod
    def expiring_in(value: str, seconds: float | None) -> Token:
        now = time.monotonic()
        return Token(value, now + seconds if seconds else float("inf"), now)
