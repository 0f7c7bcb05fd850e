"""The limits measure what will run: variables as execution coerces them, and introspection."""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

from graphql import execute_sync, get_introspection_query, parse

from graph.schema import build_schema
from tests.conftest import gateway_with
from tests.harness import Answer, Gateway

NESTED = "{ nodes { number items { sku order { number items { sku name } } } } }"
ORDERS_100 = "{ orders(first: 100) " + NESTED + " }"
ORDERS_N = "query Q($n: Int = 100) { orders(first: $n) " + NESTED + " }"
OVER_COST = {
    "code": "QUERY_TOO_COMPLEX",
    "limit": "max_cost",
    "maximum": 20000,
    "found": 24202,
}


def no_upstream_calls(gw: Gateway) -> None:
    assert {name: gw.calls(name) for name in gw.sandboxes} == {name: [] for name in gw.sandboxes}


def refused(answer: Answer) -> dict[str, Any]:
    """The one error of an answer that ran nothing."""
    assert "data" not in answer.body, answer.body
    assert len(answer.errors) == 1, answer.errors
    extensions: dict[str, Any] = answer.errors[0]["extensions"]
    return extensions


async def test_a_variables_default_or_a_float_costs_what_the_literal_costs(
    gateway: Gateway,
) -> None:
    gateway.clear_calls()
    assert refused(await gateway.query(ORDERS_100)) == OVER_COST
    for variables in (None, {"n": 100}, {"n": 100.0}):
        assert refused(await gateway.query(ORDERS_N, variables)) == OVER_COST, variables
    no_upstream_calls(gateway)
    # 2.0 is the Int 2 (graphql-core coerces it): measured, and run, as two orders.
    found = await gateway.ok(ORDERS_N, {"n": 2.0})
    assert len(found["orders"]["nodes"]) == 2


async def test_max_page_size_holds_for_a_default_and_a_float(gateway: Gateway) -> None:
    gateway.clear_calls()
    document = "query Q($n: Int = 500) { orders(first: $n) { totalCount } }"
    for variables in (None, {"n": 500.0}):
        answer = await gateway.query(document, variables)
        assert refused(answer) == {
            "code": "BAD_USER_INPUT",
            "argument": "first",
            "limit": "max_page_size",
            "maximum": 100,
        }
        assert answer.errors[0]["message"] == (
            "orders(first: 500): first may be at most 100 (max_page_size = 100)"
        )
    no_upstream_calls(gateway)


def frontpayment_ids(count: int) -> list[str]:
    return [
        base64.urlsafe_b64encode(f"Order:frontpayment:ODR{i:09d}".encode()).decode().rstrip("=")
        for i in range(count)
    ]


async def test_ids_from_a_default_cost_what_the_same_ids_cost_as_a_literal(
    gateway: Gateway,
) -> None:
    gateway.clear_calls()
    listed = "[" + ",".join(f'"{i}"' for i in frontpayment_ids(600)) + "]"
    selection = "{ ... on Order { number items { sku order { number items { sku } } } } }"
    expected = {"code": "QUERY_TOO_COMPLEX", "limit": "max_cost", "maximum": 20000, "found": 85201}
    literal = await gateway.query("{ nodes(ids: " + listed + ") " + selection + " }")
    assert refused(literal) == expected
    default = await gateway.query(
        "query($ids: [ID!]! = " + listed + ") { nodes(ids: $ids) " + selection + " }"
    )
    assert refused(default) == expected
    no_upstream_calls(gateway)


async def test_each_object_of_a_list_costs_one_whatever_it_selects(gateway: Gateway) -> None:
    """`nodes` reads every id upstream even when only `__typename` is selected: 20,000 ids
    cost 20,001 (they cost 1, and an audit's 30,000 Kalixo ids made 30,000 reads)."""
    gateway.clear_calls()
    ids = frontpayment_ids(20_000)
    for selection in ("{ __typename }", "{ ... on Order { __typename } }"):
        answer = await gateway.query(
            "query($ids: [ID!]!) { nodes(ids: $ids) " + selection + " }", {"ids": ids}
        )
        assert refused(answer) == {
            "code": "QUERY_TOO_COMPLEX",
            "limit": "max_cost",
            "maximum": 20000,
            "found": 20001,
        }
    no_upstream_calls(gateway)
    # A few are fine, and read once each.
    found = await gateway.ok('{ nodes(ids: ["' + frontpayment_ids(1)[0] + '"]) { __typename } }')
    assert found == {"nodes": [None]}


async def test_a_document_longer_than_max_query_length_is_refused(gateway: Gateway) -> None:
    """The memos keep the texts of the documents they remember: 128 one-off documents of a
    megabyte of comment held 300 MB. A document is at most 100,000 characters."""
    gateway.clear_calls()
    padded = '{ orderByNumber(provider: AKINON, number: "45243493") { id } } #' + "x" * 100_000
    assert refused(await gateway.query(padded)) == {
        "code": "QUERY_TOO_COMPLEX",
        "limit": "max_query_length",
        "maximum": 100_000,
    }
    no_upstream_calls(gateway)
    fits = padded[:100_000]
    assert (await gateway.ok(fits))["orderByNumber"]["id"]


async def test_long_variables_are_measured_each_time_not_remembered(gateway: Gateway) -> None:
    """Each distinct variables' measure was remembered with the variables as its key: 128
    one-off megabytes of variables held 130 MB."""
    measured = gateway.app.state.view.schema.pipeline.measured._found
    document = "query($id: ID!) { node(id: $id) { id } }"
    before = len(measured)
    for i in range(5):
        answer = await gateway.query(document, {"id": f"{i}" + "x" * 20_000})
        assert answer.codes == ["BAD_USER_INPUT"]  # measured, run, and no id of ours
    assert len(measured) == before
    await gateway.query(document, {"id": "short"})
    assert len(measured) == before + 1


async def test_admission_weighs_a_page_size_from_a_default() -> None:
    """Admission takes the same measure: a default of 50 weighs 50 orders, not 20."""
    big = "query Big($n: Int = 50) { orders(first: $n) { nodes { number items { sku } } } }"
    async with gateway_with(names=("akinon",), server={"max_inflight_cost": 600}) as gw:
        await gw.ok(big)  # logs in first
        gw.clear_calls()
        gw.faults("akinon").update({"latency_s": 0.25, "only_paths": ["/orders/"]})
        began = time.perf_counter()
        answers = await asyncio.gather(gw.ok(big), gw.ok(big))
        elapsed = time.perf_counter() - began
        assert [len(a["orders"]["nodes"]) for a in answers] == [50, 50]
        # Each weighs 602 (at 20 orders it would be 242): the second waits for the first.
        assert elapsed >= 0.5
        assert len(gw.calls("akinon", "/orders/")) == 2


def schema_copies(per_schema: int, schemas: int) -> str:
    """The audit's document: ``schemas`` aliased ``__schema``, each ``per_schema`` aliased
    ``types`` with their fields."""
    fragment_s = " ".join(f"a{i}: types {{ ...F }}" for i in range(per_schema))
    root = " ".join(f"b{j}: __schema {{ ...S }}" for j in range(schemas))
    return (
        "fragment F on __Type { fields { name args { name } type { name } } } "
        f"fragment S on __Schema {{ {fragment_s} }} {{ {root} }}"
    )


async def test_introspection_is_held_to_every_limit_before_it_runs(gateway: Gateway) -> None:
    gateway.clear_calls()
    began = time.perf_counter()
    copies = refused(await gateway.query(schema_copies(100, 20)))  # answered 27.7 MB before
    assert time.perf_counter() - began < 2.0
    assert copies == {
        "code": "QUERY_TOO_COMPLEX",
        "limit": "max_aliases",
        "maximum": 50,
        "found": 2020,
    }
    # Few aliases, each a copy of every type's fields: the cost is what they would answer.
    assert refused(await gateway.query(schema_copies(5, 5))) == {
        "code": "QUERY_TOO_COMPLEX",
        "limit": "max_cost",
        "maximum": 20000,
        "found": 25230,
    }
    aliased = "{ __schema { " + " ".join(f"q{i}: queryType {{ name }}" for i in range(51)) + " } }"
    assert refused(await gateway.query(aliased))["limit"] == "max_aliases"
    # Depth counts inside introspection too (past graphql-core's own introspection depth rule).
    deep = (
        "{ __schema { directives { args { type { ofType { ofType { ofType { fields { args { "
        "type { ofType { ofType { name } } } } } } } } } } } } }"
    )
    assert refused(await gateway.query(deep)) == {
        "code": "QUERY_TOO_COMPLEX",
        "limit": "max_depth",
        "maximum": 12,
        "found": 13,
    }
    no_upstream_calls(gateway)


async def test_introspection_counts_toward_max_cost() -> None:
    async with gateway_with(names=("akinon",), server={"max_cost": 1000}) as gw:
        answer = await gw.query(get_introspection_query())
        assert refused(answer)["limit"] == "max_cost"
        assert refused(answer)["found"] > 1000
        assert await gw.ok("{ __schema { queryType { name } } }") == {
            "__schema": {"queryType": {"name": "Query"}}
        }


async def test_clients_introspection_queries_run_under_the_default_limits(
    gateway: Gateway,
) -> None:
    schema = build_schema()._schema
    documents = [
        # GraphiQL's, as strawberry's page configures it (inputValueDeprecation: true)
        get_introspection_query(input_value_deprecation=True),
        get_introspection_query(),
        get_introspection_query(
            descriptions=True,
            specified_by_url=True,
            directive_is_repeatable=True,
            schema_description=True,
            input_value_deprecation=True,
        ),
        # graphql-http's audit (tests/test_graphql_http_audit.py)
        '{ __type(name: "Run🏃Swim🏊") { name } }',
        'query Type { __type(name: "Order") { name } }',
    ]
    for document in documents:
        expected = execute_sync(schema, parse(document)).data
        assert await gateway.ok(document) == expected
