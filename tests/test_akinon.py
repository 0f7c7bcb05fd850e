"""Akinon through the contract: lists, filters, lookups, batching, reject, and its failures."""

from __future__ import annotations

import asyncio
import base64
import math
import time
from decimal import Decimal

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from graphql import GraphQLObjectType, get_named_type
from strawberry.types.base import get_object_definition
from strawberry.utils.str_converters import to_camel_case

from graph import ids
from graph.config import Config
from graph.cursors import cursor_for, scope_of
from graph.schema import build_schema
from graph.types.order import READS, Order
from graph.types.plan import AMOUNTS
from providers import model
from providers.http import HttpClient, UpstreamSettings
from providers.model import Money, ProviderName
from providers.sandbox import akinon_data as data
from providers.sandbox.akinon import STATE
from tests.conftest import gateway_with
from tests.harness import Gateway

ORDER_FIELDS = """
  id number status providerStatus paymentStatus placedAt
  total { amount currency } discount { amount currency } shipping { amount currency }
"""


def order_id(key: str) -> str:
    return ids.encode("Order", ProviderName.AKINON, key)


async def test_order_by_number_maps_the_pages_example(gateway: Gateway) -> None:
    found = await gateway.ok(
        f'{{ orderByNumber(provider: AKINON, number: "45243493") {{ {ORDER_FIELDS} }} }}'
    )
    order = found["orderByNumber"]
    assert order == {
        "id": order_id(data.EXAMPLE_ORDER_ID),
        "number": "45243493",
        "status": "PENDING",
        "providerStatus": "100",
        "paymentStatus": "PAID",
        "placedAt": "2019-01-01T00:00:00+00:00",
        "total": {"amount": "629.00", "currency": "USD"},
        "discount": {"amount": "0.00", "currency": "USD"},
        "shipping": {"amount": "0.00", "currency": "USD"},
    }
    [call] = gateway.calls("akinon", "/orders/")
    assert call.query["number__in"] == "45243493"


async def test_unknown_status_code_is_unknown_with_the_raw_value(gateway: Gateway) -> None:
    found = await gateway.ok(
        '{ orderByNumber(provider: AKINON, number: "90000450") { status providerStatus } }'
    )
    assert found["orderByNumber"] == {"status": "UNKNOWN", "providerStatus": "450"}


async def test_amounts_keep_the_text_akinon_sent_and_equal_texts_share_one_money(
    gateway: Gateway,
) -> None:
    """Amounts read as text are remembered by their exact text (``Money.of``): "12.5" and
    "12.50" are equal numbers but each order answers its own."""
    state = gateway.sandboxes["akinon"].app[STATE]
    by_number = {row.data["number"]: row for row in state.orders.values()}
    first, second = sorted(by_number)[:2]
    by_number[first].data["amount"] = "12.5"
    by_number[second].data["amount"] = "12.50"
    found = await gateway.ok(
        f'{{ a: orderByNumber(provider: AKINON, number: "{first}") {{ total {{ amount }} }} '
        f'b: orderByNumber(provider: AKINON, number: "{second}") {{ total {{ amount }} }} }}'
    )
    assert found == {"a": {"total": {"amount": "12.5"}}, "b": {"total": {"amount": "12.50"}}}
    assert Money.of("0.00", "usd") is Money.of("0.00", "usd")
    assert Money.of("0.00", "usd") == Money(Decimal("0.00"), "USD")


async def test_refunded_is_the_money_returned_shipping_refund_included(gateway: Gateway) -> None:
    """Akinon refunds an order's shipping apart (``shipping_refund_amount``) from the rest
    (``refund_amount``): ``refunded`` counted the rest alone, so 23 of the 26 fully cancelled
    orders read PARTIALLY_REFUNDED (50764032: 6283.98 paid, 6273.99 refunded). The refunds
    Akinon reports stay in ``details``, as it sent them."""
    state = gateway.sandboxes["akinon"].app[STATE]
    by_number = {row.data["number"]: row.data for row in state.orders.values()}
    shipping_only = next(
        n for n, o in by_number.items() if o["status"] == 600 and o["shipping_amount"] != "0.00"
    )
    by_number[shipping_only]["shipping_refund_amount"] = by_number[shipping_only]["shipping_amount"]
    cancelled = await gateway.ok(
        """{ orders(first: 100, filter: {status: [CANCELLED]}) {
            totalCount nodes { number paymentStatus total { amount } refunded { amount } details }
        } }"""
    )
    nodes = cancelled["orders"]["nodes"]
    assert cancelled["orders"]["totalCount"] == len(nodes) == 26
    assert {n["paymentStatus"] for n in nodes} == {"REFUNDED"}
    assert all(n["refunded"] == n["total"] for n in nodes)
    [example] = [n for n in nodes if n["number"] == "50764032"]
    assert example["refunded"] == {"amount": "6283.98"}
    assert {
        k: example["details"][k] for k in ("shipping_refund_amount", "discount_refund_amount")
    } == {
        "shipping_refund_amount": "9.99",
        "discount_refund_amount": "0.00",
    }
    assert len(gateway.calls("akinon", "/orders/")) == 1
    partly = await gateway.ok(
        "query($n: String!) { orderByNumber(provider: AKINON, number: $n) { "
        "paymentStatus refunded { amount currency } } }",
        {"n": shipping_only},
    )
    assert partly["orderByNumber"] == {
        "paymentStatus": "PARTIALLY_REFUNDED",
        "refunded": {
            "amount": by_number[shipping_only]["shipping_amount"],
            "currency": by_number[shipping_only]["currency"].upper(),
        },
    }


ORDER_DETAILS = """cancel_status tracking_number shipping_company shipping_refund_amount
    discount_refund_amount shipping_tax_rate invoice_date e_archive_url cargo_company has_gift_box
    gift_box_note language_code notes delivery_range shipping_option_slug
    shipping_interest_amount""".split()
ITEM_DETAILS = "cancel_status retail_price invoice_number invoice_date e_archive_url".split()


async def test_details_hold_the_pages_fields_that_have_no_field_of_their_own(
    gateway: Gateway,
) -> None:
    """The page's order and item fields with no typed home were only in ``raw`` (scope
    raw:read), and an item's ``details`` was always null though the page gives items a
    ``cancel_status``. They are in ``details`` as Akinon sent them (decimals as text); the
    free-form ``extra_field`` stays in ``raw``."""
    document = """query($n: String!) { orderByNumber(provider: AKINON, number: $n) {
        details items { details } } }"""
    example = (await gateway.ok(document, {"n": data.EXAMPLE_ORDER_NUMBER}))["orderByNumber"]
    assert example == {
        "details": {
            "cancel_status": None, "tracking_number": None, "shipping_company": None,
            "shipping_refund_amount": "0.00", "discount_refund_amount": "0.00",
            "shipping_tax_rate": None, "invoice_date": None, "e_archive_url": None,
            "cargo_company": None, "has_gift_box": False, "gift_box_note": None,
            "language_code": None, "notes": None, "delivery_range": None,
            "shipping_option_slug": None, "shipping_interest_amount": "0.00",
        },
        "items": [
            {
                "details": {
                    "cancel_status": None, "retail_price": None, "invoice_number": None,
                    "invoice_date": None, "e_archive_url": None,
                }
            }
        ],
    }  # fmt: skip
    plan_order = (await gateway.ok(document, {"n": data.PLAN_ORDER_NUMBER}))["orderByNumber"]
    assert [i["details"]["cancel_status"] for i in plan_order["items"]] == ["waiting"] * 2
    # A gift-boxed, invoiced order: every value as the sandbox holds it, types and all.
    state = gateway.sandboxes["akinon"].app[STATE]
    gifted = next(
        row.data
        for row in state.data.orders
        if row.data["has_gift_box"] and row.data["invoice_number"] and row.data["shipping_tax_rate"]
    )
    found = (await gateway.ok(document, {"n": gifted["number"]}))["orderByNumber"]
    assert found["details"] == {k: gifted[k] for k in ORDER_DETAILS}
    assert found["details"]["has_gift_box"] is True
    items = [row.data for row in state.data.items if row.data["order"] == gifted["id"]]
    assert [i["details"] for i in found["items"]] == [
        {k: item[k] for k in ITEM_DETAILS} for item in items
    ]
    assert all(i["details"]["invoice_number"] == gifted["invoice_number"] for i in found["items"])
    assert any(i["details"]["retail_price"] for i in found["items"])


def test_details_are_what_the_connector_worked_out_and_the_records_named_fields() -> None:
    """Akinon's details are named, not copied: the fields of the record are read when
    ``details`` is asked for (a page whose details nobody selected builds none), beside any
    the connector worked out itself."""
    order = model.Order(
        provider=ProviderName.AKINON, key="k", number="n", extra={"worked_out": 1},
        raw={"cancel_status": "waiting", "notes": "n", "other": 2},
        raw_details=("cancel_status", "tracking_number", "notes"),
    )  # fmt: skip
    assert order.details() == {
        "worked_out": 1, "cancel_status": "waiting", "tracking_number": None, "notes": "n",
    }  # fmt: skip
    plain = model.OrderItem(provider=ProviderName.KALIXO, key="i", order_key="o", extra={"a": 1})
    assert plain.details() is plain.extra


async def test_a_record_without_a_currency_is_in_the_configured_one() -> None:
    """An order or item that names no currency is in ``[providers.akinon].currency``; one that
    names it in lower case is read in upper case."""
    async with gateway_with({"akinon": {"currency": "try"}}, names=("akinon",)) as gw:
        state = gw.sandboxes["akinon"].app[STATE]
        order = next(r for r in state.orders.values() if r.data["number"] == "90000700")
        order.data["currency"] = None
        items = [r for r in state.items.values() if r.data["order"] == order.data["id"]]
        assert items
        for item in items:
            item.data["price_currency"] = None
        items[0].data["price_currency"] = "eur"
        found = await gw.ok(
            '{ orderByNumber(provider: AKINON, number: "90000700") { currency '
            "total { currency } items { unitPrice { currency } } "
            "cancellationPlans { refund { currency } } } }"
        )
    answer = found["orderByNumber"]
    assert answer["currency"] == answer["total"]["currency"] == "TRY"
    assert [i["unitPrice"]["currency"] for i in answer["items"]] == ["EUR"] + ["TRY"] * (
        len(items) - 1
    )
    assert {p["refund"]["currency"] for p in answer["cancellationPlans"]} == {"TRY"}


async def test_ids_round_trip_through_order_node_and_nodes(gateway: Gateway) -> None:
    oid = order_id(data.EXAMPLE_ORDER_ID)
    item = ids.encode("OrderItem", ProviderName.AKINON, data.EXAMPLE_ITEM_ID)
    address = ids.encode("CustomerAddress", ProviderName.AKINON, data.EXAMPLE_ADDRESS_ID)
    plan = ids.encode("CancellationPlan", ProviderName.AKINON, data.EXAMPLE_PLAN_ID)
    answer = await gateway.ok(
        """query($o: ID!, $ids: [ID!]!) {
          order(id: $o) { id number }
          node(id: $o) { id ... on Order { number } }
          nodes(ids: $ids) {
            id __typename
            ... on OrderItem { sku order { number } }
            ... on CustomerAddress { email }
            ... on CancellationPlan { planType items { id } order { number } }
          }
        }""",
        {"o": oid, "ids": [item, address, plan]},
    )
    assert answer["order"] == {"id": oid, "number": "45243493"}
    assert answer["node"] == {"id": oid, "number": "45243493"}
    item_node, address_node, plan_node = answer["nodes"]
    assert item_node == {
        "id": item,
        "__typename": "OrderItem",
        "sku": "SP-A",
        "order": {"number": "45243493"},
    }
    assert address_node == {
        "id": address,
        "__typename": "CustomerAddress",
        "email": "akinon@akinon.com",
    }
    assert plan_node["planType"] == "cancel"
    assert plan_node["order"] == {"number": data.PLAN_ORDER_NUMBER}
    assert [i["id"] for i in plan_node["items"]] == [
        ids.encode("OrderItem", ProviderName.AKINON, k) for k in data.EXAMPLE_PLAN_ITEM_IDS
    ]


@pytest.mark.parametrize("bad", ["not-an-id", "T3JkZXI6bm9wZTox", "!!!"])
async def test_malformed_id_is_bad_user_input(gateway: Gateway, bad: str) -> None:
    answer = await gateway.query("query($id: ID!) { node(id: $id) { id } }", {"id": bad})
    assert answer.codes == ["BAD_USER_INPUT"]
    assert answer.data == {"node": None}
    assert gateway.calls("akinon") == []


async def test_unknown_id_is_not_found_for_order_and_null_for_node(gateway: Gateway) -> None:
    missing = order_id("00000000-0000-4000-8000-000000000000")
    answer = await gateway.query(
        "query($id: ID!) { order(id: $id) { id } node(id: $id) { id } }", {"id": missing}
    )
    assert answer.data == {"order": None, "node": None}
    assert answer.codes == ["NOT_FOUND"]
    assert answer.errors[0]["path"] == ["order"]


async def test_orders_connection_pages_with_total_count(gateway: Gateway) -> None:
    total = len(gateway.sandboxes["akinon"].app[STATE].orders)
    document = """query($after: String) {
      orders(first: 7, after: $after) {
        totalCount pageInfo { hasNextPage hasPreviousPage endCursor }
        edges { cursor node { number } }
      }
    }"""
    first = (await gateway.ok(document))["orders"]
    second = (await gateway.ok(document, {"after": first["pageInfo"]["endCursor"]}))["orders"]
    assert first["totalCount"] == second["totalCount"] == total
    assert first["pageInfo"]["hasNextPage"]
    assert not first["pageInfo"]["hasPreviousPage"]
    assert second["pageInfo"]["hasPreviousPage"]
    numbers = [e["node"]["number"] for e in first["edges"] + second["edges"]]
    assert len(set(numbers)) == 14
    pages = [c.query for c in gateway.calls("akinon", "/orders/")]
    assert pages == [{"page": "1", "limit": "7"}, {"page": "2", "limit": "7"}]


@pytest.mark.parametrize("count", [3_000_000_000, -1])
@pytest.mark.parametrize(
    ("field", "path"),
    [
        ("orders", "/orders/"),
        ("cancellationPlans", "/cancellation-plans/"),
        ("customerAddresses", "/customer-addresses/"),
    ],
)
async def test_a_list_count_the_schema_cannot_serve_is_the_providers_bad_answer(
    gateway: Gateway, field: str, path: str, count: int
) -> None:
    """``totalCount`` is an Int (32 bits): a list ``count`` of 3,000,000,000 was an
    INTERNAL_SERVER_ERROR. Any count outside 0 .. 2^31 - 1 is a PROVIDER_ERROR naming Akinon
    and its field."""
    gateway.faults("akinon").update({"only_paths": [path], "merge": {"count": count}})
    answer = await gateway.query(f"{{ {field}(first: 2) {{ totalCount }} }}")
    [error] = answer.errors
    assert (error["path"], error["extensions"]["code"]) == ([field], "PROVIDER_ERROR")
    assert error["extensions"]["provider"] == "AKINON"
    assert error["message"] == f"akinon: count {count} is not a count from 0 to 2,147,483,647"


@pytest.mark.parametrize("count", [0, 2**31 - 1])
async def test_a_list_count_from_0_to_the_largest_int_is_served(
    gateway: Gateway, count: int
) -> None:
    gateway.faults("akinon").update({"only_paths": ["/orders/"], "merge": {"count": count}})
    found = await gateway.ok("{ orders(first: 2) { totalCount pageInfo { hasNextPage } } }")
    assert found["orders"] == {"totalCount": count, "pageInfo": {"hasNextPage": count > 2}}


PAGE_OF_ORDERS = """query($after: String) {
  orders(first: 60, after: $after) { nodes { number } pageInfo { endCursor } } }"""


async def test_a_deployment_capping_its_pages_is_learnt_and_every_page_is_exact(
    gateway: Gateway,
) -> None:
    """A deployment whose DRF ``max_page_size`` is below the ``limit`` asked for answers fewer
    records without a word: page 2 of 60 was records 50..99, so the second page of
    ``orders(first: 60)`` repeated ten orders and skipped ten. A page holding fewer than asked
    for while ``next`` says more follow shows the cap, which later pages are numbered by."""
    state = gateway.sandboxes["akinon"].app[STATE]
    state.max_page_size = 50
    numbers = [row.data["number"] for row in state.data.orders]
    first = (await gateway.ok(PAGE_OF_ORDERS))["orders"]
    after = {"after": first["pageInfo"]["endCursor"]}
    second = (await gateway.ok(PAGE_OF_ORDERS, after))["orders"]
    assert [n["number"] for n in first["nodes"]] == numbers[:60]
    assert [n["number"] for n in second["nodes"]] == numbers[60:120]
    # Page 1 is right whatever the cap; its ``next`` carries on from where it ended.
    assert [c.query for c in gateway.calls("akinon", "/orders/")] == [
        {"page": "1", "limit": "60"},
        {"page": "2", "limit": "60"},
        {"page": "2", "limit": "50"},
        {"page": "3", "limit": "50"},
    ]


@pytest.mark.parametrize(
    ("offset", "pages"),
    [
        # Page 2 of 60 held 50 and named a next page: the cap is 50; asked again by it.
        (60, [("2", "60"), ("2", "50"), ("3", "50")]),
        # Page 5 of 60 is past the end (240 of 244) but the capped page 5 is the last, 200..243,
        # with no next: the count says how many the pages before it held.
        (240, [("5", "60"), ("5", "50")]),
    ],
)
async def test_a_capped_page_past_the_first_is_asked_again_by_the_cap(
    gateway: Gateway, offset: int, pages: list[tuple[str, str]]
) -> None:
    state = gateway.sandboxes["akinon"].app[STATE]
    state.max_page_size = 50
    numbers = [row.data["number"] for row in state.data.orders]
    assert len(numbers) == 244
    after = {"after": cursor_for(offset - 1, scope_of("orders", {}))}
    found = (await gateway.ok(PAGE_OF_ORDERS, after))["orders"]["nodes"]
    assert [n["number"] for n in found] == numbers[offset : offset + 60]
    calls = gateway.calls("akinon", "/orders/")
    assert [(c.query["page"], c.query["limit"]) for c in calls] == pages


async def test_filters_are_pushed_down_to_akinon(gateway: Gateway) -> None:
    answer = await gateway.ok(
        """{ orders(first: 50, filter: {
              status: [SHIPPED], currency: "usd", minAmount: "100", maxAmount: "5000",
              placedAfter: "2024-01-01T00:00:00Z", placedBefore: "2025-12-31T00:00:00Z"}) {
            totalCount nodes { status total { amount currency } placedAt }
        } }"""
    )
    [call] = gateway.calls("akinon", "/orders/")
    assert call.query == {
        "status": "500",
        "currency": "usd",
        "amount__gte": "100",
        "amount__lte": "5000",
        "date_placed__gte": "2024-01-01T00:00:00+00:00",
        "date_placed__lt": "2025-12-31T00:00:00+00:00",
        "page": "1",
        "limit": "50",
    }
    nodes = answer["orders"]["nodes"]
    assert nodes
    assert answer["orders"]["totalCount"] == len(nodes)
    for node in nodes:
        assert node["status"] == "SHIPPED"
        assert node["total"]["currency"] == "USD"
        assert 100 <= float(node["total"]["amount"]) <= 5000
        assert "2024-01-01" <= node["placedAt"][:10] <= "2025-12-31"


async def test_status_without_an_akinon_code_matches_nothing_without_a_call(
    gateway: Gateway,
) -> None:
    answer = await gateway.ok(
        "{ orders(filter: {status: [INVOICED]}) { totalCount nodes { id } } }"
    )
    assert answer["orders"] == {"totalCount": 0, "nodes": []}
    assert gateway.calls("akinon") == []


async def test_fifty_orders_with_children_make_a_fixed_minimal_number_of_calls(
    gateway: Gateway,
) -> None:
    answer = await gateway.ok(
        """{ orders(first: 50) { nodes {
            number
            items { sku status }
            again: items { sku }
            shippingAddress { city }
            billingAddress { city }
            cancellationPlans { planType refund { amount } }
        } } }"""
    )
    nodes = answer["orders"]["nodes"]
    assert len(nodes) == 50
    state = gateway.sandboxes["akinon"].app[STATE]
    by_number = {row.data["number"]: row.data for row in state.orders.values()}
    order_ids = {by_number[n["number"]]["id"] for n in nodes}
    items = sum(1 for row in state.items.values() if row.data["order"] in order_ids)
    assert sum(len(n["items"]) for n in nodes) == items
    # One list call, the items in pages of 100, one address call, one plan call; the login.
    assert len(gateway.calls("akinon", "/orders/")) == 1
    assert len(gateway.calls("akinon", "/order-items/")) == math.ceil(items / 100)
    assert len(gateway.calls("akinon", "/customer-addresses/")) == 1
    assert len(gateway.calls("akinon", "/cancellation-plans/")) == 1
    assert len(gateway.calls("akinon", "/auth/login/")) == 1
    [address_call] = gateway.calls("akinon", "/customer-addresses/")
    wanted = {
        by_number[n["number"]][k] for n in nodes for k in ("shipping_address", "billing_address")
    }
    assert sorted(address_call.query["id__in"].split(",")) == sorted(wanted)


async def test_orders_of_a_page_answer_their_items_order_without_another_call(
    gateway: Gateway,
) -> None:
    answer = await gateway.ok(
        "{ orders(first: 20) { nodes { number items { order { number status } } } } }"
    )
    nodes = answer["orders"]["nodes"]
    assert sum(len(n["items"]) for n in nodes) > 20
    for node in nodes:
        assert {i["order"]["number"] for i in node["items"]} <= {node["number"]}
    assert len(gateway.calls("akinon", "/orders/")) == 1  # the list; each item's order is in it


def child_calls(gateway: Gateway) -> dict[str, int]:
    return {
        path: len(gateway.calls("akinon", f"/{path}/"))
        for path in ("orders", "order-items", "customer-addresses", "cancellation-plans")
    }


async def test_a_page_reads_its_childrens_batches_ahead_through_fragments_and_edges(
    gateway: Gateway,
) -> None:
    """The page's items, addresses and plans are asked for as soon as the page is in
    (``read_ahead``), found through named and inline fragments, aliases and ``edges``; the
    walk then asks for nothing more, and the answer is the one a plain query gets."""
    read_ahead = await gateway.ok(
        """query { orders(first: 5) {
            nodes { number ...Children ... on Order { billingAddress { city } } }
            edges { node { again: items { sku } ... on Node { id } } }
        } }
        fragment Children on Order { items { sku } shippingAddress { city }
            cancellationPlans { planType } }"""
    )
    assert child_calls(gateway) == {
        "orders": 1,
        "order-items": 1,
        "customer-addresses": 1,
        "cancellation-plans": 1,
    }
    gateway.clear_calls()
    plain = await gateway.ok(
        """{ orders(first: 5) { nodes { number items { sku } shippingAddress { city }
            cancellationPlans { planType } billingAddress { city } } } }"""
    )
    nodes = read_ahead["orders"]["nodes"]
    assert nodes == plain["orders"]["nodes"]
    assert [e["node"]["again"] for e in read_ahead["orders"]["edges"]] == [
        n["items"] for n in nodes
    ]
    assert all(n["items"] and n["shippingAddress"]["city"] for n in nodes)


def test_no_field_read_ahead_has_a_permission_check() -> None:
    """A read made ahead reaches the provider before the field's own checks run: only fields
    with none may be read ahead, or a refused field would still cost an upstream call."""
    fields = {
        to_camel_case(f.python_name): f for f in get_object_definition(Order, strict=True).fields
    }
    assert set(READS) <= set(fields)
    for name in READS:
        assert not fields[name].permission_classes, name
        assert not fields[name].extensions, name


@pytest.mark.parametrize(
    ("selection", "variables", "calls"),
    [
        ("items @skip(if: $x) { sku }", {"x": True}, {"order-items": 0}),
        ("items @skip(if: $x) { sku }", {"x": False}, {"order-items": 1}),
        ("... on Order @include(if: $x) { cancellationPlans { planType } }", {"x": False},
         {"cancellation-plans": 0}),
        ("...Address @include(if: $x)", {"x": False}, {"customer-addresses": 0}),
        ("...Address @include(if: $x)", {"x": True}, {"customer-addresses": 1}),
    ],
)  # fmt: skip
async def test_a_field_that_may_not_run_is_not_read_ahead(
    gateway: Gateway, selection: str, variables: dict[str, bool], calls: dict[str, int]
) -> None:
    """Reading ahead asks only for what the request is sure to read: a field under ``@skip``
    or ``@include`` is read, or not, by the walk, as its directive says."""
    document = "query($x: Boolean!) { orders(first: 3) { nodes { number " + selection + " } } }"
    if "...Address" in selection:
        document += " fragment Address on Order { shippingAddress { city } }"
    await gateway.ok(document, variables)
    await asyncio.sleep(0.2)  # a read made ahead and never awaited would still be on its way
    made = child_calls(gateway)
    assert {path: made[path] for path in calls} == calls
    assert made["orders"] == 1


async def test_reject_order_item_answers_the_item_reread(gateway: Gateway) -> None:
    item = ids.encode("OrderItem", ProviderName.AKINON, data.REJECTABLE_ITEM_IDS[0])
    answer = await gateway.ok(
        """mutation($id: ID!) { rejectOrderItem(input: {itemId: $id}) {
            item { id status providerStatus } userErrors { field message code providerCode }
        } }""",
        {"id": item},
    )
    assert answer["rejectOrderItem"] == {
        "item": {"id": item, "status": "REJECTED", "providerStatus": "900"},
        "userErrors": [],
    }
    [reject] = gateway.calls("akinon", "/reject/", "POST")
    assert reject.path == f"/api/i1/order-items/{data.REJECTABLE_ITEM_IDS[0]}/reject/"


async def test_reject_of_a_packaged_item_is_a_user_error(gateway: Gateway) -> None:
    state = gateway.sandboxes["akinon"].app[STATE]
    packaged = next(k for k, row in state.items.items() if row.data["status"] == 400)
    item = ids.encode("OrderItem", ProviderName.AKINON, packaged)
    answer = await gateway.ok(
        """mutation($id: ID!) { rejectOrderItem(input: {itemId: $id}) {
            item { id } userErrors { field message code providerCode }
        } }""",
        {"id": item},
    )
    [error] = answer["rejectOrderItem"]["userErrors"]
    assert answer["rejectOrderItem"]["item"] is None
    assert error["code"] == "REJECTED_BY_PROVIDER"
    assert error["providerCode"] == "order_item_not_rejectable"
    assert "Packaged" in error["message"]
    assert state.items[packaged].data["status"] == 400


async def test_reject_with_a_malformed_id_is_a_user_error_and_no_call(gateway: Gateway) -> None:
    answer = await gateway.ok(
        'mutation { rejectOrderItem(input: {itemId: "nope"}) '
        "{ item { id } userErrors { field code } } }"
    )
    assert answer["rejectOrderItem"]["userErrors"] == [
        {"field": ["input", "itemId"], "code": "BAD_USER_INPUT"}
    ]
    assert gateway.calls("akinon") == []


@pytest.mark.parametrize(
    "fault", [{"body": {}}, {"body": {"detail": "ok"}}, {"malformed": True}, {"wrong_shape": True}]
)
async def test_a_reject_answered_with_a_body_may_have_been_applied(
    gateway: Gateway, fault: dict[str, object]
) -> None:
    """The page answers a reject 204 No Content and nothing else. A 200 with a body (``{}``,
    ``[]``, a cut-off JSON) was a success, the item re-read as if rejected; it says nothing of
    what was done: a PROVIDER_ERROR that may have been applied (not retryable), no re-read."""
    item = ids.encode("OrderItem", ProviderName.AKINON, data.REJECTABLE_ITEM_IDS[0])
    gateway.faults("akinon").update(fault | {"only_paths": ["/reject/"]})
    answer = await gateway.query(
        """mutation($id: ID!) { rejectOrderItem(input: {itemId: $id}) {
            item { id status } userErrors { code } } }""",
        {"id": item},
    )
    assert answer.data == {"rejectOrderItem": None}
    [error] = answer.errors
    assert error["path"] == ["rejectOrderItem"]
    assert (error["extensions"]["code"], error["extensions"]["retryable"]) == (
        "PROVIDER_ERROR",
        False,
    )
    assert error["message"] == (
        "akinon: a 200 answer with a body to a reject (the page answers 204 No Content); the "
        "request may have been applied"
    )
    assert len(gateway.calls("akinon", "/reject/", "POST")) == 1
    assert gateway.calls("akinon", "/order-items/", "GET") == []
    state = gateway.sandboxes["akinon"].app[STATE]
    assert state.items[data.REJECTABLE_ITEM_IDS[0]].data["status"] != 900  # never rejected


async def test_cancellation_plans_and_customer_addresses_connections(gateway: Gateway) -> None:
    answer = await gateway.ok(
        """{
          cancellationPlans(first: 3, filter: {orderNumber: "90000700"}) {
            totalCount nodes {
              id planType status invoiceNumber refund { amount currency } order { number currency }
            }
          }
          customerAddresses(first: 2, filter: {email: "akinon@akinon.com"}) {
            totalCount nodes { firstName lastName line postcode isActive phone }
          }
        }"""
    )
    plans = answer["cancellationPlans"]
    assert plans["totalCount"] == 1
    assert plans["nodes"][0]["invoiceNumber"] == "1234"
    # A plan has no currency of its own: it is its order's, read once for every plan of the page
    # by the connector; the plan's `order` field is the same read, shared (providers.http.Reads).
    state = gateway.sandboxes["akinon"].app[STATE]
    currency = state.orders[data.EXAMPLE_PLAN_ORDER_ID].data["currency"].upper()
    assert plans["nodes"][0]["refund"] == {"amount": "1.00", "currency": currency}
    assert plans["nodes"][0]["order"] == {"number": "90000700", "currency": currency}
    assert len(gateway.calls("akinon", "/orders/")) == 1
    addresses = answer["customerAddresses"]
    assert addresses["totalCount"] >= 1
    assert addresses["nodes"][0]["line"] == "Address Text"
    assert gateway.calls("akinon", "/cancellation-plans/")[0].query["order__number"] == "90000700"


@pytest.mark.parametrize(
    ("selection", "orders"),
    [
        ("totalCount nodes { id planType status invoiceNumber items { id } raw }", 0),
        ("edges { cursor node { id planType } } pageInfo { hasNextPage }", 0),
        ("nodes { refund { amount currency } }", 1),
        ("edges { node { shippingRefund { amount } } }", 1),
        ("nodes { ...Amounts }", 1),
        ("... on CancellationPlanConnection { nodes { ... on Node { ... on CancellationPlan {"
         " refund { amount } } } } }", 1),
        # Whether it will be shown depends on the variable: read as if it will.
        ("nodes { id discountRefund @include(if: $x) { amount } }", 1),
        ("nodes { id ...Amounts @skip(if: $x) }", 1),
        # The plan's order, and no amount: the order field's own read, the only one.
        ("nodes { order { number } }", 1),
    ],
)  # fmt: skip
async def test_a_page_of_plans_reads_their_orders_only_when_it_may_show_an_amount(
    gateway: Gateway, selection: str, orders: int
) -> None:
    """A plan names no currency: its amounts are in its order's, so the page's orders were read
    with every page of plans, even one showing no amount. Now only when an amount may be shown
    (under ``@skip``/``@include`` too); a page showing none makes no order read at all."""
    variables = "($x: Boolean!)" if "$x" in selection else ""
    document = f"query{variables} {{ cancellationPlans(first: 5) {{ {selection} }} }}"
    if "...Amounts" in selection:
        document += " fragment Amounts on CancellationPlan { discountRefund { amount } }"
    found = await gateway.ok(document, {"x": False} if variables else None)
    assert len(gateway.calls("akinon", "/cancellation-plans/")) == 1
    assert len(gateway.calls("akinon", "/orders/")) == orders
    plans = found["cancellationPlans"]
    assert len(plans.get("nodes") or plans.get("edges")) == 5


@pytest.mark.parametrize(
    ("selection", "orders"),
    [
        ("id ... on CancellationPlan { planType status invoiceNumber }", 0),
        ("__typename", 0),
        ("... on Order { number total { amount } }", 0),  # an Order's amount: not a plan's
        ("... on CancellationPlan { refund { amount currency } }", 1),
        ("...Amounts", 1),
        ("... on Node { ... on CancellationPlan { shippingRefund @skip(if: true) { amount } } }",
         1),
    ],
)  # fmt: skip
@pytest.mark.parametrize("field", ["node(id: $id)", "nodes(ids: [$id])"])
async def test_a_plan_by_id_reads_its_order_only_when_it_may_show_an_amount(
    gateway: Gateway, field: str, selection: str, orders: int
) -> None:
    """As a page of plans: ``node`` and ``nodes`` read a plan's order for the currency of its
    amounts only where one may be shown; a plan read for its id and status is one call."""
    plan = ids.encode("CancellationPlan", ProviderName.AKINON, data.EXAMPLE_PLAN_ID)
    document = f"query($id: ID!) {{ found: {field} {{ {selection} }} }}"
    if "...Amounts" in selection:
        document += " fragment Amounts on CancellationPlan { discountRefund { amount } }"
    found = await gateway.ok(document, {"id": plan})
    node = found["found"] if field.startswith("node(") else found["found"][0]
    assert node is not None
    assert len(gateway.calls("akinon", "/cancellation-plans/")) == 1
    assert len(gateway.calls("akinon", "/orders/")) == orders
    if "refund {" in selection:  # in its order's currency, read for it
        order = gateway.sandboxes["akinon"].app[STATE].orders[data.EXAMPLE_PLAN_ORDER_ID]
        assert node["refund"]["currency"] == order.data["currency"].upper()


def test_every_amount_of_a_plan_is_one_that_needs_its_orders_currency() -> None:
    """A Money field of CancellationPlan missing from ``AMOUNTS`` would be shown from a page
    that read no currency for it."""
    plan = build_schema()._schema.get_type("CancellationPlan")
    assert isinstance(plan, GraphQLObjectType)
    money = {name for name, f in plan.fields.items() if get_named_type(f.type).name == "Money"}
    assert money == AMOUNTS


async def test_a_page_of_plans_shows_its_amounts_in_each_orders_currency(
    gateway: Gateway,
) -> None:
    """The amounts read as they were: the plans read without them, then with them, each in its
    order's currency."""
    document = "{ cancellationPlans(first: 5) { nodes { id refund { amount currency } } } }"
    state = gateway.sandboxes["akinon"].app[STATE]
    bare = await gateway.ok("{ cancellationPlans(first: 5) { nodes { id } } }")
    found = await gateway.ok(document)
    assert [n["id"] for n in found["cancellationPlans"]["nodes"]] == [
        n["id"] for n in bare["cancellationPlans"]["nodes"]
    ]
    plans = {str(row.data["id"]): row.data for row in state.data.plans}
    for node in found["cancellationPlans"]["nodes"]:
        plan = plans[ids.decode(node["id"], "CancellationPlan").key]
        currency = state.orders[str(plan["order"])].data["currency"].upper()
        assert node["refund"]["currency"] == currency
        assert Decimal(node["refund"]["amount"]) == Decimal(str(plan["refund_amount"]))
    assert len(gateway.calls("akinon", "/orders/")) == 1


async def test_listing_where_a_provider_cannot_is_unsupported(gateway: Gateway) -> None:
    answer = await gateway.query("{ orders(filter: {provider: KALIXO}) { totalCount } }")
    assert answer.codes == ["UNSUPPORTED_OPERATION"]
    assert answer.errors[0]["extensions"]["provider"] == "KALIXO"


async def test_first_beyond_the_maximum_page_is_refused_before_any_call(gateway: Gateway) -> None:
    answer = await gateway.query("{ orders(first: 1000000000) { totalCount } }")
    assert answer.codes == ["BAD_USER_INPUT"]
    assert "at most 100" in answer.errors[0]["message"]
    assert gateway.calls("akinon") == []


async def test_akinon_500_is_a_provider_error_beside_the_rest(gateway: Gateway) -> None:
    gateway.faults("akinon").error_rate = 1.0
    gateway.faults("akinon").only_paths = ["/orders/"]
    answer = await gateway.query(
        '{ orderByNumber(provider: AKINON, number: "45243493") { id } providers { name } }'
    )
    assert answer.codes == ["PROVIDER_ERROR"]
    assert answer.data["orderByNumber"] is None
    ext = answer.errors[0]["extensions"]
    assert (ext["provider"], ext["httpStatus"], ext["retryable"]) == ("AKINON", 500, True)
    assert len(answer.data["providers"]) == 5


async def test_a_failed_child_read_nulls_that_field_of_every_order_and_nothing_else(
    gateway: Gateway,
) -> None:
    """The items of a page come from one batch: when it fails, each order's ``items`` is null
    with its own error, and the addresses and plans, read alongside, are all there."""
    gateway.faults("akinon").error_rate = 1.0
    gateway.faults("akinon").only_paths = ["/order-items/"]
    answer = await gateway.query(
        """{ orders(first: 5) { nodes { number items { sku } shippingAddress { city }
            cancellationPlans { planType } } } }"""
    )
    nodes = answer.data["orders"]["nodes"]
    assert len(nodes) == 5
    assert [n["items"] for n in nodes] == [None] * 5
    assert all(n["shippingAddress"]["city"] for n in nodes)
    assert all(isinstance(n["cancellationPlans"], list) for n in nodes)
    assert answer.codes == ["PROVIDER_ERROR"] * 5
    assert [e["path"] for e in answer.errors] == [["orders", "nodes", i, "items"] for i in range(5)]


async def test_akinon_malformed_body_is_a_provider_error(gateway: Gateway) -> None:
    gateway.faults("akinon").malformed = True
    gateway.faults("akinon").only_paths = ["/orders/"]
    answer = await gateway.query('{ orderByNumber(provider: AKINON, number: "45243493") { id } }')
    assert answer.codes == ["PROVIDER_ERROR"]
    assert "malformed JSON" in answer.errors[0]["message"]


async def test_a_revoked_key_logs_in_again_once(gateway: Gateway) -> None:
    document = '{ orderByNumber(provider: AKINON, number: "45243493") { number } }'
    await gateway.ok(document)
    gateway.sandboxes["akinon"].app[STATE].revoke_key()
    found = await gateway.ok(document)
    assert found["orderByNumber"]["number"] == "45243493"
    assert len(gateway.calls("akinon", "/auth/login/")) == 2


async def test_an_order_read_by_number_or_listed_answers_its_items_order(
    gateway: Gateway,
) -> None:
    answer = await gateway.ok(
        '{ orderByNumber(provider: AKINON, number: "45243493") { items { order { number } } } }'
    )
    assert answer["orderByNumber"]["items"] == [{"order": {"number": "45243493"}}]
    assert len(gateway.calls("akinon", "/orders/")) == 1
    gateway.clear_calls()
    listed = await gateway.ok(
        "{ orders(first: 3) { nodes { number items { order { number } } } } }"
    )
    for node in listed["orders"]["nodes"]:
        assert {i["order"]["number"] for i in node["items"]} == {node["number"]}
    assert len(gateway.calls("akinon", "/orders/")) == 1


async def test_concurrent_requests_share_one_refused_login() -> None:
    async with gateway_with({"akinon": {"password": "not-the-password"}}, names=("akinon",)) as gw:
        gw.faults("akinon").update({"latency_s": 0.3, "only_paths": ["/auth/login/"]})
        document = '{ orderByNumber(provider: AKINON, number: "45243493") { number } }'
        answers = await asyncio.gather(*(gw.query(document) for _ in range(4)))
        assert [a.codes for a in answers] == [["PROVIDER_ERROR"]] * 4
        assert all("not-the-password" not in str(a.body) for a in answers)
        assert len(gw.calls("akinon", "/auth/login/")) == 1
        assert gw.calls("akinon", "/orders/") == []


async def test_akinon_refusing_a_static_token_is_a_provider_error_401() -> None:
    token = {"username": None, "password": None, "token": "a-token-akinon-never-issued"}
    async with gateway_with({"akinon": token}, names=("akinon",)) as gw:
        answer = await gw.query('{ orderByNumber(provider: AKINON, number: "45243493") { id } }')
        [error] = answer.errors
        assert error["extensions"]["code"] == "PROVIDER_ERROR"
        assert (error["extensions"]["httpStatus"], error["extensions"]["retryable"]) == (401, False)
        assert "Invalid token." in error["message"]
        assert "a-token-akinon-never-issued" not in str(answer.body)
        assert len(gw.calls("akinon", "/orders/")) == 1  # a static token is not retried
        assert gw.calls("akinon", "/auth/login/") == []


async def test_a_page_is_read_while_the_next_one_is_on_its_way(gateway: Gateway) -> None:
    """Following ``next``, the connector reads page 1's records while page 2 is on its way,
    not after it has come back (each Akinon answer takes 0.2 s here)."""
    akinon = gateway.app.state.gateway.providers[ProviderName.AKINON]
    state = gateway.sandboxes["akinon"].app[STATE]
    orders = sorted({row.data["order"] for row in state.items.values()})[:60]  # in one URL
    await gateway.ok("{ orders(first: 1) { nodes { id } } }")  # logged in
    gateway.clear_calls()
    gateway.faults("akinon").latency_s = 0.2
    read_at: list[float] = []

    def read(record: dict[str, object]) -> object:
        read_at.append(time.monotonic())
        return record["id"]

    keys = await akinon._all("/api/i1/order-items/", {"order__in": ",".join(orders)}, read)
    done = time.monotonic()

    assert len(keys) > 100
    assert len(gateway.calls("akinon", "/order-items/")) == 2
    assert sorted(keys) == sorted(
        row.data["id"] for row in state.items.values() if row.data["order"] in orders
    )
    assert done - read_at[99] > 0.1  # page 1, read before page 2 came back
    assert done - read_at[100] < 0.1  # page 2


@pytest.mark.parametrize("links_to", ["another server", "https"])
async def test_a_next_link_elsewhere_is_asked_at_the_configured_origin(
    gateway: Gateway, links_to: str
) -> None:
    """Akinon's ``next`` links were followed wherever they pointed, with the token: a link to
    another server got ``Authorization``, and DRF behind a TLS-terminating proxy names the
    scheme it was forwarded (here, the other way round: https to an http-only sandbox). Only
    the link's path and query are taken, asked at the configured base_url's origin."""
    seen: list[str] = []

    async def decoy(request: web.Request) -> web.Response:
        seen.append(f"{request.method} {request.path_qs} {sorted(request.headers)}")
        return web.json_response({"count": 0, "next": None, "previous": None, "results": []})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", decoy)
    state = gateway.sandboxes["akinon"].app[STATE]
    async with TestServer(app) as elsewhere:
        sandbox = gateway.sandboxes["akinon"].base_url
        state.link_origin = (
            str(elsewhere.make_url("")) if links_to == "another server" else "https" + sandbox[4:]
        )
        answer = await gateway.ok("{ orders(first: 50) { nodes { items { sku } } } }")
    assert seen == []
    order_ids = {row.data["id"] for row in state.data.orders[:50]}
    items = [row for row in state.data.items if row.data["order"] in order_ids]
    assert sum(len(n["items"]) for n in answer["orders"]["nodes"]) == len(items) > 100
    calls = gateway.calls("akinon", "/order-items/")
    assert [c.query.get("page") for c in calls] == [None, "2"]  # the link's page, here


@pytest.mark.parametrize(
    ("link", "asked"),
    [
        (".evil.example/api/i1/orders/?page=2", "/prefix/.evil.example/api/i1/orders/?page=2"),
        (":8443/api/i1/orders/?page=2", "/prefix/:8443/api/i1/orders/?page=2"),
        ("@evil.example/x", "/prefix/@evil.example/x"),
        ("0/api/i1/orders/?page=2", "/prefix/0/api/i1/orders/?page=2"),  # port 3000 -> 30000
        ("?page=2", "/prefix/?page=2"),
        ("[1]", "/prefix/[1]"),
    ],
)
def test_a_relative_next_link_stays_at_the_configured_origin(link: str, asked: str) -> None:
    """A link without a host used to be pasted after the base URL as text, where it could
    name another host, port or user (``https://seller.example.com:3000`` and ``0/api/...``
    made port 30000): resolved against the base URL as a browser would, it stays at its
    origin."""
    upstream = HttpClient().upstream(UpstreamSettings("akinon", "https://seller.test:3000/prefix"))
    url = upstream.url(link)
    assert url.startswith("https://seller.test:3000/")
    assert url.removeprefix("https://seller.test:3000") == asked
    assert upstream.url("/api/i1/orders/") == "https://seller.test:3000/prefix/api/i1/orders/"
    bare = HttpClient().upstream(UpstreamSettings("akinon", "https://seller.test:3000"))
    assert bare.url(link).startswith("https://seller.test:3000/")


async def test_a_next_link_that_is_no_text_is_a_provider_error(gateway: Gateway) -> None:
    gateway.faults("akinon").body = {"count": 3, "next": {"url": "x"}, "results": [{"id": 1}]}
    gateway.faults("akinon").only_paths = ["/orders/"]
    answer = await gateway.query("{ orders(first: 5) { nodes { number } } }")
    assert answer.codes == ["PROVIDER_ERROR"]
    assert "a next link that is no URL" in answer.errors[0]["message"]


async def test_an_ignored_in_filter_falls_back_to_one_call_per_key(
    gateway: Gateway,
) -> None:
    """A deployment whose address list ignores ``id__in`` (DRF drops unknown filters) answers
    other addresses: the connector notices, and asks for each address by ``id`` instead."""
    state = gateway.sandboxes["akinon"].app[STATE]
    state.ignore("customer-addresses/", "id__in")
    cities = {row.data["id"]: row.data["city"] for row in state.data.addresses}
    answer = await gateway.ok("{ orders(first: 3) { nodes { number shippingAddress { city } } } }")

    by_number = {row.data["number"]: row.data for row in state.orders.values()}
    nodes = answer["orders"]["nodes"]
    wanted = [by_number[n["number"]]["shipping_address"] for n in nodes]
    assert [n["shippingAddress"]["city"] for n in nodes] == [cities[k] for k in wanted]
    calls = gateway.calls("akinon", "/customer-addresses/")
    batch = [c for c in calls if "id__in" in c.query]
    # The batch stops at the page where the foreign addresses showed (the next one was already
    # on its way); then one call per address.
    assert calls[: len(batch)] == batch
    assert len(batch) <= 2
    assert [c.query.get("id") for c in calls[len(batch) :]] == list(dict.fromkeys(wanted))


async def test_a_key_with_a_comma_is_asked_alone_and_later_batches_still_use_in(
    gateway: Gateway,
) -> None:
    """A comma would split an ``__in`` list: that key is asked with the page's ``number`` on
    its own, finds nothing, and does not make the connector think ``number__in`` is ignored."""
    answer = await gateway.query(
        '{ orderByNumber(provider: AKINON, number: "45243493,") { number } }'
    )
    assert answer.codes == ["NOT_FOUND"]
    assert answer.data == {"orderByNumber": None}
    assert [c.query for c in gateway.calls("akinon", "/orders/")] == [
        {"number": "45243493,", "limit": "100"}
    ]
    gateway.clear_calls()
    found = await gateway.ok(
        f'{{ a: orderByNumber(provider: AKINON, number: "45243493") {{ number }} '
        f'b: orderByNumber(provider: AKINON, number: "{data.PLAN_ORDER_NUMBER}") {{ number }} }}'
    )
    assert found == {"a": {"number": "45243493"}, "b": {"number": data.PLAN_ORDER_NUMBER}}
    assert [c.query for c in gateway.calls("akinon", "/orders/")] == [
        {"number__in": f"45243493,{data.PLAN_ORDER_NUMBER}", "limit": "100"}
    ]


async def test_an_upper_case_or_braced_uuid_finds_the_order_akinon_answers_in_lower_case(
    gateway: Gateway,
) -> None:
    """Akinon reads a uuid in any spelling and answers it in lower case: both spellings find
    the order, in one ``id__in`` call of the canonical id, and later batches still use it."""
    upper = order_id(data.EXAMPLE_ORDER_ID.upper())
    braced = order_id("{" + data.EXAMPLE_ORDER_ID + "}")
    found = await gateway.ok(
        "query($a: ID!, $b: ID!) { a: order(id: $a) { id number } b: order(id: $b) { number } }",
        {"a": upper, "b": braced},
    )
    assert found == {
        "a": {"id": order_id(data.EXAMPLE_ORDER_ID), "number": "45243493"},
        "b": {"number": "45243493"},
    }
    assert [c.query for c in gateway.calls("akinon", "/orders/")] == [
        {"id__in": data.EXAMPLE_ORDER_ID, "limit": "100"}
    ]
    gateway.clear_calls()
    plan_order = order_id(data.EXAMPLE_PLAN_ORDER_ID)
    again = await gateway.ok("query($a: ID!) { order(id: $a) { number } }", {"a": plan_order})
    assert again == {"order": {"number": data.PLAN_ORDER_NUMBER}}
    assert [c.query for c in gateway.calls("akinon", "/orders/")] == [
        {"id__in": data.EXAMPLE_PLAN_ORDER_ID, "limit": "100"}
    ]


async def test_ignored_in_filters_fall_back_to_documented_filters_and_answer_right(
    gateway: Gateway,
) -> None:
    """A deployment that ignores ``order__in`` on order items and cancellation plans: each
    order's items are asked by the page's ``order__number``, its plans by ``order``, and every
    answer holds only that order's records, once."""
    state = gateway.sandboxes["akinon"].app[STATE]
    state.ignore("order-items/", "order__in")
    state.ignore("cancellation-plans/", "order__in")
    answer = await gateway.ok(
        """{ orders(first: 2, filter: {status: [CANCELLATION_REQUESTED]}) {
            nodes { number items { id } cancellationPlans { id } } } }"""
    )
    nodes = answer["orders"]["nodes"]
    assert len(nodes) == 2
    by_number = {row.data["number"]: row.data["id"] for row in state.orders.values()}
    for node in nodes:
        key = by_number[node["number"]]
        items = [r.data["id"] for r in state.data.items if r.data["order"] == key]
        plans = [r.data["id"] for r in state.data.plans if r.data["order"] == key]
        assert items
        assert plans
        assert [i["id"] for i in node["items"]] == [
            ids.encode("OrderItem", ProviderName.AKINON, k) for k in items
        ]
        assert [p["id"] for p in node["cancellationPlans"]] == [
            ids.encode("CancellationPlan", ProviderName.AKINON, k) for k in plans
        ]
    item_calls = gateway.calls("akinon", "/order-items/")
    plan_calls = gateway.calls("akinon", "/cancellation-plans/")
    # The batch's first page shows the filter ignored; the second was already on its way.
    assert ["order__in" in c.query for c in item_calls] == [True, True, False, False]
    assert [c.query.get("order__number") for c in item_calls[2:]] == [n["number"] for n in nodes]
    assert len(plan_calls) == 3  # every plan fits one page: the batch's, then one per order
    assert [c.query.get("order") for c in plan_calls[1:]] == [by_number[n["number"]] for n in nodes]
    assert len(gateway.calls("akinon", "/orders/")) == 1  # the list: its orders' numbers known

    gateway.clear_calls()  # what was learnt holds: later batches go one order at a time at once
    again = await gateway.ok(
        f'{{ orderByNumber(provider: AKINON, number: "{data.PLAN_ORDER_NUMBER}") '
        "{ items { sku } } }"
    )
    assert len(again["orderByNumber"]["items"]) == len(data.EXAMPLE_PLAN_ITEM_IDS)
    assert [c.query for c in gateway.calls("akinon", "/order-items/")] == [
        {"order__number": data.PLAN_ORDER_NUMBER, "limit": "100"}
    ]


TWO_BY_NUMBER = f"""{{
    a: orderByNumber(provider: AKINON, number: "{data.EXAMPLE_ORDER_NUMBER}") {{ number }}
    b: orderByNumber(provider: AKINON, number: "{data.PLAN_ORDER_NUMBER}") {{ number }} }}"""
BOTH_NUMBERS = {"a": {"number": data.EXAMPLE_ORDER_NUMBER}, "b": {"number": data.PLAN_ORDER_NUMBER}}
BATCH_BY_NUMBER = {
    "number__in": f"{data.EXAMPLE_ORDER_NUMBER},{data.PLAN_ORDER_NUMBER}",
    "limit": "100",
}


async def test_an_ignored_in_filter_is_believed_for_five_minutes_then_tried_again(
    gateway: Gateway,
) -> None:
    """A deployment seen to ignore ``number__in`` (its one-value filter answering right) has
    its keys asked one at a time from then on; not for the life of the process: after
    ``NO_IN_MEMORY_S`` the batch filter is tried again, and used where it now works."""
    state = gateway.sandboxes["akinon"].app[STATE]
    state.ignore("orders/", "number__in")
    assert await gateway.ok(TWO_BY_NUMBER) == BOTH_NUMBERS
    queries = [c.query for c in gateway.calls("akinon", "/orders/")]
    batch = [q for q in queries if "number__in" in q]
    # The batch (its first page showed the filter ignored), then one call per key.
    assert batch
    assert queries[: len(batch)] == batch
    assert [q.get("number") for q in queries[len(batch) :]] == [
        data.EXAMPLE_ORDER_NUMBER,
        data.PLAN_ORDER_NUMBER,
    ]

    state.ignored.clear()  # the deployment honours it now; the connector still believes not
    gateway.clear_calls()
    assert await gateway.ok(TWO_BY_NUMBER) == BOTH_NUMBERS
    assert [c.query.get("number") for c in gateway.calls("akinon", "/orders/")] == [
        data.EXAMPLE_ORDER_NUMBER,
        data.PLAN_ORDER_NUMBER,
    ]

    akinon = gateway.app.state.gateway.providers[ProviderName.AKINON]
    assert set(akinon._no_in) == {("/api/i1/orders/", "number__in")}
    akinon._no_in = {k: time.monotonic() - 1 for k in akinon._no_in}  # five minutes on
    gateway.clear_calls()
    assert await gateway.ok(TWO_BY_NUMBER) == BOTH_NUMBERS
    assert [c.query for c in gateway.calls("akinon", "/orders/")] == [BATCH_BY_NUMBER]
    assert akinon._no_in == {}


STRAY_ORDER = {"id": "00000000-0000-0000-0000-000000000000", "number": "1"}


@pytest.mark.parametrize(
    ("record", "code", "message"),
    [
        # Answered to the batch and to the one-value query alike: not a deployment that
        # ignores only the batch filter, so nothing is learnt.
        (
            STRAY_ORDER,
            "UNSUPPORTED_OPERATION",
            "akinon: does not support reading orders by number: this Akinon ignores both "
            "number__in and number on /api/i1/orders/",
        ),
        # No number at all: a bad answer, not a filter ignored.
        (
            STRAY_ORDER | {"number": None},
            "PROVIDER_ERROR",
            "akinon: orders answered without a usable number",
        ),
        (
            STRAY_ORDER | {"number": ["1"]},
            "PROVIDER_ERROR",
            "akinon: orders answered without a usable number",
        ),
    ],
)
async def test_a_wrong_list_answer_does_not_switch_batching_off(
    gateway: Gateway, record: dict[str, object], code: str, message: str
) -> None:
    """One answer holding a record not asked for (a proxy's bad minute) switched ``__in``
    batching off for the life of the process: every later batch went one key at a time."""
    await gateway.ok(TWO_BY_NUMBER)  # logged in
    stray = {"count": 1, "next": None, "previous": None, "results": [record]}
    gateway.faults("akinon").update({"body": stray, "only_paths": ["/orders/"]})
    gateway.clear_calls()
    answer = await gateway.query(TWO_BY_NUMBER)
    assert answer.data == {"a": None, "b": None}
    assert answer.codes == [code, code]
    assert {e["message"] for e in answer.errors} == {message}
    batch = [c.query for c in gateway.calls("akinon", "/orders/")]
    # A malformed record fails the batch; a stray one has each key asked alone first.
    assert batch[0] == BATCH_BY_NUMBER
    assert len(batch) == (2 if code == "UNSUPPORTED_OPERATION" else 1)

    gateway.faults("akinon").update({"body": None})
    gateway.clear_calls()
    assert await gateway.ok(TWO_BY_NUMBER) == BOTH_NUMBERS
    assert [c.query for c in gateway.calls("akinon", "/orders/")] == [BATCH_BY_NUMBER]


async def test_a_deployment_ignoring_both_order_id_filters_says_so_instead_of_scanning(
    gateway: Gateway,
) -> None:
    """The page lists no ``id`` filter for orders: where ``id__in`` is ignored too, a read by
    id is an UNSUPPORTED_OPERATION after one look, never another order nor a full scan."""
    gateway.sandboxes["akinon"].app[STATE].ignore("orders/", "id__in")
    answer = await gateway.query(
        "query($id: ID!) { order(id: $id) { number } }", {"id": order_id(data.EXAMPLE_ORDER_ID)}
    )
    assert answer.data == {"order": None}
    assert answer.codes == ["UNSUPPORTED_OPERATION"]
    assert answer.errors[0]["message"] == (
        "akinon: does not support reading orders by id: this Akinon ignores both id__in and id "
        "on /api/i1/orders/"
    )
    calls = [c.query for c in gateway.calls("akinon", "/orders/")]
    assert [("id__in" in q, "id" in q) for q in calls] == [(True, False)] * 2 + [(False, True)] * 2


async def test_several_statuses_use_status_in_and_a_deployment_ignoring_it_is_refused(
    gateway: Gateway,
) -> None:
    state = gateway.sandboxes["akinon"].app[STATE]
    document = """{ orders(first: 50, filter: {status: [SHIPPED, DELIVERED, SHIPPED]}) {
        totalCount nodes { status } } }"""
    answer = await gateway.ok(document)
    wanted = sum(1 for row in state.orders.values() if row.data["status"] in (500, 600))
    assert answer["orders"]["totalCount"] == wanted
    assert {n["status"] for n in answer["orders"]["nodes"]} == {"SHIPPED", "DELIVERED"}
    [call] = gateway.calls("akinon", "/orders/")
    assert call.query == {"status__in": "500,600", "page": "1", "limit": "50"}

    gateway.clear_calls()
    state.ignore("orders/", "status__in")
    refused = await gateway.query(document)
    assert refused.data is None
    assert refused.codes == ["UNSUPPORTED_OPERATION"]
    assert refused.errors[0]["message"].startswith(
        "akinon: does not support filtering orders by several statuses: this Akinon ignores "
        "status__in (it answered an order in status "
    )
    assert refused.errors[0]["message"].endswith("); filter by one status")
    assert refused.errors[0]["extensions"]["retryable"] is False
    assert len(gateway.calls("akinon", "/orders/")) == 1
    single = await gateway.ok(
        "{ orders(first: 5, filter: {status: [SHIPPED]}) { nodes { status } } }"
    )
    assert {n["status"] for n in single["orders"]["nodes"]} == {"SHIPPED"}


async def test_a_refused_login_is_the_gateways_credentials_not_the_callers_rejection() -> None:
    """Akinon refuses a wrong configured password with a 400 ``non_field_errors``: that is
    the gateway's own credentials failing, so ``rejectOrderItem`` has no userError blaming
    the caller, and nothing is rejected."""
    async with gateway_with({"akinon": {"password": "not-the-password"}}, names=("akinon",)) as gw:
        item = ids.encode("OrderItem", ProviderName.AKINON, data.REJECTABLE_ITEM_IDS[0])
        answer = await gw.query(
            """mutation($id: ID!) { rejectOrderItem(input: {itemId: $id}) {
                item { id } userErrors { code } } }""",
            {"id": item},
        )
        assert answer.data == {"rejectOrderItem": None}
        [error] = answer.errors
        assert error["path"] == ["rejectOrderItem"]
        assert error["message"] == (
            "akinon: login refused: Unable to log in with provided credentials."
        )
        assert error["extensions"] == {
            "code": "PROVIDER_ERROR",
            "provider": "AKINON",
            "retryable": False,
            "httpStatus": 400,
            "providerCode": "authorization_error",
        }
        assert "not-the-password" not in str(answer.body)
        assert gw.calls("akinon", "/reject/") == []
        state = gw.sandboxes["akinon"].app[STATE]
        assert state.items[data.REJECTABLE_ITEM_IDS[0]].data["status"] == 100
        for _ in range(3):
            query = await gw.query('{ orderByNumber(provider: AKINON, number: "45243493") { id } }')
            assert query.errors[0]["message"] == error["message"]
        # A refused login answers for itself for a while: one login, not one per request (a
        # provider may lock an account that keeps failing).
        assert len(gw.calls("akinon", "/auth/login/")) == 1


async def test_a_login_answered_by_a_proxys_html_5xx_is_a_retryable_unavailable_token(
    gateway: Gateway,
) -> None:
    gateway.sandboxes["akinon"].app[STATE].html_errors["auth/login/"] = 502
    answer = await gateway.query('{ orderByNumber(provider: AKINON, number: "45243493") { id } }')
    [error] = answer.errors
    assert error["message"] == (
        "akinon: could not obtain an access token (HTTP 502); nothing was sent"
    )
    assert error["extensions"]["code"] == "PROVIDER_UNAVAILABLE"
    assert (error["extensions"]["httpStatus"], error["extensions"]["retryable"]) == (502, True)
    assert gateway.calls("akinon", "/orders/") == []


@pytest.mark.parametrize(
    ("flt", "argument"),
    [
        ("{status: [APPROVED, UNKNOWN]}", None),
        ('{minAmount: "NaN"}', "minAmount"),
        ('{maxAmount: "Infinity"}', "maxAmount"),
    ],
)
async def test_an_order_filter_akinon_cannot_answer_is_refused_before_any_call(
    gateway: Gateway, flt: str, argument: str | None
) -> None:
    """UNKNOWN is what an order with a code in no table reads as: no code to ask Akinon for
    (it used to answer an empty page); a non-finite amount used to reach Akinon as "NaN"."""
    gateway.clear_calls()
    answer = await gateway.query(f"{{ orders(filter: {flt}) {{ totalCount }} }}")
    assert answer.codes == ["BAD_USER_INPUT"]
    assert answer.errors[0].get("extensions", {}).get("argument") == argument
    assert gateway.calls("akinon", "/orders/") == []


async def test_a_plans_filter_naming_two_providers_is_refused(gateway: Gateway) -> None:
    """An Akinon orderId with provider: KALIXO answered Akinon's plans, provider ignored."""
    order = ids.encode("Order", ProviderName.AKINON, data.EXAMPLE_PLAN_ORDER_ID)
    gateway.clear_calls()
    answer = await gateway.query(
        "query($o: ID!) { cancellationPlans(filter: {orderId: $o, provider: KALIXO}) "
        "{ totalCount } }",
        {"o": order},
    )
    assert answer.codes == ["BAD_USER_INPUT"]
    assert answer.errors[0]["extensions"]["argument"] == "filter"
    assert answer.errors[0]["message"] == (
        "filter.orderId names a AKINON order, and filter.provider is KALIXO: give one, or "
        "both alike"
    )
    assert gateway.calls("akinon") == []
    both = await gateway.ok(
        "query($o: ID!) { cancellationPlans(filter: {orderId: $o, provider: AKINON}) "
        "{ totalCount } }",
        {"o": order},
    )
    assert both["cancellationPlans"]["totalCount"] == 1


@pytest.mark.parametrize(
    ("document", "argument"),
    [
        ('{ orders(filter: {number: ""}) { totalCount } }', "number"),
        ('{ customerAddresses(filter: {email: "  "}) { totalCount } }', "email"),
        ('{ cancellationPlans(filter: {status: ""}) { totalCount } }', "status"),
        ("{ orders(filter: {status: []}) { totalCount } }", "status"),
    ],
)
async def test_a_blank_filter_text_is_refused_not_sent_as_no_filter(
    gateway: Gateway, document: str, argument: str
) -> None:
    """Akinon skips an empty filter and answers every record: ``number: ""`` listed all 244
    orders where ``orderByNumber(number: "")`` finds none."""
    gateway.clear_calls()
    answer = await gateway.query(document)
    assert answer.codes == ["BAD_USER_INPUT"]
    assert answer.errors[0]["extensions"]["argument"] == argument
    assert answer.errors[0]["message"] in {
        f"filter {argument} must not be blank",
        f"filter {argument} must not be an empty list",
    }
    assert gateway.calls("akinon") == []


async def test_a_filter_value_akinon_refuses_is_bad_user_input(gateway: Gateway) -> None:
    """Akinon's 400 for a status it has no choice for is the request's to change, not Akinon
    failing: BAD_USER_INPUT with Akinon's message and status, where it was PROVIDER_ERROR."""
    answer = await gateway.query(
        '{ cancellationPlans(filter: {status: "Completed"}) { totalCount } }'
    )
    [error] = answer.errors
    assert error["message"] == (
        "akinon: status: Select a valid choice. Completed is not one of the available choices."
    )
    assert {k: error["extensions"][k] for k in ("code", "httpStatus", "retryable")} == {
        "code": "BAD_USER_INPUT",
        "httpStatus": 400,
        "retryable": False,
    }


async def test_a_base_url_copied_with_the_api_prefix_still_finds_orders() -> None:
    """``base_url = ".../api/i1/"``, as the page writes its paths, sent
    ``/api/i1/api/i1/orders/`` and every order answered NOT_FOUND; Front Payment already took
    its own prefix off (``ProviderSettings.upstream_below``)."""

    def prefixed(config: Config) -> None:
        section = config.providers["akinon"]
        section["base_url"] = section["base_url"].rstrip("/") + "/api/i1/"

    async with gateway_with(names=("akinon",), adjust=prefixed) as gw:
        found = await gw.ok(
            "query($n: String!) { orderByNumber(provider: AKINON, number: $n) { number } }",
            {"n": data.EXAMPLE_ORDER_NUMBER},
        )
        assert found == {"orderByNumber": {"number": data.EXAMPLE_ORDER_NUMBER}}
        assert all(not c.path.startswith("/api/i1/api/i1/") for c in gw.calls("akinon"))


@pytest.mark.parametrize("when", ["2025-12-20T00:00:00", "2025-12-20"])
async def test_a_filter_time_without_its_offset_is_refused(gateway: Gateway, when: str) -> None:
    """A naive time went to Akinon as it was, for Akinon to read in its own zone."""
    gateway.clear_calls()
    answer = await gateway.query(
        "query($t: DateTime!) { orders(filter: {placedAfter: $t}) { totalCount } }", {"t": when}
    )
    assert answer.codes == ["BAD_USER_INPUT"]
    assert answer.errors[0]["message"] == (
        "filter placedAfter needs a UTC offset (2025-12-20T00:00:00Z)"
    )
    assert gateway.calls("akinon") == []
    aware = 'query { orders(filter: {placedAfter: "2025-12-20T00:00:00+03:00"}) { totalCount } }'
    assert (await gateway.ok(aware))["orders"]["totalCount"] >= 0


async def test_a_cursor_pages_on_only_in_its_own_list_and_filter(gateway: Gateway) -> None:
    """Every cursor was ``offset:N``: one from customerAddresses paged orders, and one carried
    over after the filter changed paged the new filter from the old list's place."""
    page = """query($f: OrderFilter, $a: String) {
        orders(filter: $f, first: 2, after: $a) { nodes { number } pageInfo { endCursor } } }"""
    pending = {"status": ["PENDING"]}
    first = (await gateway.ok(page, {"f": pending}))["orders"]
    cursor = first["pageInfo"]["endCursor"]
    same = (await gateway.ok(page, {"f": pending, "a": cursor}))["orders"]["nodes"]
    assert same
    assert not {n["number"] for n in same} & {n["number"] for n in first["nodes"]}

    addresses = "{ customerAddresses(first: 1) { pageInfo { endCursor } } }"
    other_list = (await gateway.ok(addresses))["customerAddresses"]["pageInfo"]["endCursor"]
    for flt, after in (({"status": ["CANCELLED"]}, cursor), (None, cursor), (None, other_list)):
        answer = await gateway.query(page, {"f": flt, "a": after})
        assert answer.codes == ["BAD_USER_INPUT"]
        assert answer.errors[0]["extensions"]["argument"] == "after"
        assert "a cursor of another list or filter" in answer.errors[0]["message"]


async def test_placed_after_and_before_make_half_open_windows(gateway: Gateway) -> None:
    """``placedBefore`` went as ``date_placed__lte``: an order placed exactly then fell in two
    windows side by side. ``placedAfter`` includes its time, ``placedBefore`` excludes its own
    (``date_placed__lt``, one of the page's filters)."""
    at = "2023-01-06T19:27:03Z"  # order 78735401's date_placed in the sandbox
    window = """query($after: DateTime, $before: DateTime) {
        orders(filter: {number: "78735401", placedAfter: $after, placedBefore: $before}) {
            totalCount } }"""
    assert (await gateway.ok(window, {"after": at}))["orders"]["totalCount"] == 1
    assert (await gateway.ok(window, {"before": at}))["orders"]["totalCount"] == 0
    assert (await gateway.ok(window, {"before": "2023-01-06T19:27:04Z"}))["orders"] == {
        "totalCount": 1
    }


async def test_a_cursor_pages_on_under_the_same_filter_written_otherwise(gateway: Gateway) -> None:
    """The same instant in another offset, the same amount with more zeros: the same filter,
    so its cursor pages on (it was refused as another filter's)."""
    page = """query($f: OrderFilter, $a: String) {
        orders(filter: $f, first: 2, after: $a) { nodes { number } pageInfo { endCursor } } }"""
    written = {"placedAfter": "2019-01-01T00:00:00Z", "minAmount": "100"}
    otherwise = {"placedAfter": "2019-01-01T03:00:00+03:00", "minAmount": "100.00"}
    first = (await gateway.ok(page, {"f": written}))["orders"]
    on = await gateway.ok(page, {"f": otherwise, "a": first["pageInfo"]["endCursor"]})
    again = await gateway.ok(page, {"f": written, "a": first["pageInfo"]["endCursor"]})
    assert on == again
    assert on["orders"]["nodes"]


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("1e999999999", "minAmount must be at most 1,000,000,000,000 in size"),
        ("0.0000000000001", "minAmount must have at most 12 decimal places"),
        ("1_000", 'Value cannot represent a Decimal: "1_000".'),
        ("٣", 'Value cannot represent a Decimal: "٣".'),
        (" 3", 'Value cannot represent a Decimal: " 3".'),
    ],
)
async def test_a_filter_amount_is_bounded_as_a_mutations_are(
    gateway: Gateway, amount: str, message: str
) -> None:
    """1e999999999 overflowed into an internal error; "1_000" and other scripts' digits were
    read by Python's Decimal (a refund of "٣" refunded 3 NOK)."""
    gateway.clear_calls()
    document = "query($a: Decimal) { orders(filter: {minAmount: $a}) { totalCount } }"
    answer = await gateway.query(document, {"a": amount})
    assert answer.codes == ["BAD_USER_INPUT"]
    assert message in answer.errors[0]["message"]
    assert gateway.calls("akinon") == []


async def test_a_cursor_with_an_offset_no_page_has_is_refused(gateway: Gateway) -> None:
    """A 5,000-digit offset was an internal error, and a 4,000-digit one went to Akinon."""
    gateway.clear_calls()
    scope = scope_of("orders", {})
    for digits in (10, 4000, 5000):
        cursor = base64.urlsafe_b64encode(f"offset:{'9' * digits}:{scope}".encode()).decode()
        answer = await gateway.query(
            "query($a: String) { orders(after: $a) { totalCount } }", {"a": cursor}
        )
        assert answer.codes == ["BAD_USER_INPUT"], digits
        assert answer.errors[0]["extensions"]["argument"] == "after"
    assert gateway.calls("akinon") == []
    on = cursor_for(999_999_998, scope)  # the largest offset a cursor names
    assert (
        await gateway.ok("query($a: String) { orders(after: $a) { nodes { id } } }", {"a": on})
    ) == {"orders": {"nodes": []}}


@pytest.mark.parametrize(
    ("results", "calls"),
    [
        ([{"id": "x", "order": data.EXAMPLE_ORDER_ID, "sku": "S"}], 2),  # next names itself
        ([], 1),  # a page of nothing, and more to come
    ],
)
async def test_a_next_link_that_goes_nowhere_is_not_followed(
    gateway: Gateway, results: list[dict[str, str]], calls: int
) -> None:
    """An order-items page whose `next` named itself made 14,000 calls for one query, until
    the provider changed: a link already followed, or one after an empty page, is an error."""
    await gateway.ok('{ orderByNumber(provider: AKINON, number: "45243493") { id } }')
    gateway.clear_calls()
    link = f"/api/i1/order-items/?order__in={data.EXAMPLE_ORDER_ID}&limit=100"
    body = {"count": 3, "next": link, "previous": None, "results": results}
    gateway.faults("akinon").update({"body": body, "only_paths": ["/order-items/"]})
    answer = await gateway.query(
        '{ orderByNumber(provider: AKINON, number: "45243493") { id items { sku } } }'
    )
    assert answer.codes == ["PROVIDER_ERROR"]
    assert answer.errors[0]["message"] == (
        "akinon: a next link that goes nowhere from /api/i1/order-items/"
    )
    assert len(gateway.calls("akinon", "/order-items/")) == calls


def example_order(**over: object) -> dict[str, object]:
    order = {"id": data.EXAMPLE_ORDER_ID, "number": "45243493", "status": 100, "amount": "629.00"}
    return {"count": 1, "next": None, "previous": None, "results": [order | over]}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (example_order(amount="x"), "akinon: a record it could not read (InvalidOperation)"),
        (example_order() | {"results": [{"number": "45243493"}]}, "akinon: a record"),
        ({"count": None, "next": None, "results": []}, "akinon: unexpected list body"),
        ({"count": 1, "next": None, "results": [1]}, "akinon: unexpected list body"),
    ],
)
async def test_a_record_of_the_wrong_types_is_a_provider_error(
    gateway: Gateway, body: dict[str, object], message: str
) -> None:
    """An amount of "x", a record without its id, a count of null or a record that is no
    object were internal errors (and a failing list took `data` with it)."""
    gateway.faults("akinon").update({"body": body, "only_paths": ["/orders/"]})
    answer = await gateway.query(
        '{ o: orderByNumber(provider: AKINON, number: "45243493") { id total { amount } } }'
    )
    assert answer.codes == ["PROVIDER_ERROR"]
    assert answer.errors[0]["message"].startswith(message)
