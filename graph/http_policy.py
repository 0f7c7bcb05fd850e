"""GraphQL over HTTP: what a request may look like before the GraphQL view sees it.

:class:`HttpPolicy` (an ASGI wrapper around ``/graphql``) does six things, in this order:

1. negotiates the response media type from ``Accept``: ``application/graphql-response+json``
   when the client prefers it, ``application/json`` otherwise (older clients, ``*/*``, no
   header); the choice is left in ``scope["graphql_media_type"]`` for the view;
2. refuses any method but GET and POST (405, ``Allow: GET, POST``; a CORS preflight is
   answered before it gets here, by :func:`cors_middleware`);
3. reads a POST body up to ``[server].max_body_bytes`` (413 beyond it) and hands it on (and
   leaves it in ``scope["graphql_body"]``, which the view reads);
4. refuses a POST a browser could send cross-site without a CORS preflight (a form, multipart
   or ``text/plain`` body, or none) unless it carries a preflight-forcing header: the CSRF
   guard;
5. refuses any other POST body that is not ``application/json`` (415);
6. once the body is read, watches for the client leaving: a query under way when it does is
   cancelled (graph/departure.py).

Every refusal is a GraphQL error body with an ``extensions.code``, never plain text: a
refused CORS preflight too (:class:`GraphQLCors`).
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graph import observe
from graph.departure import DEPARTURE, Departure
from graph.limits import Limits

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
MEDIA_TYPE_KEY = "graphql_media_type"
BODY_KEY = "graphql_body"  # scope key: the POST body, read once (the view parses it from here)

# Content types a page on another origin can POST without a preflight (the CORS "simple" ones).
SIMPLE_CONTENT_TYPES = frozenset(
    {"application/x-www-form-urlencoded", "multipart/form-data", "text/plain", ""}
)
# Any of these headers makes a browser send a preflight first, which CORS then guards.
PREFLIGHT_HEADERS = (b"graphql-preflight", b"x-apollo-operation-name", b"apollo-require-preflight")
METHODS = ("GET", "POST")


class HttpRefusal(HTTPException):
    """An HTTP-level refusal with the GraphQL ``extensions.code`` the client sees."""

    def __init__(
        self,
        status_code: int,
        reason: str,
        code: str = "BAD_USER_INPUT",
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(status_code, reason)
        self.code = code
        self.headers = headers or {}
        self.extensions = extensions


def error_response(
    status: int,
    message: str,
    code: str,
    media_type: str = JSON,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> Response:
    """A GraphQL error body (no ``data``: nothing ran) with the negotiated media type."""
    body = {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}
    return Response(
        orjson.dumps(body), status_code=status, headers=headers, media_type=content_type(media_type)
    )


def content_type(media_type: str) -> str:
    return f"{media_type}; charset=utf-8" if media_type == GRAPHQL_RESPONSE_JSON else media_type


def negotiate(accept: str) -> str:
    """The response media type for an ``Accept`` header: the acceptable type with the highest
    ``q``; an exact match beats a wildcard; on a tie the GraphQL media type wins. Nothing
    acceptable (or no header): ``application/json``, as the spec allows for older clients."""
    best: tuple[float, int, int, str] | None = None
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        media = media.lower()
        if q <= 0:
            continue
        if media == GRAPHQL_RESPONSE_JSON:
            candidate = (q, 1, 1, GRAPHQL_RESPONSE_JSON)
        elif media == JSON:
            candidate = (q, 1, 0, JSON)
        elif media in ("*/*", "application/*"):
            candidate = (q, 0, 0, JSON)
        else:
            continue
        if best is None or candidate > best:
            best = candidate
    return best[3] if best else JSON


def header(scope: Scope, name: bytes) -> str:
    """A request header's value (the first, decoded as latin-1); "" when there is none."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return ""


class HttpPolicy:
    """The HTTP rules for ``/graphql`` (see the module docstring), before auth and the view."""

    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        media_type = negotiate(header(scope, b"accept"))
        scope[MEDIA_TYPE_KEY] = media_type
        body = None
        try:
            if scope["method"] not in METHODS:
                raise HttpRefusal(
                    405, "GraphQL is served over GET and POST only", headers={"Allow": "GET, POST"}
                )
            if scope["method"] == "POST":
                body = await self._read_body(scope, receive)
                self._check_content_type(scope)
        except HttpRefusal as refusal:
            response = error_response(
                refusal.status_code,
                refusal.reason,
                refusal.code,
                media_type,
                refusal.headers,
                **refusal.extensions,
            )
            await response(scope, receive, send)
            return
        if body is not None:
            scope[BODY_KEY] = body
        # The body is read: the server's ``receive`` now only says when the client leaves.
        departure = Departure(receive)
        token = DEPARTURE.set(departure)
        try:
            await self.app(scope, _replay(body or b"", departure.receive), send)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if not departure.abandoned or task is None or task.uncancel():
                raise  # not (only) the departure's doing: the server's shutdown, say
            observe.record_abandoned(scope)
        finally:
            departure.stop()
            DEPARTURE.reset(token)

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        limit = self.limits.max_body_bytes
        declared = header(scope, b"content-length")
        if declared.isdigit() and int(declared) > limit:
            raise self._too_large(int(declared))
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise self._too_large(size)  # a chunked body: stop reading at the limit
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def _too_large(self, size: int) -> HttpRefusal:
        limit = self.limits.max_body_bytes
        return HttpRefusal(
            413,
            f"request body of {size} bytes exceeds max_body_bytes = {limit}",
            "QUERY_TOO_COMPLEX",
            limit="max_body_bytes",
            maximum=limit,
        )

    def _check_content_type(self, scope: Scope) -> None:
        media = header(scope, b"content-type").split(";")[0].strip().lower()
        if media in SIMPLE_CONTENT_TYPES and not any(
            key in PREFLIGHT_HEADERS for key, _ in scope["headers"]
        ):
            raise HttpRefusal(
                400,
                "this request could be a cross-site request forgery: send the body as "
                "application/json, or add a 'GraphQL-Preflight: 1' header",
                guard="CSRF",
            )
        if media != JSON:
            raise HttpRefusal(
                415,
                f"unsupported content type {media or '(none)'!r}: send application/json",
                headers={"Accept-Post": JSON},
            )


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the buffered body on once, then defers to the real one."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class GraphQLCors(CORSMiddleware):
    """Starlette's CORS, with a refused preflight answered as a GraphQL error (Starlette's is
    plain text), its status and CORS headers kept."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        # Starlette says what it refused: "Disallowed CORS origin, method, headers".
        refused = bytes(response.body).decode().removeprefix("Disallowed CORS ")
        headers = {
            k: v for k, v in response.headers.items() if k not in ("content-length", "content-type")
        }
        return error_response(
            response.status_code,
            f"this cross-origin request is not allowed (CORS: {refused})",
            "BAD_USER_INPUT",
            negotiate(request_headers.get("accept", "")),
            headers,
            guard="CORS",
        )


def cors_middleware(origins: list[str]) -> list[Middleware]:
    """CORS for the configured frontend origins (none configured: no cross-origin access)."""
    if not origins:
        return []
    return [
        Middleware(
            GraphQLCors,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "Accept",
                "X-Request-ID",
                *(h.decode() for h in PREFLIGHT_HEADERS),
            ],
            expose_headers=["X-Request-ID"],
            max_age=600,
        )
    ]
