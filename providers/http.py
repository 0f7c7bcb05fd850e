"""The one upstream HTTP client: a single ``aiohttp.ClientSession`` for the app's life.

Every connector talks to its provider through an :class:`Upstream` made by :class:`HttpClient`
for it. The client owns what all providers share: the session and its connection pool (no
cookie jar: what one call's answer sets never reaches the next call), a total
deadline per call (a dripping body cannot outlive it), a concurrency cap per provider (the
only bound on connections: a provider that hangs never takes another's), where a request goes
(below the provider's base URL; a link the provider answered, only at that URL's origin, so
its credentials go nowhere else), the request id sent upstream and the one that comes back,
JSON decoding with orjson, one log line per attempt that never holds a header, a body or
a query value, and the reads one GraphQL operation shares (:class:`Reads`): a GET it asks
twice, from any resolver or connector, goes upstream once.

Resilience (``providers/resilience.py``) lives here too, so every connector gets it by calling
``self.up.request``: a circuit breaker per provider, retries with jittered backoff under a retry
budget, ``Retry-After`` honoured. Only a request safe to repeat is retried after a 429, a
500/502/503/504 or a reset: by method a GET or HEAD, unless the caller says otherwise
(``safe=False`` for a GET that changes state, like Lipa Later's acceptContract). Any other
request only when the connect failed and nothing was sent; one that timed out or broke after it
may have been sent is raised not ``retryable``. The deadline covers the whole call, retries and
waits included.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import re
import time
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import aiohttp
import orjson

from providers.errors import (
    BadResponse,
    CircuitOpen,
    NotSent,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    QueueTimeout,
    ServerError,
    StatusError,
    error_for_status,
)
from providers.redact import SECRETS, without
from providers.resilience import Circuit, CircuitBreaker, Policy, RetryBudget, backoff, retry_after

log = logging.getLogger("commerce_graph.upstream")

# The gateway request this upstream call serves; set by the graph layer per request.
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
# The client's name for the operation it runs (GraphQL operationName), for the same log lines.
OPERATION: contextvars.ContextVar[str | None] = contextvars.ContextVar("operation", default=None)
# When the query this call serves must be answered (event loop time) and its whole budget in
# seconds: set per query by the graph layer (``[server] query_timeout_s``). Every call of the
# query ends by then, whichever comes first of it and the provider's own ``timeout_s``: a
# chain of reads (plans, their orders, their items, ...) is bounded as a whole, not by the sum
# of its calls' deadlines.
DEADLINE: contextvars.ContextVar[tuple[float, float] | None] = contextvars.ContextVar(
    "deadline", default=None
)


class Afterwards:
    """What a request owes once its caller has its answer: each upstream attempt's observers
    (metrics) and its entry in the request's log line (:attr:`calls`, which graph/observe.py
    writes in its ``graphql request`` line). At concurrency 1 that is work no longer between
    the caller and its answer. Work noted once the list has run (a call that outlives its
    request) runs at once, and is told there is no list: its entry is its own line."""

    __slots__ = ("_work", "_done", "calls")

    def __init__(self) -> None:
        self._work: list[Callable[[list[dict[str, Any]] | None], None]] = []
        self._done = False
        # The request's upstream attempts, in the order they ended, as its line lists them.
        self.calls: list[dict[str, Any]] = []

    def add(self, work: Callable[[list[dict[str, Any]] | None], None]) -> None:
        if self._done:
            work(None)
        else:
            self._work.append(work)

    def run(self) -> None:
        self._done = True
        for work in self._work:
            work(self.calls)
        self._work.clear()


AFTERWARDS: contextvars.ContextVar[Afterwards | None] = contextvars.ContextVar(
    "afterwards", default=None
)
# Told of every attempt: provider, method, path, status (or timeout/...), seconds. Metrics use it.
UpstreamObserver = Callable[[str, str, str, "int | str", float], None]


class Sent:
    """The attempts that may have reached a provider while it counted (see :func:`counting`),
    and how many of a request not safe to repeat may have been applied: answered with anything
    but a refusal (a 3xx or 4xx, or a refusal under a 2xx that the connector marks with
    :meth:`UpstreamResponse.refused`), or lost."""

    __slots__ = ("attempts", "applied")

    def __init__(self) -> None:
        self.attempts = 0
        self.applied = 0

    @property
    def may_have_applied(self) -> bool:
        return self.applied > 0


# The count the attempts made in this context add to, if anyone counts (see :func:`counting`).
SENT: contextvars.ContextVar[Sent | None] = contextvars.ContextVar("sent", default=None)


@contextlib.contextmanager
def counting(sent: Sent | None = None) -> Iterator[Sent]:
    """Count the attempts that may reach a provider within the block, so a failure can be told
    to have sent nothing (an attempt counts once it has its connection slot: a body that could
    not be encoded, a token that could not be had or a wait for the slot cut short sent nothing).
    Tasks started within share the count; one that is no part of the request it was started
    for (a token fetch, ``providers/auth.py``) sets ``SENT`` to ``None`` first."""
    sent = sent or Sent()
    token = SENT.set(sent)
    try:
        yield sent
    finally:
        SENT.reset(token)


# What a shared read is known by: the provider, the URL and the query parameters.
ReadKey = tuple[str, str, tuple[tuple[str, str], ...]]


class Reads:
    """The GETs one GraphQL operation has sent (see :func:`sharing_reads`), by provider and URL.

    The same read asked again in the same operation, while it is on its way or after it was
    answered, is answered by the first one's answer, from any resolver or connector: an order
    item's order is the order its provider already read to find the item (Front Payment,
    Kalixo, Lipa Later hold items inside their orders), and two aliases of one list are one
    page. Only a 2xx answer is kept once it is in, until a connector finds a refusal under it
    (:meth:`UpstreamResponse.refused`): a refusal (a token that expired meanwhile) is asked
    again. Any request that may change something (a write, a GET marked
    ``safe=False``) forgets every kept answer, before it is sent and once it is answered, so
    a mutation's re-read sees what the mutation did.
    """

    __slots__ = ("_answers", "_open")

    def __init__(self) -> None:
        self._answers: dict[ReadKey, asyncio.Future[UpstreamResponse]] = {}
        self._open = True

    def forget(self) -> None:
        self._answers.clear()

    def close(self) -> None:
        """Keep nothing from now on: the operation is over. A context outlives its operation
        wherever a callback was scheduled in it (a pooled connection's timer): the answers it
        kept, whole bodies, pinned 260 MB at c = 64 (tests/benchmarks/HISTORY.md)."""
        self._open = False
        self._answers.clear()

    async def shared(
        self,
        key: ReadKey,
        send: Callable[[], Awaitable[UpstreamResponse]],
    ) -> UpstreamResponse:
        if not self._open:
            return await send()
        while (pending := self._answers.get(key)) is not None:
            try:
                # shield: a waiter that gives up does not cancel the read the others wait for
                answer: UpstreamResponse = await asyncio.shield(pending)
                return answer
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not pending.cancelled() or (task is not None and task.cancelling()):
                    raise
                # the sender was cancelled (its client went away), not this waiter: send anew
        future: asyncio.Future[UpstreamResponse] = asyncio.get_running_loop().create_future()
        self._answers[key] = future
        try:
            response = await send()
        except BaseException as exc:
            if self._answers.get(key) is future:
                del self._answers[key]
            if isinstance(exc, asyncio.CancelledError):
                future.cancel()
            else:
                future.set_exception(exc)
                future.exception()  # retrieved: a read no one else waited for logs nothing
            del future  # the traceback holds this frame: not the future that holds exc
            raise
        future.set_result(response)
        if 200 <= response.status < 300 and self._open:
            response.shared_as = key  # until a connector finds a refusal under it
        elif self._answers.get(key) is future:
            del self._answers[key]
        return response

    def unshare(self, key: ReadKey, answer: UpstreamResponse) -> None:
        """Keep ``answer`` for no later asker (:meth:`UpstreamResponse.refused`)."""
        kept = self._answers.get(key)
        if kept is not None and kept.done() and not kept.cancelled() and kept.result() is answer:
            del self._answers[key]


# The reads shared in this context, if an operation shares them (see :func:`sharing_reads`).
READS: contextvars.ContextVar[Reads | None] = contextvars.ContextVar("reads", default=None)


@contextlib.contextmanager
def sharing_reads() -> Iterator[Reads]:
    """Share the GETs made within the block (:class:`Reads`); the graph layer opens one per
    operation. Tasks started within share them; one that is no part of the operation it was
    started for (a token fetch, ``providers/auth.py``) sets ``READS`` to ``None`` first."""
    reads = Reads()
    token = READS.set(reads)
    try:
        yield reads
    finally:
        READS.reset(token)
        reads.close()


# Headers made anew for each attempt: a provider that signs a timestamp and a nonce (Lipa
# Later) must not have a retry resend the first attempt's signature.
HeaderFactory = Callable[[], Mapping[str, str]]

# Requests in flight to one provider by default (``max_concurrency``). The cap is sized for
# fan-out: 64 queries at once, each reading twice from one provider (an order's repayment
# schedule and credit status), all go at once; at 64, half of them queued behind the rest for
# a whole upstream round trip (tests/benchmarks/HISTORY.md, W4).
MAX_CONCURRENCY = 128
# The shared pool has no limit of its own: the providers' caps are the bound. A call holds its
# provider's cap for as long as it holds a connection, so the connections in use never exceed
# the sum of the caps. A pool limit below that sum would let providers that hang take every
# connection, and a healthy provider's calls would wait for one (sending nothing) until their
# deadline and count against its breaker; a limit at or above it would never bind.
POOL_LIMIT = 0  # aiohttp's "no limit"
USER_AGENT = "commerce-graph/0.1"  # on every call, in place of aiohttp's own


@dataclass(frozen=True, slots=True)
class UpstreamSettings:
    """What the shared client needs to know about one provider."""

    provider: str
    base_url: str
    timeout_s: float = 10.0
    max_concurrency: int = MAX_CONCURRENCY
    policy: Policy = Policy()


@dataclass(slots=True)
class UpstreamResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes
    request_id: str | None
    provider: str = field(repr=False)
    # The count this answer added to, as a write that may have been applied (``Sent``).
    counted_in: Sent | None = field(default=None, repr=False)
    # Where the operation keeps this answer for its next asker, if it does (``Reads``): a key,
    # not a function of the Reads, which would make the answer and its future a cycle that
    # only the cyclic collector frees (graph/heap.py: a request must leave none).
    shared_as: ReadKey | None = field(default=None, repr=False)

    def refused(self) -> None:
        """This answer, whatever its status, is the provider refusing the request (an
        envelope's ``success: false`` under a 200): nothing was applied, so it no longer counts
        as a write that may have been (a Lipa Later write refused "invalid token", then sent
        again with a new token, made every later failure of the step not retryable). Nor is
        it kept for the operation's next read of the same URL (``Reads``): that one is asked
        again, with the token renewed."""
        if self.counted_in is not None:
            self.counted_in.applied -= 1
            self.counted_in = None
        reads = READS.get()
        if self.shared_as is not None and reads is not None:
            reads.unshare(self.shared_as, self)
            self.shared_as = None

    def json(self) -> Any:
        """The body as JSON; a body that is not JSON is the provider's fault."""
        try:
            return orjson.loads(self.body) if self.body else None
        except orjson.JSONDecodeError:
            raise self.bad(f"malformed JSON in a {self.status} answer") from None

    def bad(self, message: str) -> BadResponse:
        """This answer as no answer the provider's page gives (``BadResponse``), with its
        status and request id, as every connector reports one."""
        return BadResponse(
            self.provider, message, request_id=self.request_id, http_status=self.status
        )

    @property
    def retry_after(self) -> float | None:
        """The ``Retry-After`` header in seconds."""
        return retry_after(self.headers.get("Retry-After"))

    def error(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        field: list[str] | None = None,
        body: Any = None,
    ) -> StatusError:
        """The tree's error for this answer: its status (or the envelope's), request id and
        ``Retry-After`` filled in, so every connector reports them alike. Any but a 5xx is a
        refusal, which applied nothing (:meth:`refused`)."""
        error = error_for_status(
            self.provider,
            status if status is not None else self.status,
            message,
            code=code,
            field=field,
            request_id=self.request_id,
            retry_after=self.retry_after,
            body=body,
        )
        if not isinstance(error, ServerError):
            self.refused()
        return error


class HttpClient:
    """Owns the shared session; hands each connector its :class:`Upstream`."""

    def __init__(self, *, keepalive_s: float = 4.0) -> None:
        self._keepalive_s = keepalive_s
        self._session: aiohttp.ClientSession | None = None
        self.closed = False  # for good: a call still under way then makes no new session
        # One breaker per provider, shared by every Upstream made for it.
        self._breakers: dict[str, CircuitBreaker] = {}
        self.observers: list[UpstreamObserver] = []

    @property
    def session(self) -> aiohttp.ClientSession:
        if self.closed:  # Upstream._attempt checks first: this is a bug's guard
            raise RuntimeError("the shared HTTP client is closed")
        if self._session is None or self._session.closed:
            # Keep-alive shorter than the upstream's, so we never reuse a socket it closed.
            connector = aiohttp.TCPConnector(
                limit=POOL_LIMIT,  # the per-provider caps bound it (see POOL_LIMIT)
                limit_per_host=0,
                keepalive_timeout=self._keepalive_s,
                ttl_dns_cache=300,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                # One session serves every caller: a cookie a provider sets for one call must
                # not ride along on the next, made for someone else. No provider's auth uses one.
                cookie_jar=aiohttp.DummyCookieJar(),
                json_serialize=lambda obj: orjson.dumps(obj).decode(),
                # Given here, it takes the place of aiohttp's own (which a ``skip_auto_headers``
                # would also drop, at the cost of two header copies for every request).
                headers={"User-Agent": USER_AGENT},
            )
            # aiohttp on its own resends a GET, HEAD, PUT or DELETE once, unseen, when the
            # connection drops mid-request (after the request may have arrived). Whether a
            # request is sent again is decided in one place, Upstream.request, which knows
            # what is safe to repeat (a GET marked safe=False is not): that resend is off.
            # aiohttp has no public switch; its own test client turns off the same attribute.
            self._session._retry_connection = False
        return self._session

    def upstream(self, settings: UpstreamSettings) -> Upstream:
        return Upstream(self, settings)

    def breaker(self, settings: UpstreamSettings) -> CircuitBreaker:
        policy = settings.policy
        return self._breakers.setdefault(
            settings.provider,
            CircuitBreaker(settings.provider, policy.circuit_failures, policy.circuit_reset_s),
        )

    def circuit(self, provider: str) -> Circuit:
        """The provider's circuit state (``CLOSED`` for one never called)."""
        found = self._breakers.get(provider)
        return found.state if found else Circuit.CLOSED

    async def close(self) -> None:
        self.closed = True
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
        self._origin = urlsplit(self._base)[:2]  # scheme and host[:port]
        self._cap = asyncio.Semaphore(settings.max_concurrency)
        self.policy = settings.policy
        self.breaker = client.breaker(settings)
        self.budget = RetryBudget(
            self.policy.retry_budget, self.policy.retry_floor, self.policy.budget_window_s
        )

    def url(self, path: str) -> str:
        """Where ``path`` is asked: below the base URL. An absolute URL, which only a provider
        gives (a ``next`` link), is asked at the base URL's origin, taking only its path and
        query: the request carries the provider's credentials, which go nowhere else (a link
        may name another host or port, or ``http://`` from a service behind a TLS-terminating
        proxy)."""
        try:
            link = urlsplit(path)
            if not link.netloc and path.startswith("/"):
                return f"{self._base}{path}"
            if not link.netloc:
                # A relative link ("?page=2", ".evil.example/x", ":8443/x"): pasted after
                # the base URL it would name another host or port. It is resolved as a
                # browser would, against the base URL, and asked at its origin like any link.
                link = urlsplit(urljoin(f"{self._base}/", path))
        except ValueError:  # "http://[::1/": a link that is no URL; a path always splits
            raise BadResponse(self.provider, "answered a link that is not a URL") from None
        return urlunsplit((*self._origin, link.path, link.query, ""))

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | HeaderFactory | None = None,
        safe: bool | None = None,
        masked: Collection[str] = (),
    ) -> UpstreamResponse:
        """Send one request; answer whatever status came back, raise only for transport faults.

        ``path`` is appended to the base URL; an absolute one (a ``next`` link) is asked at
        the base URL's origin (:meth:`url`).
        ``headers`` may be a function, called once per attempt (for per-request signatures).
        The provider's ``timeout_s`` bounds the whole call, retries included. A request safe
        to repeat is tried again after a 429 (waiting ``Retry-After`` when it fits the
        deadline), a 500/502/503/504 or a broken connection; any request after a connect that
        sent nothing. ``safe`` says whether repeating it is harmless: ``None`` (the default)
        decides by method (GET and HEAD are safe), ``False`` marks a GET that changes state,
        which is then treated exactly like a write. ``masked`` names headers whose values are
        made anew for each request (a signature): one a request is too many to register as
        secrets (providers/redact.py), so an upstream that echoes them finds them masked in the
        answer to the request that carried them, before anything reads it. The last answer is
        otherwise returned as it came, so the connector still picks the error class. A retry
        that fails in transit returns the answer it retried; one that runs into the deadline
        after a broken connection raises that connection's failure.

        A call whose deadline passes while it waits for one of the provider's
        ``max_concurrency`` slots sent nothing: ``QueueTimeout`` (a ``NotSent``), not held
        against the provider's breaker. A request not safe to repeat whose attempt timed out
        or broke after it may have been sent raises with ``retryable`` false.

        Within an operation that shares its reads (:class:`Reads`), a GET already asked is
        answered by that answer, and any other request forgets them.
        """
        verb = method.upper()
        repeatable = verb in _READS if safe is None else safe

        def send() -> Awaitable[UpstreamResponse]:
            return self._send(method, path, params, json, data, headers, repeatable, masked)

        reads = READS.get()
        if reads is None:
            return await send()
        if not repeatable:
            reads.forget()
            try:
                return await send()
            finally:
                reads.forget()
        if verb != "GET":
            return await send()
        query = tuple(params.items()) if params else ()
        return await reads.shared((self.provider, self.url(path), query), send)

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        json: Any,
        data: Any,
        headers: Mapping[str, str] | HeaderFactory | None,
        repeatable: bool,
        masked: Collection[str],
    ) -> UpstreamResponse:
        """:meth:`request`'s call, its attempts and their retries."""
        request_id = REQUEST_ID.get()
        body = orjson.dumps(json) if json is not None else data

        def headers_for_attempt() -> dict[str, str]:
            send = dict((headers() if callable(headers) else headers) or {})
            if request_id:
                send.setdefault("X-Request-ID", request_id)
            if json is not None:
                send.setdefault("Content-Type", "application/json")
            return send

        deadline = asyncio.get_running_loop().time() + self.settings.timeout_s
        shared = DEADLINE.get()
        if shared is not None and shared[0] < deadline:
            deadline = shared[0]
        self.budget.request()
        attempt = 0
        # What a retry is trying to better: an answer, or a failure in transit.
        answered: UpstreamResponse | None = None
        broke: ProviderUnavailable | None = None
        while True:
            sent = headers_for_attempt()
            try:
                response = await self._attempt(
                    method, path, params, body, sent, deadline, attempt, repeatable
                )
            except (ProviderTimeout, ProviderUnavailable) as failed:
                # A retried request lost in transit says less than the answer it retried: that
                # answer is returned, and the connector maps it. One the deadline cut off (in
                # flight, or still queued for the cap) says less than the broken connection it
                # retried: that failure is raised. (An unrepeatable request's timeout in flight
                # stands: it may have reached the provider.)
                if answered is not None:
                    return answered
                if broke is not None and (
                    isinstance(failed, QueueTimeout)
                    or (repeatable and isinstance(failed, ProviderTimeout))
                ):
                    raise broke from None
                if isinstance(failed, CircuitOpen):
                    raise  # retrying would only turn a fast failure into a slow one
                # A broken connection may have reached the provider: only a repeatable request
                # (a read, unless marked unsafe) is sent again. A connect that sent nothing is
                # safe for any request; a timeout is not.
                delay = None
                if isinstance(failed, NotSent) or (
                    repeatable and isinstance(failed, ProviderUnavailable)
                ):
                    delay = self._retry_delay(attempt, None, deadline)
                    broke = failed
                if delay is None:
                    raise
            else:
                if masked:  # only for the few requests that carry a per-request secret
                    response.body = without(response.body, (sent[h] for h in masked if h in sent))
                if not repeatable or response.status not in _RETRY_STATUSES:
                    return response
                delay = self._retry_delay(attempt, response.retry_after, deadline)
                if delay is None:
                    return response
                answered = response
            attempt += 1
            await asyncio.sleep(delay)

    def _retry_delay(self, attempt: int, hinted: float | None, deadline: float) -> float | None:
        """How long to wait before attempt ``attempt + 1``; ``None``: do not try again."""
        if attempt >= self.policy.retries:
            return None
        delay = hinted if hinted is not None else backoff(attempt, self.policy)
        # A wait that leaves no time for the next attempt would only burn the deadline.
        if asyncio.get_running_loop().time() + delay + _MIN_ATTEMPT_S >= deadline:
            return None
        if not self.budget.try_retry():
            return None
        return delay

    async def _attempt(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        body: Any,
        headers: dict[str, str],
        deadline: float,
        attempt: int,
        repeatable: bool,
    ) -> UpstreamResponse:
        """One attempt within the call's deadline; its outcome is the breaker's verdict.

        A deadline that passes while the attempt still waits for one of the provider's
        ``max_concurrency`` slots sent nothing: ``QueueTimeout`` (a ``NotSent``), and no
        verdict (the queue is the gateway's own, not the provider failing). A timeout or a
        broken connection after that may have reached the provider: for a request not safe to
        repeat it is raised with ``retryable`` false, saying the request may have been
        applied."""
        started = time.perf_counter()
        status: int | str = "circuit_open"
        verdict: bool | None = None
        sent = SENT.get()
        # Where a request not safe to repeat counts when it may have been applied (``Sent``).
        writes = sent if sent is not None and not repeatable else None
        if self._client.closed:  # a call still under way when the gateway stops
            raise NotSent(self.provider, "the gateway is shutting down; nothing was sent")
        try:
            self.breaker.admit()
        except CircuitOpen:
            self._log(method, path, status, started, attempt)
            raise
        status = "error"
        slotted = False  # the cap's slot is had: from then on the request may reach the provider
        try:
            # One deadline, asyncio's, over all of it: the cap's queue, the connect and a
            # dripping body all count, and nothing outlives the provider's timeout_s. aiohttp's
            # own timers would only repeat it (_NO_TIMERS). The pool never makes a call wait
            # (POOL_LIMIT): once the cap's slot is had, the connection is the provider's to give.
            async with asyncio.timeout_at(deadline), self._cap:
                slotted = True  # from here on, the request may reach the provider
                if sent is not None:
                    sent.attempts += 1
                async with self._client.session.request(
                    method,
                    self.url(path),
                    params=params,
                    data=body,
                    headers=headers,
                    timeout=_NO_TIMERS,
                    allow_redirects=False,
                ) as response:
                    raw = await response.read()
                    status = response.status
                    verdict = response.status < 500
                    # A refusal or a redirect applied nothing; the connector may still find a
                    # refusal under a 2xx (``UpstreamResponse.refused``).
                    counted = None if 300 <= status < 500 else writes
                    if counted is not None:
                        counted.applied += 1
                    if 300 <= status < 400:
                        raise BadResponse(
                            self.provider,
                            f"answered HTTP {status}, a redirect, which the gateway does not "
                            "follow: check the provider's base_url",
                            request_id=request_id_of(response.headers),
                            http_status=status,
                            retryable=False,  # the same call would be redirected again
                        )
                    return UpstreamResponse(
                        status=response.status,
                        headers=response.headers,
                        body=raw,
                        request_id=request_id_of(response.headers),
                        provider=self.provider,
                        counted_in=counted,
                    )
        except TimeoutError:
            if not slotted:
                status = "queue_timeout"
                raise QueueTimeout(
                    self.provider,
                    f"all {self.settings.max_concurrency} of {self.provider}'s request slots "
                    f"(max_concurrency) stayed in use for {self._span(deadline)}; "
                    "nothing was sent",
                ) from None
            status, verdict = "timeout", False
            if writes is not None:
                writes.applied += 1  # its answer was lost
            raise _reached(
                ProviderTimeout,
                self.provider,
                f"{self.provider} did not answer within {self._span(deadline)}",
                repeatable,
            ) from None
        except asyncio.CancelledError:
            status = "cancelled"  # its query's client left (graph/departure.py): no verdict
            raise
        except aiohttp.ClientConnectorError as exc:
            status, verdict = "unavailable", False
            raise NotSent(
                self.provider, SECRETS.redact(f"{self.provider} unreachable: {type(exc).__name__}")
            ) from None
        except aiohttp.ClientError as exc:
            status, verdict = "unavailable", False
            if writes is not None:
                writes.applied += 1  # its answer was lost
            raise _reached(
                ProviderUnavailable,
                self.provider,
                SECRETS.redact(f"{self.provider} unreachable: {type(exc).__name__}"),
                repeatable,
            ) from None
        finally:
            if verdict is True:
                self.breaker.success()
            elif verdict is False:
                self.breaker.failure()
            else:
                self.breaker.release()
            self._log(method, path, status, started, attempt)

    def _span(self, deadline: float) -> str:
        """The time a call ending at ``deadline`` had, as its error says it."""
        shared = DEADLINE.get()
        if shared is not None and shared[0] == deadline:
            return f"the query's {shared[1]:g} s (query_timeout_s)"
        return f"{self.settings.timeout_s:g} s"

    def _log(self, method: str, path: str, status: int | str, started: float, attempt: int) -> None:
        seconds = time.perf_counter() - started
        record = functools.partial(
            self._record,
            method,
            path,
            status,
            seconds,
            attempt,
            REQUEST_ID.get(),
            OPERATION.get(),
        )
        afterwards = AFTERWARDS.get()
        if afterwards is None:
            record(None)
        else:
            afterwards.add(record)

    def _record(
        self,
        method: str,
        path: str,
        status: int | str,
        seconds: float,
        attempt: int,
        request_id: str | None,
        operation: str | None,
        calls: list[dict[str, Any]] | None,
    ) -> None:
        """An attempt's observers, and its entry: one of ``calls`` (the request's line lists
        them), or with no list (no request, or one already answered and logged) its own
        ``upstream call`` line."""
        for observe in self._client.observers:
            observe(self.provider, method, path, status, seconds)
        entry = {
            "provider": self.provider,
            "method": method,
            "endpoint": _endpoint(path),
            "status": status,
            "attempt": attempt,
            "duration_ms": round(seconds * 1000, 2),
        }
        if calls is not None:
            calls.append(entry)
        else:
            log_upstream_call(entry, request_id, operation)


def log_upstream_call(entry: dict[str, Any], request_id: str | None, operation: str | None) -> None:
    """An upstream attempt on a line of its own: one no request's line lists."""
    log.info("upstream call", extra={**entry, "request_id": request_id, "operation": operation})


# A request id as the gateway takes one, from its callers and its providers: an upstream may
# echo anything into its X-Request-ID (a header it was sent, Authorization included).
REQUEST_ID_OK = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id_of(headers: Mapping[str, str]) -> str | None:
    """The provider's request id, shown to callers as ``providerRequestId``; one that is no
    plain id (spaces, a bearer token, 10 kB) is not shown."""
    found = headers.get("X-Request-ID")
    return found if found is not None and REQUEST_ID_OK.match(found) else None


_READS = frozenset({"GET", "HEAD"})
# aiohttp sets no timer of its own for a call: the attempt's asyncio deadline bounds it whole.
_NO_TIMERS = aiohttp.ClientTimeout()
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Time an attempt needs at least; a retry that would leave less is not made.
_MIN_ATTEMPT_S = 0.05
MAY_HAVE_APPLIED = "; the request may have been applied"


def _reached(
    kind: type[ProviderTimeout | ProviderUnavailable], provider: str, message: str, repeatable: bool
) -> ProviderError:
    """A failure after the request may have reached the provider. Sending a request that is
    not safe to repeat (a write, a GET marked ``safe=False``) again might apply it twice, so
    for one of those the failure is not ``retryable``, and its message says why."""
    if repeatable:
        return kind(provider, message)
    return kind(provider, message + MAY_HAVE_APPLIED, retryable=False)


def _endpoint(path: str) -> str:
    """The path without its query: query values may carry personal data."""
    return path.split("?", 1)[0].split("://", 1)[-1]
