"""The HTTP front door's contract: only GraphiQL's page without a key, every refusal a GraphQL
error with its code (never a plain-text 500), one operation chosen only by name, and log lines
that hold no query value."""

from __future__ import annotations

import logging
from typing import Any

import orjson
import pytest
from yarl import URL

from graph import ids
from graph.config import Config
from graph.logs import JsonFormatter
from graph.schema import build_schema, error_code
from providers.model import ProviderName
from providers.sandbox import akinon_data
from tests.conftest import gateway_with, started
from tests.harness import Answer, Gateway

GQL_RESPONSE = "application/graphql-response+json"
PROVIDERS = "{ providers { name settings capabilities health { status } } }"


def no_upstream_calls(gw: Gateway) -> None:
    assert {name: gw.calls(name) for name in gw.sandboxes} == {name: [] for name in gw.sandboxes}


def no_error_logged(caplog: pytest.LogCaptureFixture) -> None:
    """No ERROR record (a traceback: uvicorn's "Exception in ASGI application", or the
    gateway's "unexpected error")."""
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def send(
    gw: Gateway,
    body: bytes | None,
    *,
    method: str = "POST",
    query_string: str = "",
    key: str | None = "dev-key",
    **headers: str,
) -> Answer:
    """A request as a script might send it; ``query_string`` goes on the wire as written
    (yarl would otherwise decode ``%71`` to ``q`` before sending)."""
    send_headers = dict(headers)
    if key is not None:
        send_headers["Authorization"] = f"Bearer {key}"
    if body is not None:
        send_headers.setdefault("Content-Type", "application/json")
    url = URL(f"{gw.url}?{query_string}" if query_string else gw.url, encoded=True)
    async with gw.session.request(method, url, data=body, headers=send_headers) as response:
        text = await response.text()
        if response.status >= 400:  # a refusal: a GraphQL error, never plain text
            assert response.content_type != "text/plain", text
        parsed = await response.json(content_type=None) if text.startswith(("{", "[")) else {}
        return Answer(response.status, parsed, response.headers.copy())


async def test_without_a_key_only_the_graphiql_page_is_answered(gateway: Gateway) -> None:
    """The audit's bypass: ``%71uery`` (``query``, percent-encoded) was not the bytes
    ``query=`` the gate looked for, so the request skipped auth, and the view ran it."""
    html = {"Accept": "text/html"}
    for query_string in (
        "%71uery=" + PROVIDERS.replace(" ", "+"),
        "%71uery=%7B__typename%7D",
        "query=%7B__typename%7D",
        "qu%65ry",  # no value: still a query parameter, so not the page
        'extensions={"persistedQuery":{"version":1,"sha256Hash":"' + "a" * 64 + '"}}',
        "%65xtensions=%7B%7D",
        "variables=%7B%7D",
        "operationName=A",
    ):
        refused = await send(
            gateway, None, method="GET", query_string=query_string, key=None, **html
        )
        assert (refused.status, refused.codes) == (401, ["UNAUTHENTICATED"]), query_string
        assert "data" not in refused.body
    # With a key, the same request runs (as JSON), as the view decodes it.
    ran = await send(gateway, None, method="GET", query_string="%71uery=%7B__typename%7D", **html)
    assert (ran.status, ran.body) == (200, {"data": {"__typename": "Query"}})
    # The page itself still needs no key, with or without unrelated parameters.
    for query_string in ("", "theme=dark"):
        url = URL(f"{gateway.url}?{query_string}", encoded=True)
        async with gateway.session.get(url, headers=html) as page:
            assert page.status == 200
            assert page.content_type == "text/html"
            assert "graphiql" in (await page.text()).lower()
    no_upstream_calls(gateway)


async def test_providers_needs_orders_read() -> None:
    keys = {"reader": ["orders:read"], "nobody": []}
    async with gateway_with(names=("akinon",), server={"api_keys": keys}) as gw:
        denied = await gw.query(PROVIDERS, key="nobody")
        assert denied.codes == ["FORBIDDEN"]
        assert denied.errors[0]["path"] == ["providers"]
        assert denied.errors[0]["extensions"] == {"code": "FORBIDDEN", "scope": "orders:read"}
        assert denied.data is None  # providers is non-null: the refusal nulls the answer
        read = await gw.ok("{ providers { name configured } }", key="reader")
        assert [p["name"] for p in read["providers"] if p["configured"]] == ["AKINON"]


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def with_deep_variable(document: str, levels: int) -> bytes:
    """A body whose variable ``$x`` is lists nested ``levels`` deep."""
    body = orjson.dumps({"query": document, "variables": {"x": "X"}})
    return body.replace(b'"X"', deep(levels).encode())


MALFORMED: list[tuple[str, bytes, str]] = [
    ("a JSON string", b'"x"', "an operation must be a JSON object with a query, not a string"),
    ("a JSON number", b"1", "an operation must be a JSON object with a query, not a number"),
    ("JSON null", b"null", "an operation must be a JSON object with a query, not null"),
    ("invalid UTF-8", b'{"query": "{ __typename }\xff"}', "Unable to parse request body as JSON"),
    ("a lone surrogate", b'{"query": "\\ud800"}', "Unable to parse request body as JSON"),
    ("JSON nested 1,100 deep", deep(1100).encode(), "Unable to parse request body as JSON"),
    (
        "variables nested 1,100 deep",
        b'{"query": "{ __typename }", "variables": {"x": ' + deep(1100).encode() + b"}}",
        "Unable to parse request body as JSON",
    ),
    (
        "an operationName that is a number",
        b'{"query": "{ __typename }", "operationName": 5}',
        "the operation's `operationName` must be a string or null, if provided",
    ),
]
MALFORMED_BATCHES: list[tuple[str, bytes, str]] = [
    ("numbers and strings", b'[1, "x"]', "batch entry 0: an operation must be a JSON object"),
    ("null", b"[null]", "batch entry 0: an operation must be a JSON object with a query, not null"),
    (
        "a nested array",
        b'[[{"query": "{ __typename }"}]]',
        "batch entry 0: an operation must be a JSON object with a query, not an array",
    ),
    (
        "a query that is a number",
        b'[{"query": "{ __typename }"}, {"query": 1}]',
        "batch entry 1: the operation's `query` must be a string or null, if provided",
    ),
    (
        "variables that are a string",
        b'[{"query": "{ __typename }", "variables": "{}"}]',
        "batch entry 0: the operation's `variables` must be an object or null, if provided",
    ),
]


async def test_malformed_bodies_are_graphql_errors_not_plain_500s(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = {"batching": True, "batch_limit": 3}
    with caplog.at_level(logging.INFO):
        async with gateway_with(names=("akinon",), server=server) as gw:
            for name, body, message in [*MALFORMED, *MALFORMED_BATCHES]:
                for accept in ("application/json", GQL_RESPONSE):
                    answer = await send(gw, body, Accept=accept)
                    assert (answer.status, answer.codes) == (400, ["BAD_USER_INPUT"]), name
                    assert answer.errors[0]["message"].startswith(message), name
                    assert answer.headers["Content-Type"].startswith(accept), name
                    assert "data" not in answer.body
            # What strawberry's json.loads accepted still runs: a leading byte order mark.
            bom = await send(gw, b'\xef\xbb\xbf{"query": "{ __typename }"}')
            assert (bom.status, bom.body) == (200, {"data": {"__typename": "Query"}})
            pair = await send(gw, b'[{"query": "{ a: __typename }"}, {"query": "{ __typename }"}]')
            assert pair.body == [{"data": {"a": "Query"}}, {"data": {"__typename": "Query"}}]  # type: ignore[comparison-overlap]
            no_upstream_calls(gw)
    no_error_logged(caplog)


async def test_other_methods_and_refused_preflights_are_graphql_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = Config.from_dict(
        {"server": {"api_keys": {"k": ["orders:read"]}, "cors_origins": ["https://shop.example"]}}
    )
    with caplog.at_level(logging.INFO):
        async with started(config) as gw:
            for method in ("PUT", "DELETE", "PATCH", "OPTIONS"):
                for key in ("k", None):  # the method is refused before the key is asked for
                    answer = await send(gw, b"{}", method=method, key=key)
                    assert (answer.status, answer.codes) == (405, ["BAD_USER_INPUT"]), method
                    assert answer.errors[0]["message"] == "GraphQL is served over GET and POST only"
                    assert answer.headers["Allow"] == "GET, POST"
            preflight = {
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            }
            for origin, method, refused_part, allow_origin in [
                ("https://evil.example", "POST", "origin", None),
                ("https://shop.example", "PUT", "method", "https://shop.example"),
            ]:
                headers = {**preflight, "Origin": origin, "Access-Control-Request-Method": method}
                refused = await send(gw, None, method="OPTIONS", key=None, **headers)
                assert (refused.status, refused.codes) == (400, ["BAD_USER_INPUT"]), origin
                assert refused.errors[0] == {
                    "message": f"this cross-origin request is not allowed (CORS: {refused_part})",
                    "extensions": {"code": "BAD_USER_INPUT", "guard": "CORS"},
                }
                assert refused.headers["Content-Type"] == "application/json"
                assert refused.headers.get("Access-Control-Allow-Origin") == allow_origin
            headers = {**preflight, "Origin": "https://shop.example"}
            allowed = await send(gw, None, method="OPTIONS", key=None, **headers)
            assert allowed.status == 200
            assert allowed.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    no_error_logged(caplog)


NODES = "query($x: [ID!]!) { nodes(ids: $x) { id } }"
PLACE_EXTRA = """mutation($x: JSON) { placeOrder(input: {provider: KALIXO, currency: "GBP",
    items: [{productId: "2", sku: "S", unitPrice: "32.99", quantity: 1, extra: $x}]}) {
    userErrors { code } } }"""


async def test_deep_variables_and_huge_integers_are_refused_with_their_code(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    """orjson (the memo key of graph/limits.py, answers, upstream bodies) writes neither 255
    levels of nesting nor an integer beyond 64 bits: each was a masked INTERNAL_SERVER_ERROR
    with a traceback."""
    with caplog.at_level(logging.INFO):
        for document, levels in [
            (NODES, 300),
            (PLACE_EXTRA, 300),
            (NODES, 33),
            (PLACE_EXTRA, 1000),
        ]:
            answer = await send(gateway, with_deep_variable(document, levels))
            assert answer.codes == ["QUERY_TOO_COMPLEX"], levels
            assert answer.errors[0]["message"] == (
                "variables nest more than 32 levels of objects and lists (max_depth = 12)"
            )
            assert answer.errors[0]["extensions"]["limit"] == "max_depth"
            assert "data" not in answer.body
        # 32 levels pass the limit (and are then refused as not IDs, by the type's own check).
        at_limit = await send(gateway, with_deep_variable(NODES, 32))
        assert at_limit.codes == ["BAD_USER_INPUT"]
        assert "nest" not in at_limit.errors[0]["message"]
        literal = await gateway.query(PLACE_EXTRA.replace("$x", "123456789012345678901234567890"))
        assert literal.codes == ["BAD_USER_INPUT"]
        assert literal.errors[0]["message"] == "the query holds an integer beyond 64 bits"
        no_upstream_calls(gateway)
    no_error_logged(caplog)


@pytest.mark.parametrize("value", [2**64, -(2**63) - 1, {"a": [1, 10**30]}])
async def test_a_variable_integer_beyond_64_bits_is_bad_user_input(
    value: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A caller of the schema itself hands one in as it is (over HTTP, the test below), and
    the limits' memo key must not crash on it."""
    with caplog.at_level(logging.INFO):
        result = await build_schema().execute(PLACE_EXTRA, {"x": value})
    assert result.data is None
    errors = result.errors or []
    assert [e.message for e in errors] == ["a variable holds an integer beyond 64 bits"]
    assert [error_code(e) for e in errors] == ["BAD_USER_INPUT"]
    no_error_logged(caplog)


@pytest.mark.parametrize(
    "literal",
    [
        "18446744073709551616",
        "-9223372036854775809",
        '{"a": [1, 100000000000000000000000]}',
        "9" * 300,  # a float to orjson (past 308 digits it is no JSON it reads)
    ],
)
async def test_a_variable_integer_beyond_64_bits_over_http_is_refused_and_sends_nothing(
    gateway: Gateway, literal: str, caplog: pytest.LogCaptureFixture
) -> None:
    """orjson reads such an integer as a float: the JSON extra went to Kalixo as 1e+23, and
    an order was placed with a number the caller never wrote."""
    body = b'{"query": %s, "variables": {"x": %s}}' % (
        orjson.dumps(PLACE_EXTRA),
        literal.encode(),
    )
    with caplog.at_level(logging.INFO):
        answer = await send(gateway, body)
    assert answer.codes == ["BAD_USER_INPUT"]
    assert answer.errors[0]["message"] == "a variable holds an integer beyond 64 bits"
    assert "data" not in answer.body or answer.body["data"] is None
    no_upstream_calls(gateway)
    no_error_logged(caplog)


async def test_the_graphql_error_line_holds_no_query_value(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    """README, Operations: no log line holds a query value. The line says code, path and the
    error's class; the client still gets the message."""
    runs: list[tuple[str, dict[str, Any] | None, str]] = [
        (
            '{ orderByNumber(provider: AKINON, number: "SECRET-LOOKUP-123") { id } }',
            None,
            "NOT_FOUND",
        ),
        ('{ node(id: "SECRET-NODE-456") { id } }', None, "BAD_USER_INPUT"),
        (
            "query($a: Decimal) { orders(first: 1, filter: {minAmount: $a}) { totalCount } }",
            {"a": "SECRET-AMOUNT-789"},
            "BAD_USER_INPUT",
        ),
        (
            '{ orders(first: 1, filter: {placedAfter: "SECRET-DATE-1"}) { totalCount } }',
            None,
            "BAD_USER_INPUT",
        ),
    ]
    with caplog.at_level(logging.DEBUG):
        for document, variables, code in runs:
            answer = await gateway.query(document, variables)
            assert answer.codes == [code]
            assert "SECRET-" in answer.errors[0]["message"]  # the caller is told what was wrong
    lines = [r for r in caplog.records if r.getMessage() == "graphql error"]
    assert [(r.__dict__["code"], r.__dict__["error_class"]) for r in lines] == [
        ("NOT_FOUND", "NotFoundError"),
        ("BAD_USER_INPUT", "BadUserInput"),
        ("BAD_USER_INPUT", "StrawberryInputCoercionError"),
        ("BAD_USER_INPUT", "StrawberryInputCoercionError"),
    ]
    assert [r.__dict__["path"] for r in lines] == [["orderByNumber"], ["node"], None, None]
    formatter = JsonFormatter()
    written = "\n".join(formatter.format(r) for r in caplog.records)
    assert "SECRET-" not in written


REJECT = "mutation M($id: ID!) { rejectOrderItem(input: {itemId: $id}) { userErrors { code } } }"


async def test_several_operations_need_an_operation_name(gateway: Gateway) -> None:
    """The spec's GetOperation: without operationName a document of several operations is
    refused; strawberry ran the first (here a mutation that rejects an item)."""
    item = ids.encode("OrderItem", ProviderName.AKINON, akinon_data.REJECTABLE_ITEM_IDS[0])
    message = "Must provide operation name if query contains multiple operations."
    for document in (
        f"{REJECT} query Q {{ __typename }}",
        "query A { a: __typename } query B { b: __typename }",
    ):
        for accept, status in (("application/json", 200), (GQL_RESPONSE, 400)):
            answer = await gateway.query(document, {"id": item}, headers={"Accept": accept})
            assert (answer.status, answer.codes) == (status, ["BAD_USER_INPUT"])
            assert answer.errors[0]["message"] == message
            assert "data" not in answer.body
    over_get = await send(
        gateway,
        None,
        method="GET",
        query_string="query=query+A+%7B+a%3A+__typename+%7D+query+B+%7B+b%3A+__typename+%7D",
    )
    assert (over_get.status, over_get.codes) == (200, ["BAD_USER_INPUT"])
    assert over_get.errors[0]["message"] == message
    no_upstream_calls(gateway)
    # Named, each runs; a document of one operation needs no name.
    for name, expected in (("A", {"a": "Query"}), ("B", {"b": "Query"})):
        body = {"query": "query A { a: __typename } query B { b: __typename }"}
        answer = await send(gateway, orjson.dumps({**body, "operationName": name}))
        assert answer.body == {"data": expected}
    assert await gateway.ok("query Only { __typename }") == {"__typename": "Query"}


@pytest.mark.parametrize("name", ["variables", "extensions"])
async def test_a_get_parameter_that_is_not_json_is_named(gateway: Gateway, name: str) -> None:
    """A GET has no body: the refusal said "Unable to parse request body as JSON"."""
    query_string = f"query=%7B__typename%7D&{name}=%7Bnope"
    answer = await send(gateway, None, method="GET", query_string=query_string)
    assert (answer.status, answer.codes) == (400, ["BAD_USER_INPUT"])
    assert answer.errors[0]["message"] == f"Unable to parse the {name} parameter as JSON"
