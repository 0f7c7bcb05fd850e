"""The Starlette application: ``/graphql`` behind API-key auth, one request id per request."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import secrets
from collections.abc import AsyncIterator, Mapping
from types import SimpleNamespace
from typing import Any

import orjson
from cross_web import HTTPException
from graphql import GraphQLError
from starlette.applications import Starlette
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult

from graph import observe, ops
from graph.apq import PersistedQueries
from graph.config import Config
from graph.context import Context
from graph.errors import extensions_for
from graph.gateway import Gateway
from graph.graphiql import ASSET_DIR, URL_PREFIX
from graph.graphiql import page as graphiql_page
from graph.http_policy import (
    BODY_KEY,
    GRAPHQL_RESPONSE_JSON,
    JSON,
    MEDIA_TYPE_KEY,
    HttpPolicy,
    HttpRefusal,
    content_type,
    cors_middleware,
    error_response,
    header,
)
from graph.limits import INT_MAX, INT_MIN, beyond_64_bits
from graph.metrics import Metrics
from graph.schema import build_schema
from providers.http import REQUEST_ID, REQUEST_ID_OK
from providers.redact import SECRETS
from resolvers.loaders import Loaders

log = logging.getLogger("commerce_graph.http")

INTERNAL_MESSAGE = "Internal server error"
_RAN = "graphql_ran"  # scope key: per operation, whether it reached execution
_POST = SimpleNamespace(method="POST")  # all strawberry's execute_single asks of a request
# scope key: AuthGate let the request in without a key because it asks for GraphiQL's page
# and nothing else; the view answers it with the page and runs nothing.
GRAPHIQL_ONLY = "graphiql_only"
# The GraphQL over HTTP parameters of a GET: any of them, under any encoding, is an operation.
OPERATION_PARAMS = ("query", "extensions", "variables", "operationName")
_BOM = "\ufeff"
# What may be an integer beyond 64 bits: as many digits in a row as -2^63 has, or more.
_LONG_DIGITS = re.compile(r"\d" * len(str(-INT_MIN)))
_LONG_DIGITS_BYTES = re.compile(_LONG_DIGITS.pattern.encode())


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
        # Without a path: the document or its variables (parse, validation). With one and no
        # code of its own (permission errors carry FORBIDDEN): graphql-core's own complaint
        # about a value, such as a null for a non-null field, which is the gateway's fault.
        extensions.setdefault(
            "code", "BAD_USER_INPUT" if error.path is None else "INTERNAL_SERVER_ERROR"
        )
        formatted["extensions"] = extensions
        if production:
            # "Did you mean ..." names fields, arguments and enum values: a map of the schema.
            formatted["message"] = formatted["message"].split(" Did you mean")[0]
    return formatted


def loads(data: str | bytes) -> object:
    """A request body as JSON, by orjson: UTF-8 only (invalid UTF-8 and lone surrogates are a
    JSON error, not a crash when the answer is encoded), nesting refused past 1,024 levels (a
    JSON error, not a RecursionError). orjson reads an integer beyond 64 bits as a float (1e+23
    sent upstream for the 10^23 a variable holds); a body with a run of 19 digits is read again
    by the standard library, whose integers are exact, so that the limits refuse it
    (``BAD_USER_INPUT``)."""
    parsed = orjson.loads(data)
    long = _LONG_DIGITS_BYTES.search(data) if isinstance(data, bytes) else _LONG_DIGITS.search(data)
    if long is None:
        return parsed
    try:  # valid JSON to orjson, so valid here; an integer beyond 64 bits needs no exact value
        return json.loads(data, parse_int=lambda s: INT_MAX + 1 if beyond_64_bits(s) else int(s))
    except RecursionError:  # deeper than the standard library goes, though orjson read it
        return parsed


class GraphQLView(GraphQL[Context, None]):
    def __init__(
        self,
        gateway: Gateway,
        *,
        metrics: Metrics | None = None,
        persisted: PersistedQueries | None = None,
        **kwargs: Any,
    ) -> None:
        production = gateway.config.server.production
        self.limits = gateway.config.server.limits
        super().__init__(
            # observe.name_operation names each operation for its log lines and metrics.
            build_schema(production=production, limits=self.limits, named=observe.name_operation),
            graphql_ide=None if production else "graphiql",
            **kwargs,
        )
        self.gateway = gateway
        self.production = production
        self.metrics = metrics or Metrics()
        self.persisted = persisted or PersistedQueries()

    async def get_context(self, request: Any, response: Any) -> Context:
        return Context(
            gateway=self.gateway,
            principal=request.scope.get("principal"),
            loaders=Loaders(self.gateway.providers, self.metrics.observe_batch),
            request_id=request.scope.get("request_id", ""),
            request=request,
            response=response,
        )

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        data: GraphQLHTTPResponse = {}
        observe.record_result(request.scope, result)
        ran = not is_request_error(result)
        request.scope.setdefault(_RAN, []).append(ran)
        if ran:
            data["data"] = result.data
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

    async def execute_single(  # noqa: PLR0917 - strawberry's signature
        self,
        request: Any,
        request_adapter: Any,
        sub_response: Any,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """Persisted queries first (graph/apq.py): a hash becomes its document, or an error."""
        observe.record_name(request.scope, request_data.operation_name)
        resolved = self.persisted.resolve(request_data)
        if isinstance(resolved, ExecutionResult):
            return resolved
        result = await super().execute_single(
            request, request_adapter, sub_response, context, root_value, resolved
        )
        return self.persisted.register(request_data, result)

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A GET naming an operation in any way (a query, a persisted query's hash, ...) is an
        # API call, whatever its Accept says; decided on the parameters as parsed, as AuthGate
        # decides.
        return super().should_render_graphql_ide(request) and names_no_operation(
            request.query_params
        )

    def decode_json(self, data: str | bytes) -> object:
        """:func:`loads`, with a leading byte order mark ignored, as RFC 8259 allows."""
        if isinstance(data, bytes):
            return loads(data.removeprefix(_BOM.encode()))
        return loads(data.removeprefix(_BOM))

    @property
    def graphql_ide_html(self) -> str:
        return graphiql_page()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        media_type = scope.get(MEDIA_TYPE_KEY, JSON)
        if scope.get(GRAPHIQL_ONLY):  # no key was asked for: the page, and nothing else
            if self.graphql_ide:
                page: Response = await self.render_graphql_ide(Request(scope, receive))
            else:
                page = refusal_response(HTTPException(404, "Not Found"), media_type)
            await page(scope, receive, send)
            return
        try:
            request_data = self.single_operation(scope)
            if request_data is not None:
                await self.answer(scope, receive, send, request_data, media_type)
                return
            response = await self.run(Request(scope, receive))
        except HTTPException as exc:
            response = refusal_response(exc, media_type)
        if response.media_type == JSON:  # a GraphQL result (not GraphiQL's page)
            response.headers["content-type"] = content_type(media_type)
            if never_ran(scope, media_type):
                response.status_code = 400
        await response(scope, receive, send)

    def single_operation(self, scope: Scope) -> GraphQLRequestData | None:
        """The request's one operation, when it is the common case: a POSTed JSON object
        with a string ``query`` whose every member has the type GraphQL over HTTP gives it.
        Anything else (GET, a batch, a streaming ``Accept``, a malformed body) is None and
        takes strawberry's full path, which answers it or refuses it with its own message."""
        body = scope.get(BODY_KEY)
        if body is None or scope["method"] != "POST" or self.streams(scope):
            return None
        try:
            data = loads(body)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(data, dict):
            return None
        query, variables = data.get("query"), data.get("variables")
        operation_name, extensions = data.get("operationName"), data.get("extensions")
        if (
            not isinstance(query, str)
            or not isinstance(variables, dict | None)
            or not isinstance(operation_name, str | None)
            or not isinstance(extensions, dict | None)
        ):
            return None
        return GraphQLRequestData(query, variables, operation_name, extensions, "http")

    def streams(self, scope: Scope) -> bool:
        """Whether ``Accept`` asks for one of strawberry's streaming transports."""
        accept = header(scope, b"accept")
        return bool(accept) and any(
            transport.accepts(accept) for transport in self._stream_transport_map.values()
        )

    async def answer(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        request_data: GraphQLRequestData,
        media_type: str,
    ) -> None:
        """One operation, executed and answered as strawberry's ``run`` would answer it,
        without its request adapter, its content-type parsing and its response objects
        (measured: 1,741 -> 1,562 Python calls for a one-order request,
        tests/benchmarks/HISTORY.md)."""
        request = Request(scope, receive)
        sub_response = await self.get_sub_response(request)
        context = await self.get_context(request, sub_response)
        result = await self.execute_single(
            request, _POST, sub_response, context, None, request_data
        )
        body = self.encode_json(await self.process_result(request, result))
        status = 400 if never_ran(scope, media_type) else sub_response.status_code or 200
        headers = [
            (b"content-type", content_type(media_type).encode()),
            (b"content-length", str(len(body)).encode()),
            *sub_response.headers.raw,
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def parse_http_body(self, request: Any) -> GraphQLRequestData | list[GraphQLRequestData]:
        """strawberry's, with every malformed request refused as a GraphQL error (strawberry
        reads any JSON value as an object and fails with a plain-text 500): a GET's parameters,
        or a body that is one JSON object or, with batching on, an array of them, each member
        of the type GraphQL over HTTP gives it."""
        if request.method == "GET":
            data = self.parse_query_params(request.query_params)
        else:  # POST: HttpPolicy has refused any other method and any body but JSON
            data = self.parse_json(await request.get_body())
        transport = self._get_stream_transport_from_headers(request.headers)
        protocol = transport.protocol if transport else "http"
        if isinstance(data, list):
            self._validate_batch_request(data, protocol)
            return [
                operation_data(one, protocol, f"batch entry {i}: ") for i, one in enumerate(data)
            ]
        return operation_data(data, protocol)

    def parse_query_params(self, params: Any) -> dict[str, Any]:
        """strawberry's, naming the GET parameter that is not JSON (its message blamed a
        request body, which a GET does not have)."""
        parsed = dict(params)
        for name in ("variables", "extensions"):
            if parsed.get(name):
                try:
                    parsed[name] = self.decode_json(parsed[name])
                except ValueError:  # orjson's and json's JSONDecodeError both
                    message = f"Unable to parse the {name} parameter as JSON"
                    raise HttpRefusal(400, message) from None
        return parsed

    def _validate_batch_request(self, request_data: list[Any], protocol: Any) -> None:
        if not self.limits.batching:
            raise HttpRefusal(400, "query batching is off: send one operation per request")
        if len(request_data) > self.limits.batch_limit:
            raise HttpRefusal(
                400,
                f"a batch of {len(request_data)} operations exceeds batch_limit = "
                f"{self.limits.batch_limit}",
                "QUERY_TOO_COMPLEX",
                limit="batch_limit",
                maximum=self.limits.batch_limit,
            )
        super()._validate_batch_request(request_data, protocol)


def operation_data(data: object, protocol: Any, where: str = "") -> GraphQLRequestData:
    """One operation of a request, each member checked as GraphQL over HTTP types it."""
    if not isinstance(data, dict):
        raise HttpRefusal(
            400, f"{where}an operation must be a JSON object with a query, not {_json_kind(data)}"
        )
    for member, kinds, wanted in (
        ("query", str, "a string"),
        ("variables", dict, "an object"),
        ("operationName", str, "a string"),
        ("extensions", dict, "an object"),
    ):
        if not isinstance(data.get(member), kinds | None):
            raise HttpRefusal(
                400, f"{where}the operation's `{member}` must be {wanted} or null, if provided"
            )
    return GraphQLRequestData(
        query=data.get("query"),
        variables=data.get("variables"),
        operation_name=data.get("operationName"),
        extensions=data.get("extensions"),
        protocol=protocol,
    )


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "null" if value is None else type(value).__name__


def never_ran(scope: Scope, media_type: str) -> bool:
    """Under the GraphQL media type, one operation that never ran (no "data") is a 400."""
    return media_type == GRAPHQL_RESPONSE_JSON and scope.get(_RAN) == [False]


def is_request_error(result: ExecutionResult) -> bool:
    """Errors before execution (parse, validation, limits, variables): no ``data`` entry."""
    return (
        result.data is None
        and bool(result.errors)
        and all(e.path is None for e in result.errors or ())
    )


def refusal_response(exc: HTTPException, media_type: str) -> Response:
    """Strawberry's plain-text HTTP refusals, as GraphQL error bodies with a code."""
    if isinstance(exc, HttpRefusal):
        return error_response(
            exc.status_code, exc.reason, exc.code, media_type, exc.headers, **exc.extensions
        )
    if isinstance(exc.__cause__, InvalidOperationTypeError):
        # A GET must not change anything: mutations only over POST (GraphQL over HTTP).
        return error_response(
            405,
            "mutations are only accepted over POST",
            "BAD_USER_INPUT",
            media_type,
            {"Allow": "POST"},
        )
    return error_response(exc.status_code, exc.reason, "BAD_USER_INPUT", media_type)


def names_no_operation(params: Mapping[str, Any]) -> bool:
    """Whether a GET's parameters, as parsed (``%71uery`` is ``query``), name no operation."""
    return not any(name in params for name in OPERATION_PARAMS)


def _wants_ide(scope: Scope) -> bool:
    """A browser asking for the GraphiQL page and nothing else: a GET with ``text/html`` whose
    parameters, parsed as the view parses them, name no operation at all (no query, no
    persisted query's hash, no variables or operation name). The page needs no key; the
    queries it sends do."""
    if scope["method"] != "GET" or "text/html" not in header(scope, b"accept"):
        return False
    return names_no_operation(QueryParams(scope.get("query_string", b"")))


class AuthGate:
    """Admits requests with a known API key; answers 401 with a GraphQL error otherwise."""

    def __init__(self, app: ASGIApp, gateway: Gateway) -> None:
        self.app = app
        self.gateway = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _wants_ide(scope):
            scope[GRAPHIQL_ONLY] = True  # the view answers the page and runs nothing
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
        request_id = given if REQUEST_ID_OK.match(given) else secrets.token_hex(16)
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

    limits = config.server.limits
    metrics = Metrics(gateway.health)
    gateway.http.observers.append(metrics.observe_upstream)
    view = GraphQLView(
        gateway, metrics=metrics, persisted=PersistedQueries.from_config(config.server)
    )
    graphql = RequestId(observe.Observe(HttpPolicy(AuthGate(view, gateway), limits), metrics))
    app = Starlette(
        routes=[
            Route("/", _root),
            # Every method: HttpPolicy answers one that is not GET or POST as a GraphQL error.
            Route("/graphql", graphql),
            *ops.routes(gateway, metrics),
            # GraphiQL's own JS and CSS, when vendored (graph/graphiql.py)
            Mount(URL_PREFIX, StaticFiles(directory=ASSET_DIR, check_dir=False)),
        ],
        middleware=cors_middleware(config.server.cors_origins),
        lifespan=lifespan,
    )
    app.state.gateway = gateway
    app.state.metrics = metrics
    app.state.view = view
    return app
