"""One GraphQL request, observed: one JSON log line and its metrics.

:class:`Observe` wraps the ``/graphql`` endpoint (inside ``RequestId``, outside ``AuthGate``, so
a refused key is counted too). What only GraphQL knows travels to it on the ASGI scope:
:func:`name_operation` (a step of each operation's pipeline, graph/pipeline.py) writes the
operation's name and type once the document is parsed, and :func:`record_result` the outcome
of each result. The upstream attempts made for the request are listed in its line (each one's
provider, endpoint, status and time: the request's ``Afterwards``, providers/http.py, collects
them), and the ``userErrors`` its mutations answer noted by
:func:`note_user_error` (``UserError`` notes each one it makes): a mutation that answers
userErrors succeeds as GraphQL, so its line says ``ok`` and lists them beside.
"""

from __future__ import annotations

import contextvars
import logging
import time
from typing import Any

from graphql import GraphQLError
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.types import ExecutionContext, ExecutionResult

from graph.errors import extensions_for
from graph.metrics import NAME_OK, Metrics
from providers.http import AFTERWARDS, Afterwards, log_upstream_call

log = logging.getLogger("commerce_graph.request")

_KEY = "commerce_graph.observed"
CLIENT_CLOSED_REQUEST = 499  # nginx's status for a request its client left before the answer
# The upstream attempts a request's line lists at most (any more have a line each): a query of
# 50 aliases that each page through a provider's list would write a line of hundreds of kB.
LISTED = 100
# The codes of the userErrors made for the current request, in the order they were made.
_USER_ERRORS: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "user_errors", default=None
)


def _observed(scope: Scope) -> dict[str, Any]:
    found: dict[str, Any] = scope.setdefault(_KEY, {})
    return found


def name_operation(ec: ExecutionContext) -> None:
    """Names the operation for the request's log lines and metrics, once it is parsed (called
    by graph/pipeline.py before validation: a document that fails it is still named)."""
    request = getattr(ec.context, "request", None)
    if request is not None and ec.graphql_document is not None:
        observed = _observed(request.scope)
        observed["operation"] = ec.operation_name
        try:
            observed["type"] = ec.operation_type.value
        except RuntimeError:  # no such operation in the document
            pass


def loggable(name: str | None) -> str | None:
    """An operation's name as logs show it: a client may send any text as ``operationName``
    (900 kB, a card number), so one that is no short GraphQL name is ``other``, as in the
    metrics."""
    return name if name is None or NAME_OK.match(name) else "other"


def record_name(scope: Scope, operation_name: str | None) -> None:
    """The operation name the client sent (the parsed document may name it later)."""
    if operation_name:
        _observed(scope).setdefault("operation", operation_name)


def record_result(scope: Scope, result: ExecutionResult) -> None:
    """The outcome of one result: ``ok``, ``partial`` (data and errors) or ``error``."""
    observed = _observed(scope)
    if not result.errors:
        observed["outcome"] = "ok"
        return
    # Data whose every field failed is no answer: an outage of the one provider a query asks
    # counted as "partial" and never reached an alert on "error". A field that is null
    # without an error (an order not found) answered.
    failed = {e.path[0] for e in result.errors if isinstance(e, GraphQLError) and e.path}
    answered = any(v is not None or k not in failed for k, v in (result.data or {}).items())
    observed["outcome"] = "partial" if answered else "error"
    observed["codes"] = sorted(
        {
            str((e.extensions or {}).get("code") or _code_of(e))
            for e in result.errors
            if isinstance(e, GraphQLError)
        }
    )


def record_abandoned(scope: Scope) -> None:
    """The client left while its query executed, and the query was cancelled
    (graph/departure.py): logged with nginx's 499, "client closed request"."""
    observed = _observed(scope)
    observed["outcome"] = "abandoned"
    observed["status"] = CLIENT_CLOSED_REQUEST


def _code_of(error: GraphQLError) -> str:
    known = extensions_for(error.original_error)
    if known is not None:
        return str(known[1]["code"])
    return "BAD_USER_INPUT" if error.original_error is None else "INTERNAL_SERVER_ERROR"


def note_user_error(code: str) -> None:
    """A ``userErrors`` entry made for the current request."""
    codes = _USER_ERRORS.get()
    if codes is not None:
        codes.append(code)


class Observe:
    """Times each GraphQL request, counts it, and logs one line for it."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        user_errors: list[str] = []
        afterwards = Afterwards()
        user_token, after_token = _USER_ERRORS.set(user_errors), AFTERWARDS.set(afterwards)
        try:
            await self.app(scope, receive, send_status)
        finally:
            afterwards.run()  # the upstream calls' metrics and entries, now the answer is sent
            AFTERWARDS.reset(after_token)
            _USER_ERRORS.reset(user_token)
            seconds = time.perf_counter() - started
            self._done(scope, status, seconds, afterwards.calls, user_errors)

    def _done(
        self,
        scope: Scope,
        status: int,
        seconds: float,
        calls: list[dict[str, Any]],
        user_errors: list[str],
    ) -> None:
        observed = scope.get(_KEY, {})
        outcome = observed.get("outcome")
        if outcome is None:
            if status < 400:
                return  # the GraphiQL page: not a GraphQL request
            outcome = "unauthenticated" if status == 401 else "rejected"
        status = observed.get("status", status)
        operation = loggable(observed.get("operation"))
        self.metrics.observe_request(operation, outcome, seconds)
        if user_errors:
            self.metrics.observe_user_errors(operation, user_errors)
        log.info(
            "graphql request",
            extra={
                "request_id": scope.get("request_id"),
                "operation": operation,
                "operation_type": observed.get("type"),
                "outcome": outcome,
                "status": status,
                "error_codes": observed.get("codes", []),
                "user_error_codes": sorted(set(user_errors)),
                "providers": sorted({call["provider"] for call in calls}),
                "upstream_calls": len(calls),
                "duration_ms": round(seconds * 1000, 2),
                "upstream": calls[:LISTED],
            },
        )
        for call in calls[LISTED:]:  # past what one line lists: a line each, as if late
            log_upstream_call(call, scope.get("request_id"), operation)
