"""The gateway's own paths answer exactly as strawberry's: the same requests, sent to one
gateway twice, once as it serves them and once with strawberry doing the work.

Two short paths are compared: the view answering a POSTed JSON operation itself (graph/app.py,
``GraphQLView.answer``) instead of strawberry's ``run``, and the schema running the operation's
steps itself (graph/pipeline.py, ``Pipeline.run``) instead of as a strawberry extension. Status,
body and the headers a client reads must be identical, for answers and for every kind of
refusal: parse, validation, limits, operation selection, variables, persisted queries, masked
bugs and the GraphQL media type's 400.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from graph.pipeline import Pipeline
from tests.conftest import gateway_with
from tests.harness import Gateway

ORDER = '{ orderByNumber(provider: AKINON, number: "45243493") { id number total { amount } } }'
TWO = "query A { providers { name } } query B { orders(first: 2) { totalCount } }"
GRAPHQL_JSON = "application/graphql-response+json"

CASES: dict[str, tuple[Any, dict[str, str]]] = {
    "an order": ({"query": ORDER}, {}),
    "variables": (
        {
            "query": "query ($n: String!) { orderByNumber(provider: AKINON, number: $n) { id } }",
            "variables": {"n": "45243493"},
        },
        {},
    ),
    "a list": ({"query": "{ orders(first: 3) { nodes { number items { sku } } } }"}, {}),
    "not found": ({"query": '{ orderByNumber(provider: KALIXO, number: "nope") { id } }'}, {}),
    "a bad id": ({"query": '{ order(id: "not-an-id") { id } }'}, {}),
    "a parse error": ({"query": "{ orders(first: "}, {}),
    "a parse error, GraphQL media type": ({"query": "{ orders("}, {"Accept": GRAPHQL_JSON}),
    "a validation error": ({"query": "{ nope }"}, {}),
    "a validation error, GraphQL media type": ({"query": "{ nope }"}, {"Accept": GRAPHQL_JSON}),
    "too deep": ({"query": "{ orders(first: 1) { nodes { items { order { number } } } } }"}, {}),
    "too many tokens": ({"query": "{ " + "providers { name } " * 300 + "}"}, {}),
    "two operations, one chosen": ({"query": TWO, "operationName": "B"}, {}),
    "two operations, none chosen": ({"query": TWO}, {}),
    "an unknown operation": ({"query": TWO, "operationName": "C"}, {}),
    "a variable of the wrong type": (
        {"query": "query ($n: Int!) { orders(first: $n) { totalCount } }", "variables": {"n": "x"}},
        {},
    ),
    "a missing variable": ({"query": "query ($n: Int!) { orders(first: $n) { totalCount } }"}, {}),
    "an empty query": ({"query": ""}, {}),
    "no query": ({"variables": {}}, {}),
    "a query that is not a string": ({"query": 1}, {}),
    "variables that are not an object": ({"query": ORDER, "variables": [1]}, {}),
    "an unknown persisted query": (
        {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}},
        {},
    ),
    "a persisted query": (
        {
            "query": ORDER,
            "extensions": {
                "persistedQuery": {
                    "version": 1,
                    "sha256Hash": hashlib.sha256(ORDER.encode()).hexdigest(),
                }
            },
        },
        {},
    ),
    "a mutation's user error": (
        {"query": 'mutation { cancelOrder(input: {orderId: "bad"}) { userErrors { code } } }'},
        {},
    ),
    "not JSON": (b"{not json", {}),
    "a batch": ([{"query": "{ providers { name } }"}], {}),
}


@pytest.fixture
async def both() -> AsyncIterator[Gateway]:
    limits = {"max_depth": 4, "max_tokens": 500}
    async with gateway_with(names=("akinon", "kalixo"), server=limits) as gw:
        yield gw


async def answer(gw: Gateway, body: Any, headers: dict[str, str]) -> tuple[Any, ...]:
    send = {
        "Authorization": f"Bearer {gw.key}",
        "Content-Type": "application/json",
        "X-Request-ID": "same-for-both",
        **headers,
    }
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    async with gw.session.post(gw.url, data=data, headers=send) as response:
        return (
            response.status,
            await response.read(),
            response.headers.get("Content-Type"),
            response.headers.get("Cache-Control"),
        )


def logged(caplog: pytest.LogCaptureFixture) -> list[tuple[Any, ...]]:
    """The error log's lines (graph/schema.py's ``process_errors``), then forgets them."""
    found = [
        (r.levelname, r.getMessage(), getattr(r, "error", None), getattr(r, "path", None))
        for r in caplog.records
        if r.name == "commerce_graph.errors"
    ]
    caplog.clear()
    return found


@pytest.mark.parametrize("case", CASES)
async def test_the_short_paths_answer_as_strawberry(
    both: Gateway, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="commerce_graph.errors")
    body, headers = CASES[case]
    view = both.app.state.view
    ours, our_log = await answer(both, body, headers), logged(caplog)
    pipeline: Pipeline = view.schema.pipeline
    try:
        view.schema.pipeline = None  # the steps as strawberry's extension
        view.single_operation = lambda scope: None  # strawberry's run for every request
        theirs, their_log = await answer(both, body, headers), logged(caplog)
    finally:
        view.schema.pipeline = pipeline
        del view.single_operation
    assert ours == theirs
    assert our_log == their_log
    assert ours[1].startswith(b"{") or ours[1].startswith(b"[")  # a GraphQL body, always


async def test_the_cases_are_real(both: Gateway) -> None:
    """The cases provoke what they are named for."""

    async def codes(case: str) -> tuple[int, list[Any]]:
        status, body, *_ = await answer(both, *CASES[case])
        errors = orjson.loads(body).get("errors") or []
        return status, [e.get("extensions", {}).get("code") for e in errors]

    assert await codes("an order") == (200, [])
    assert await codes("a parse error") == (200, ["BAD_USER_INPUT"])
    assert await codes("a parse error, GraphQL media type") == (400, ["BAD_USER_INPUT"])
    assert await codes("too deep") == (200, ["QUERY_TOO_COMPLEX"])
    assert await codes("too many tokens") == (200, ["QUERY_TOO_COMPLEX"])
    assert await codes("an unknown persisted query") == (200, ["PERSISTED_QUERY_NOT_FOUND"])
    assert (await codes("an empty query"))[0] == 400
    assert await codes("a mutation's user error") == (200, [])
