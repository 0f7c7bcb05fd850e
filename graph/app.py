"""The Starlette application: ``/graphql`` behind API-key auth, one request id per request."""

from __future__ import annotations

import contextlib
import logging
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import orjson
from graphql import GraphQLError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from graph.config import Config
from graph.context import Context
from graph.errors import extensions_for
from graph.gateway import Gateway
from graph.schema import build_schema
from providers.http import REQUEST_ID
from providers.redact import SECRETS
from resolvers.loaders import Loaders

log = logging.getLogger("commerce_graph.http")

_REQUEST_ID_OK = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
INTERNAL_MESSAGE = "Internal server error"


def format_error(error: GraphQLError, *, production: bool, request_id: str) -> dict[str, Any]:
    """One error as the client sees it: a known error's code, or a masked bug."""
    formatted: dict[str, Any] = dict(error.formatted)
    known = extensions_for(error.original_error)
    if known is not None:
        message, extensions = known
        formatted["message"] = message
        formatted["extensions"] = {**formatted.get("extensions", {}), **extensions}
    elif error.original_error is not None and not isinstance(error.original_error, GraphQLError):
        # A bug: the detail goes to the log (with the request id), never to the client.
        formatted["message"] = (
            INTERNAL_MESSAGE if production else SECRETS.redact(str(formatted["message"]))
        )
        formatted["extensions"] = {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
    else:
        extensions = formatted.get("extensions") or {}
        extensions.setdefault("code", "BAD_USER_INPUT" if error.path is None else "FORBIDDEN")
        formatted["extensions"] = extensions
    return formatted


class GraphQLView(GraphQL[Context, None]):
    def __init__(self, gateway: Gateway, **kwargs: Any) -> None:
        production = gateway.config.server.production
        super().__init__(
            build_schema(production=production),
            graphql_ide=None if production else "graphiql",
            **kwargs,
        )
        self.gateway = gateway
        self.production = production

    async def get_context(self, request: Any, response: Any) -> Context:
        return Context(
            gateway=self.gateway,
            principal=request.scope.get("principal"),
            loaders=Loaders(self.gateway.providers),
            request_id=request.scope.get("request_id", ""),
            request=request,
            response=response,
        )

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        data: GraphQLHTTPResponse = {"data": result.data}
        if result.errors:
            request_id = request.scope.get("request_id", "")
            data["errors"] = [
                format_error(e, production=self.production, request_id=request_id)
                for e in result.errors
            ]
        if result.extensions:
            data["extensions"] = result.extensions
        return data

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)


def _wants_ide(scope: Scope) -> bool:
    """A browser asking for the GraphiQL page (which needs no key; its queries do)."""
    if scope["method"] != "GET" or b"query=" in scope.get("query_string", b""):
        return False
    accept = dict(scope["headers"]).get(b"accept", b"")
    return b"text/html" in accept


class AuthGate:
    """Admits requests with a known API key; answers 401 with a GraphQL error otherwise."""

    def __init__(self, app: ASGIApp, gateway: Gateway) -> None:
        self.app = app
        self.gateway = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "OPTIONS" or _wants_ide(scope):
            await self.app(scope, receive, send)
            return
        header = dict(scope["headers"]).get(b"authorization")
        principal = self.gateway.api_keys.authenticate(header.decode("latin-1") if header else None)
        if principal is None:
            message = "a valid API key is required: send Authorization: Bearer <key>"
            response = JSONResponse(
                {"errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="commerce-graph"'},
            )
            await response(scope, receive, send)
            return
        scope["principal"] = principal
        await self.app(scope, receive, send)


class RequestId:
    """Takes the caller's ``X-Request-ID`` (or makes one), and returns it on the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID_OK.match(given) else uuid.uuid4().hex
        scope["request_id"] = request_id
        token = REQUEST_ID.set(request_id)

        async def send_with_id(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)


async def _root(request: Request) -> Response:
    return JSONResponse({"graphql": "/graphql"})


def create_app(config: Config) -> Starlette:
    gateway = Gateway(config)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await gateway.close()

    graphql = RequestId(AuthGate(GraphQLView(gateway), gateway))
    app = Starlette(
        routes=[
            Route("/", _root),
            Route("/graphql", graphql, methods=["GET", "POST", "OPTIONS"]),
        ],
        lifespan=lifespan,
    )
    app.state.gateway = gateway
    return app
