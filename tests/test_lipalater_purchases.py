"""Lipa Later v2 purchases through the gateway: GraphQL over HTTP, the sandbox behind it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any
from urllib.parse import parse_qs

import pytest
from aiohttp import web

from graph import ids
from providers.model import ProviderName
from providers.sandbox import lipalater_purchases as lp_sandbox
from providers.sandbox import lipalater_purchases_data as data
from providers.sandbox.lipalater_purchases import CREDENTIALS, STATE, STATIC_TOKEN
from tests.conftest import gateway_with
from tests.harness import Gateway

LP = "lipalater_purchases"
PURCHASES = "/api/v2/purchases"
TOKEN = "/api/v2/oauth/token"

ITEM_FIELDS = """id sku name brand description quantity status providerStatus details
    unitPrice { amount currency } total { amount currency }"""
ORDER_FIELDS = f"""id number externalReference status providerStatus placedAt updatedAt
    currency details customer {{ id }} total {{ amount currency }} items {{ {ITEM_FIELDS} }}"""
PLACE = f"""mutation($input: PlaceOrderInput!) {{
    placeOrder(input: $input) {{
        order {{ {ORDER_FIELDS} }}
        userErrors {{ field message code providerCode }} }} }}"""
BY_ID = f"""query($id: ID!) {{ order(id: $id) {{ {ORDER_FIELDS} }} }}"""
BY_NUMBER = """query($number: String!) {
    orderByNumber(provider: LIPALATER_PURCHASES, number: $number) {
        id number status total { amount } items { id sku providerStatus } } }"""
NODE = """query($id: ID!) { node(id: $id) {
    id
    ... on Order { number orderStatus: status items { id } }
    ... on OrderItem { sku status providerStatus unitPrice { amount currency } details
                       order { id number } } } }"""
UPDATE = """mutation($id: ID!, $status: String!) {
    updateOrderItemStatus(input: {itemId: $id, status: $status}) {
        item { id status providerStatus }
        userErrors { field message code providerCode } } }"""
CANCEL = """mutation($id: ID!) {
    cancelOrder(input: {orderId: $id, reason: "customer changed their mind"}) {
        order { status providerStatus items { id status providerStatus } }
        userErrors { field message code } } }"""


def page_item(**over: Any) -> dict[str, Any]:
    """One line of placeOrder, with the values of the page's example."""
    line = {
        "sku": "H0148VPS1T",
        "brand": "16GB A Series Walkman Video MP3",
        "description": "16GB A Series Walkman Video MP3",
        "unitPrice": "50000",
        "itemType": "other",
        "storeKey": "queens_mobile",
        "deliveryOption": "customer_store_pickup",
        "preferredOption": "pick_up",
    }
    return line | over


def order_input(*items: dict[str, Any], order_id: str = "5001", **over: Any) -> dict[str, Any]:
    return {
        "provider": "LIPALATER_PURCHASES",
        "externalReference": order_id,
        "customerId": data.EXAMPLE_CUSTOMER_ID,
        "items": list(items) or [page_item()],
    } | over


def item_gid(purchase_id: str) -> str:
    return ids.encode("OrderItem", ProviderName.LIPALATER_PURCHASES, purchase_id)


def order_gid(key: str) -> str:
    return ids.encode("Order", ProviderName.LIPALATER_PURCHASES, key)


def purchases(gw: Gateway) -> dict[str, Any]:
    return gw.sandboxes[LP].app[STATE].purchases


async def place(gw: Gateway, *items: dict[str, Any], **over: Any) -> dict[str, Any]:
    placed = (await gw.ok(PLACE, {"input": order_input(*items, **over)}))["placeOrder"]
    assert placed["userErrors"] == []
    order: dict[str, Any] = placed["order"]
    return order


@pytest.fixture
async def lp() -> AsyncIterator[Gateway]:
    """The gateway with this provider's sandbox alone: what these tests need, and fast."""
    async with gateway_with(names=(LP,)) as gw:
        yield gw


# -- placing ---------------------------------------------------------------------------


async def test_place_order_sends_the_page_example_and_answers_one_order(lp: Gateway) -> None:
    second = page_item(brand="36GB A Series Walkman Video MP3", storeKey="jkiarie")
    order = await place(lp, page_item(), second)

    [token_call] = lp.calls(LP, TOKEN)
    form = parse_qs(token_call.body)
    assert form["grant_type"] == ["client_credentials"]
    assert form["client_id"] == [CREDENTIALS["client_id"]]
    assert form["scope"] == ["read write"]
    [post] = lp.calls(LP, PURCHASES, "POST")
    sent = json.loads(post.body)
    assert sent["customer_id"] == data.EXAMPLE_CUSTOMER_ID
    assert sent["order_id"] == "5001"
    assert sent["items"][0] == {
        "item_type": "other",
        "item_brand": "16GB A Series Walkman Video MP3",
        "store_key": "queens_mobile",
        "delivery_option": "customer_store_pickup",
        "preferred_option": "pick_up",
        "item_description": "16GB A Series Walkman Video MP3",
        "facility_plan": "lipalater_regular_plan",
        "item_code": "H0148VPS1T",
        "item_value": "50000",  # a string, as the page's example sends it
        "item_topup": "",
        "topup_ref": "",
    }
    assert sent["items"][1]["store_key"] == "jkiarie"

    assert order["number"] == order["externalReference"] == "5001"
    assert (order["status"], order["providerStatus"]) == ("PENDING", "pending_collection_customer")
    assert order["total"] == {"amount": "100000.00", "currency": "KES"}
    assert order["customer"] == {"id": data.EXAMPLE_CUSTOMER_ID}
    assert order["placedAt"].endswith("+00:00")
    first, other = order["items"]
    assert first["sku"] == "H0148VPS1T"
    assert first["unitPrice"] == first["total"] == {"amount": "50000.00", "currency": "KES"}
    assert (first["quantity"], first["status"]) == (1, "PENDING")
    details = first["details"]
    assert details["interest_rate"] == 4.2
    assert details["loan_duration"] == 12
    assert details["facility_status"] == "pending_collection_customer"
    assert details["store_name"] == "QUEENS MOBILE"
    assert details["upfront_fees"] == 0.0
    assert details["loan_product_id"] == data.LOAN_PRODUCT_ID
    assert details["facility_plan"] == 0  # sent as "lipalater_regular_plan", answered as 0
    assert other["details"]["store_name"] == "JKIARIE"
    created = order["details"]["purchase_ids"]
    assert len(created) == 2
    assert set(created) <= set(purchases(lp))
    assert [i["id"] for i in order["items"]] == [item_gid(p) for p in created]


async def test_defaults_topup_and_quantity_one_purchase_per_unit(lp: Gateway) -> None:
    line = page_item(
        quantity=3,
        description=None,
        name="Samsung Galaxy A14",
        deliveryOption=None,
        preferredOption=None,
        topup="1500.00",
        topupRef="TP123",
    )
    order = await place(lp, line)
    sent = json.loads(lp.calls(LP, PURCHASES, "POST")[0].body)["items"]
    assert len(sent) == 3
    assert len(order["items"]) == 3
    assert {i["item_description"] for i in sent} == {"Samsung Galaxy A14"}  # name stands in
    assert sent[0]["delivery_option"] == "store_delivery"  # the table's defaults
    assert sent[0]["preferred_option"] == "delivery"
    assert (sent[0]["item_topup"], sent[0]["topup_ref"]) == ("1500", "TP123")
    assert order["total"]["amount"] == "150000.00"
    assert order["items"][0]["details"]["item_topup"] == 1500.0


async def test_a_bad_enum_is_the_providers_refusal_as_a_user_error(lp: Gateway) -> None:
    answer = await lp.ok(PLACE, {"input": order_input(page_item(), page_item(itemType="boat"))})
    payload = answer["placeOrder"]
    assert payload["order"] is None
    [error] = payload["userErrors"]
    assert error["code"] == "REJECTED_BY_PROVIDER"
    assert error["providerCode"] == "validation-error"
    assert error["field"] == ["input", "items", "1", "itemType"]
    assert "items[1].item_type: must be one of: phone" in error["message"]
    assert len(lp.calls(LP, PURCHASES, "POST")) == 1
    assert len(purchases(lp)) == 3 + 20  # nothing was created


@pytest.mark.parametrize(
    ("over", "item", "field"),
    [
        ({"customerId": None}, {}, ["input", "customerId"]),
        ({"externalReference": "ORD-1"}, {}, ["input", "externalReference"]),
        ({"currency": "USD"}, {}, ["input", "currency"]),
        ({}, {"itemType": None}, ["input", "items", "0", "itemType"]),
        ({}, {"sku": None}, ["input", "items", "0", "sku"]),
        ({}, {"unitPrice": "0"}, ["input", "items", "0", "unitPrice"]),
        ({}, {"quantity": 11}, ["input", "items", "0", "quantity"]),
    ],
)
async def test_input_that_cannot_be_sent_is_refused_before_sending(
    lp: Gateway, over: dict[str, Any], item: dict[str, Any], field: list[str]
) -> None:
    answer = await lp.ok(PLACE, {"input": order_input(page_item(**item), **over)})
    [error] = answer["placeOrder"]["userErrors"]
    assert (error["code"], error["field"]) == ("BAD_USER_INPUT", field)
    assert lp.calls(LP, PURCHASES) == []


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"unitPrice": "49999.5"}, "unitPrice"),  # was sent as "49999.5"
        ({"unitPrice": "50000.01"}, "unitPrice"),
        ({"topup": "1500.5"}, "topup"),
    ],
)
async def test_an_amount_that_is_not_whole_is_refused_before_sending(
    lp: Gateway, item: dict[str, Any], field: str
) -> None:
    answer = await lp.ok(PLACE, {"input": order_input(page_item(), page_item(**item))})
    assert answer["placeOrder"]["order"] is None
    [error] = answer["placeOrder"]["userErrors"]
    assert (error["code"], error["field"]) == ("BAD_USER_INPUT", ["input", "items", "1", field])
    assert "whole amount" in error["message"]
    assert lp.calls(LP) == []  # not even a token was fetched


async def test_whole_amounts_with_zero_decimals_go_as_integer_strings(lp: Gateway) -> None:
    await place(lp, page_item(unitPrice="49999.00", topup="1500.0"))
    [sent] = json.loads(lp.calls(LP, PURCHASES, "POST")[0].body)["items"]
    assert (sent["item_value"], sent["item_topup"]) == ("49999", "1500")


# -- reading ---------------------------------------------------------------------------


async def test_an_order_reads_each_purchase_once_however_often_asked(lp: Gateway) -> None:
    placed = await place(lp, page_item(), page_item(sku="A1"), page_item(sku="B2"))
    lp.clear_calls()
    query = """query($id: ID!) {
        a: order(id: $id) { total { amount } items { id sku } again: items { id status } }
        b: node(id: $id) { ... on Order { status items { providerStatus } } } }"""
    found = await lp.ok(query, {"id": placed["id"]})
    assert found["a"]["total"]["amount"] == "150000.00"
    assert [i["sku"] for i in found["a"]["items"]] == ["H0148VPS1T", "A1", "B2"]
    gets = lp.calls(LP, PURCHASES, "GET")
    assert len(gets) == 3
    assert {g.path for g in gets} == {f"{PURCHASES}/{p}" for p in placed["details"]["purchase_ids"]}
    assert lp.calls(LP, TOKEN) == []  # the token placeOrder fetched is still good


async def test_order_and_node_round_trip_their_ids(lp: Gateway) -> None:
    placed = await place(lp, page_item(), page_item(sku="A1"))
    found = (await lp.ok(BY_ID, {"id": placed["id"]}))["order"]
    assert found == placed  # read back, the order is what placeOrder answered

    node = (await lp.ok(NODE, {"id": placed["id"]}))["node"]
    assert node["id"] == placed["id"]
    assert [i["id"] for i in node["items"]] == [i["id"] for i in placed["items"]]

    item = (await lp.ok(NODE, {"id": placed["items"][1]["id"]}))["node"]
    assert item["sku"] == "A1"
    assert item["unitPrice"] == {"amount": "50000.00", "currency": "KES"}
    assert item["details"]["loan_duration"] == 12
    assert item["order"] == {"id": placed["id"], "number": "5001"}  # known: placed here


async def test_the_page_purchase_by_node_and_by_number(lp: Gateway) -> None:
    item = (await lp.ok(NODE, {"id": item_gid(data.EXAMPLE_PURCHASE_ID)}))["node"]
    assert (item["sku"], item["status"]) == ("H0148VPS1T", "PENDING")
    assert item["providerStatus"] == "pending_collection_customer"
    assert item["order"]["number"] == "113"

    found = (await lp.ok(BY_NUMBER, {"number": data.EXAMPLE_PURCHASE_ID}))["orderByNumber"]
    assert found["number"] == "113"
    assert found["total"] == {"amount": "50000.00"}
    assert [i["id"] for i in found["items"]] == [item_gid(data.EXAMPLE_PURCHASE_ID)]
    assert found["id"] == item["order"]["id"]


async def test_order_by_number_knows_orders_placed_here(lp: Gateway) -> None:
    placed = await place(lp, page_item(), page_item(sku="A1"), order_id="7007")
    found = (await lp.ok(BY_NUMBER, {"number": "7007"}))["orderByNumber"]
    assert found["id"] == placed["id"]
    assert [i["sku"] for i in found["items"]] == ["H0148VPS1T", "A1"]
    # A purchase id of that order finds the whole order.
    by_item = await lp.ok(BY_NUMBER, {"number": placed["details"]["purchase_ids"][1]})
    assert by_item["orderByNumber"]["id"] == placed["id"]


async def test_an_order_number_it_cannot_look_up_is_not_found_with_why(lp: Gateway) -> None:
    answer = await lp.query(BY_NUMBER, {"number": "113"})
    assert answer.data == {"orderByNumber": None}
    assert answer.codes == ["NOT_FOUND"]
    assert "cannot look orders up by number" in answer.errors[0]["message"]
    assert "purchase id" in answer.errors[0]["message"]


async def test_missing_records_are_null_or_not_found(lp: Gateway) -> None:
    ghost = "00000000-0000-4000-8000-000000000000"
    assert (await lp.ok(NODE, {"id": item_gid(ghost)})) == {"node": None}
    answer = await lp.query(BY_ID, {"id": order_gid(f"5001~{ghost}")})
    assert answer.codes == ["NOT_FOUND"]
    # A malformed key is not found without asking the provider.
    lp.clear_calls()
    assert (await lp.query(BY_ID, {"id": order_gid("no-tilde")})).codes == ["NOT_FOUND"]
    assert (await lp.ok(NODE, {"id": item_gid("../oauth")})) == {"node": None}
    assert lp.calls(LP, PURCHASES) == []


async def test_a_purchase_of_another_order_is_not_part_of_a_forged_key(lp: Gateway) -> None:
    key = f"999~{data.EXAMPLE_PURCHASE_ID}"  # that purchase belongs to order 113
    assert (await lp.query(BY_ID, {"id": order_gid(key)})).codes == ["NOT_FOUND"]


async def test_a_key_naming_more_purchases_than_an_order_holds_is_not_read(lp: Gateway) -> None:
    """A forged key naming 2,000 purchases made 2,000 GETs for one read, and 2,000 DELETEs for
    one cancelOrder; placeOrder makes at most 20 purchases, so no key names more."""
    lp.clear_calls()
    forged = order_gid("999~" + ",".join(f"P{i}" for i in range(2000)))
    assert (await lp.query(BY_ID, {"id": forged})).codes == ["NOT_FOUND"]
    payload = (await lp.ok(CANCEL, {"id": forged}))["cancelOrder"]
    assert payload["order"] is None
    assert [e["code"] for e in payload["userErrors"]] == ["NOT_FOUND"]
    trailing = order_gid(f"113~{data.EXAMPLE_PURCHASE_ID}\n")  # `$` let a newline through
    assert (await lp.query(BY_ID, {"id": trailing})).codes == ["NOT_FOUND"]
    assert lp.calls(LP) == []
    placed = await lp.ok(PLACE, {"input": order_input(*[page_item(quantity=7)] * 3)})
    [error] = placed["placeOrder"]["userErrors"]
    assert (error["code"], error["field"]) == ("BAD_USER_INPUT", ["input", "items"])
    assert "at most 20 units" in error["message"]
    assert lp.calls(LP, PURCHASES) == []


async def test_an_unknown_facility_status_is_unknown_not_an_error(lp: Gateway) -> None:
    purchases(lp)[data.EXAMPLE_PURCHASE_ID].facility_status = "on_hold"
    item = (await lp.ok(NODE, {"id": item_gid(data.EXAMPLE_PURCHASE_ID)}))["node"]
    assert (item["status"], item["providerStatus"]) == ("UNKNOWN", "on_hold")


# -- updating and cancelling -----------------------------------------------------------


async def test_update_item_status_puts_facility_status(lp: Gateway) -> None:
    placed = await place(lp, page_item(), page_item(sku="A1"))
    first = placed["items"][0]["id"]
    purchase_id = placed["details"]["purchase_ids"][0]
    lp.clear_calls()
    answer = await lp.ok(UPDATE, {"id": first, "status": "collected_by_agent"})
    payload = answer["updateOrderItemStatus"]
    assert payload["userErrors"] == []
    assert payload["item"] == {
        "id": first,
        "status": "SHIPPED",
        "providerStatus": "collected_by_agent",
    }
    [put] = lp.calls(LP, PURCHASES, "PUT")
    assert put.path == PURCHASES  # the page's example: ids in the body, not the path
    assert json.loads(put.body) == {
        "items": [{"id": purchase_id, "facility_status": "collected_by_agent"}]
    }
    assert len(lp.calls(LP, PURCHASES, "GET")) == 1  # the item re-read after the change

    # One item on its way and one still waiting: the order is being processed.
    order = (await lp.ok(BY_ID, {"id": placed["id"]}))["order"]
    assert order["status"] == "PROCESSING"
    assert order["providerStatus"] == "collected_by_agent,pending_collection_customer"


async def test_update_refusals_are_user_errors(lp: Gateway) -> None:
    item = item_gid(data.EXAMPLE_PURCHASE_ID)
    bad = (await lp.ok(UPDATE, {"id": item, "status": "teleported"}))["updateOrderItemStatus"]
    assert bad["item"] is None
    [error] = bad["userErrors"]
    assert (error["code"], error["field"]) == ("REJECTED_BY_PROVIDER", ["input", "status"])
    assert "facility_status: must be one of" in error["message"]

    await lp.ok(UPDATE, {"id": item, "status": "delivered"})
    back = (await lp.ok(UPDATE, {"id": item, "status": "collected_by_agent"}))[
        "updateOrderItemStatus"
    ]
    [error] = back["userErrors"]
    assert (error["code"], error["providerCode"]) == (
        "REJECTED_BY_PROVIDER",
        "invalid-state-transition",
    )
    assert "cannot move from delivered to collected_by_agent" in error["message"]

    ghost = item_gid("00000000-0000-4000-8000-000000000000")
    missing = (await lp.ok(UPDATE, {"id": ghost, "status": "delivered"}))["updateOrderItemStatus"]
    assert [e["code"] for e in missing["userErrors"]] == ["NOT_FOUND"]

    empty = (await lp.ok(UPDATE, {"id": item, "status": " "}))["updateOrderItemStatus"]
    assert [(e["code"], e["field"]) for e in empty["userErrors"]] == [
        ("BAD_USER_INPUT", ["input", "status"])
    ]


async def test_cancel_order_deletes_every_purchase(lp: Gateway) -> None:
    placed = await place(lp, page_item(), page_item(sku="A1"), page_item(sku="B2"))
    lp.clear_calls()
    payload = (await lp.ok(CANCEL, {"id": placed["id"]}))["cancelOrder"]
    assert payload["userErrors"] == []
    assert (payload["order"]["status"], payload["order"]["providerStatus"]) == (
        "CANCELLED",
        "cancelled",
    )
    assert {i["status"] for i in payload["order"]["items"]} == {"CANCELLED"}
    deletes = lp.calls(LP, PURCHASES, "DELETE")
    assert sorted(d.path for d in deletes) == sorted(
        f"{PURCHASES}/{p}" for p in placed["details"]["purchase_ids"]
    )
    # Each purchase read before the cancel (one cancelled already is sent no DELETE), and once
    # more when the order is re-read after it.
    assert len(lp.calls(LP, PURCHASES, "GET")) == 6


async def test_a_second_cancel_answers_the_cancelled_order_and_sends_no_delete(
    lp: Gateway,
) -> None:
    """Every purchase is cancelled already: nothing is left to do, so the cancel is done. It
    answered a refusal ("already cancelled") for each purchase, although the order was
    CANCELLED."""
    placed = await place(lp, page_item(), page_item(sku="A1"))
    assert (await lp.ok(CANCEL, {"id": placed["id"]}))["cancelOrder"]["userErrors"] == []
    lp.clear_calls()
    payload = (await lp.ok(CANCEL, {"id": placed["id"]}))["cancelOrder"]
    assert payload["userErrors"] == []
    assert payload["order"]["status"] == "CANCELLED"
    assert lp.calls(LP, PURCHASES, "DELETE") == []
    # Nothing was written, so the payload's re-read is the cancel's own reads.
    assert len(lp.calls(LP, PURCHASES, "GET")) == 2


async def test_a_cancel_asked_again_after_a_partial_failure_cancels_what_was_left(
    lp: Gateway,
) -> None:
    """One DELETE of three answered 500, the other two cancelled their purchases. Asked again,
    the cancel answered REJECTED_BY_PROVIDER ("already cancelled") for those two, so a client
    reading empty userErrors as done never saw the order cancelled; and the first answer's code
    was PROVIDER_ERROR, which is no userErrors code."""
    placed = await place(lp, page_item(), page_item(sku="A1"), page_item(sku="B2"))
    failing = placed["details"]["purchase_ids"][1]
    lp.faults(LP).update(
        {"fail_next": 1, "error_status": 500, "only_paths": [failing], "only_methods": ["DELETE"]}
    )
    first = (await lp.ok(CANCEL, {"id": placed["id"]}))["cancelOrder"]
    [error] = first["userErrors"]
    assert (error["code"], error["field"]) == ("OUTCOME_UNKNOWN", ["input", "orderId"])
    assert error["message"].startswith(f"item {item_gid(failing)}: lipalater_purchases: ")
    assert error["message"].endswith(
        "; the request may have been applied; cancelling the order again cancels this "
        "purchase if it is still open"
    )
    assert [i["providerStatus"] for i in first["order"]["items"]] == [
        "cancelled",
        "pending_collection_customer",
        "cancelled",
    ]

    lp.clear_calls()
    retry = (await lp.ok(CANCEL, {"id": placed["id"]}))["cancelOrder"]
    assert retry["userErrors"] == []
    assert (retry["order"]["status"], retry["order"]["providerStatus"]) == (
        "CANCELLED",
        "cancelled",
    )
    # Only the purchase still open is sent a DELETE.
    assert [d.path for d in lp.calls(LP, PURCHASES, "DELETE")] == [f"{PURCHASES}/{failing}"]


async def test_a_partly_failing_cancel_names_the_item_it_could_not_cancel(lp: Gateway) -> None:
    placed = await place(lp, page_item(), page_item(sku="A1"))
    delivered = placed["items"][1]["id"]
    await lp.ok(UPDATE, {"id": delivered, "status": "delivered"})

    payload = (await lp.ok(CANCEL, {"id": placed["id"]}))["cancelOrder"]
    [error] = payload["userErrors"]
    assert error["field"] == ["input", "orderId"]
    assert error["message"].startswith(f"item {delivered}: ")
    assert error["code"] == "REJECTED_BY_PROVIDER"
    assert "is delivered and cannot be cancelled" in error["message"]
    order = payload["order"]
    assert [i["providerStatus"] for i in order["items"]] == ["cancelled", "delivered"]
    # What is left of the order was delivered.
    assert (order["status"], order["providerStatus"]) == ("DELIVERED", "cancelled,delivered")
    assert len(lp.calls(LP, PURCHASES, "DELETE")) == 2


async def test_a_purchase_whose_delete_answered_a_5xx_may_have_been_cancelled(
    lp: Gateway,
) -> None:
    """One DELETE of three answered 500: its userError said only "sandbox fault", where a hang
    in the same place said that the cancel may have been applied."""
    placed = await place(lp, page_item(), page_item(sku="A1"), page_item(sku="B2"))
    failing = placed["details"]["purchase_ids"][1]
    lp.faults(LP).update(
        {
            "error_rate": 1.0,
            "error_status": 500,
            "only_paths": [failing],
            "only_methods": ["DELETE"],
        }
    )
    answer = await lp.ok(CANCEL, {"id": placed["id"]})
    [error] = answer["cancelOrder"]["userErrors"]
    assert error["code"] == "OUTCOME_UNKNOWN"
    assert "; the request may have been applied;" in error["message"]
    assert len(lp.calls(LP, f"{PURCHASES}/{failing}", "DELETE")) == 1


@pytest.mark.parametrize(
    ("fault", "why"),
    [
        ({"body": {}}, "unexpected answer to a purchase's cancel (200)"),
        ({"wrong_shape": True}, "unexpected answer to a purchase's cancel (200)"),
        ({"malformed": True}, "malformed JSON in a 200 answer"),
        (
            {"body": {"apiVersion": "2.0", "status": 200, "data": {"id": "another-purchase"}}},
            "unexpected answer to a purchase's cancel (200)",
        ),
    ],
)
async def test_a_delete_answered_with_no_cancel_leaves_that_purchase_unknown(
    lp: Gateway, fault: dict[str, Any], why: str
) -> None:
    """A DELETE answered 200 with a body that is not the page's answer (``{}``, ``[]``, a
    cut-off body, another purchase) counted as cancelled: the order read back showed that
    purchase open with no userError. It is that item's OUTCOME_UNKNOWN; the other is
    cancelled, and cancelling again finishes it."""
    placed = await place(lp, page_item(), page_item(sku="A1"))
    failing = placed["details"]["purchase_ids"][1]
    lp.faults(LP).update(fault | {"only_paths": [failing], "only_methods": ["DELETE"]})
    payload = (await lp.ok(CANCEL, {"id": placed["id"]}))["cancelOrder"]
    [error] = payload["userErrors"]
    assert (error["code"], error["field"]) == ("OUTCOME_UNKNOWN", ["input", "orderId"])
    assert error["message"] == (
        f"item {item_gid(failing)}: lipalater_purchases: {why}; the request may have been "
        "applied; cancelling the order again cancels this purchase if it is still open"
    )
    # The fault answered in the sandbox's place: that purchase is still open.
    assert [i["providerStatus"] for i in payload["order"]["items"]] == [
        "cancelled",
        "pending_collection_customer",
    ]
    assert len(lp.calls(LP, PURCHASES, "DELETE")) == 2

    lp.faults(LP).update({"body": None, "wrong_shape": False, "malformed": False})
    lp.clear_calls()
    retry = (await lp.ok(CANCEL, {"id": placed["id"]}))["cancelOrder"]
    assert retry["userErrors"] == []
    assert retry["order"]["status"] == "CANCELLED"
    assert [d.path for d in lp.calls(LP, PURCHASES, "DELETE")] == [f"{PURCHASES}/{failing}"]


async def test_a_delete_answered_204_no_content_is_a_cancel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The page shows a JSON answer to a DELETE; a 204 No Content is a cancel too."""
    real = lp_sandbox.cancel_purchase
    answered: list[int] = []

    async def no_content(request: web.Request) -> web.Response:
        answer = await real(request)
        if answer.status == 200:
            answer = web.Response(status=204)
        answered.append(answer.status)
        return answer

    monkeypatch.setattr(lp_sandbox, "cancel_purchase", no_content)
    async with gateway_with(names=(LP,)) as gw:
        placed = await place(gw, page_item(), page_item(sku="A1"))
        payload = (await gw.ok(CANCEL, {"id": placed["id"]}))["cancelOrder"]
        assert payload["userErrors"] == []
        assert payload["order"]["status"] == "CANCELLED"
        assert answered == [204, 204]


# -- tokens and failures ---------------------------------------------------------------


async def test_the_token_is_cached_and_fetched_again_once_when_refused(lp: Gateway) -> None:
    await place(lp)
    for _ in range(3):
        await lp.ok(NODE, {"id": item_gid(data.EXAMPLE_PURCHASE_ID)})
    assert len(lp.calls(LP, TOKEN)) == 1

    tokens = lp.sandboxes[LP].app[STATE].tokens
    for value in [t for t in tokens if t != STATIC_TOKEN]:
        del tokens[value]  # revoked upstream: the next call is a 401
    lp.clear_calls()
    query = """query($a: ID!, $b: ID!) { a: node(id: $a) { id } b: node(id: $b) { id } }"""
    ids_ = {"a": item_gid(data.EXAMPLE_PURCHASE_ID), "b": item_gid(data.EXAMPLE_CREATED_ID)}
    found = await lp.ok(query, ids_)
    assert found["a"]["id"] == ids_["a"]
    assert found["b"]["id"] == ids_["b"]
    assert len(lp.calls(LP, TOKEN)) == 1  # two 401s, one new token
    assert len(lp.calls(LP, PURCHASES, "GET")) == 4


async def test_an_expires_in_sent_as_text_still_expires_the_token(lp: Gateway) -> None:
    state = lp.sandboxes[LP].app[STATE]
    # "1": a token read as expiring in 1 s is renewed halfway through its life, so one asked
    # for 0.6 s later is fetched afresh; one read as never expiring would be fetched once.
    state.expires_in_as_text, state.token_ttl_s = True, 1
    gid = item_gid(data.EXAMPLE_PURCHASE_ID)
    for _ in range(2):
        found = await lp.ok("query($id: ID!) { node(id: $id) { id } }", {"id": gid})
        assert found == {"node": {"id": gid}}
        await asyncio.sleep(0.6)
    purchase = f"{PURCHASES}/{data.EXAMPLE_PURCHASE_ID}"
    assert [(c.method, c.path) for c in lp.calls(LP)] == [("POST", TOKEN), ("GET", purchase)] * 2


async def test_a_token_shorter_lived_than_the_renewal_margin_is_still_reused(lp: Gateway) -> None:
    # 25 s is inside the cache's 30 s renewal margin: it is used for half its life, not never.
    lp.sandboxes[LP].app[STATE].token_ttl_s = 25
    gid = item_gid(data.EXAMPLE_PURCHASE_ID)
    for _ in range(5):
        assert await lp.ok("query($id: ID!) { node(id: $id) { id } }", {"id": gid})
    assert len(lp.calls(LP, TOKEN)) == 1
    assert len(lp.calls(LP, PURCHASES, "GET")) == 5


def custom(**section: Any) -> AbstractAsyncContextManager[Gateway]:
    """A gateway for a modified provider section: ``async with custom(**section) as gw``."""
    return gateway_with({LP: section}, names=(LP,))


async def test_a_static_token_skips_the_token_flow() -> None:
    async with custom(token=STATIC_TOKEN, client_id=None, client_secret=None) as gw:
        item = (await gw.ok(NODE, {"id": item_gid(data.EXAMPLE_PURCHASE_ID)}))["node"]
        assert item["sku"] == "H0148VPS1T"
        assert gw.calls(LP, TOKEN) == []


async def test_wrong_credentials_are_a_provider_auth_error_without_the_secret() -> None:
    async with custom(client_secret="wrong-secret-value") as gw:
        answer = await gw.query(NODE, {"id": item_gid(data.EXAMPLE_PURCHASE_ID)})
        assert answer.data == {"node": None}
        [error] = answer.errors
        ext = error["extensions"]
        assert (ext["code"], ext["httpStatus"], ext["provider"]) == (
            "PROVIDER_ERROR",
            401,
            "LIPALATER_PURCHASES",
        )
        assert ext["providerCode"] == "invalid_client"
        assert "Client authentication failed" in error["message"]
        assert "wrong-secret-value" not in json.dumps(answer.body)
        assert gw.calls(LP, PURCHASES) == []

        placed = await gw.query(PLACE, {"input": order_input()})
        assert placed.codes == ["PROVIDER_ERROR"]  # not the caller's to fix: no userError
        # The refusal answers for itself a while: one refused token request, not one a call.
        assert len(gw.calls(LP, TOKEN)) == 1


async def test_a_malformed_body_is_a_retryable_provider_error(lp: Gateway) -> None:
    await lp.ok(NODE, {"id": item_gid(data.EXAMPLE_PURCHASE_ID)})  # the token first
    lp.faults(LP).malformed = True
    answer = await lp.query(NODE, {"id": item_gid(data.EXAMPLE_CREATED_ID)})
    assert answer.codes == ["PROVIDER_ERROR"]
    assert answer.errors[0]["extensions"]["retryable"] is True
    lp.faults(LP).malformed = False
    lp.faults(LP).wrong_shape = True
    answer = await lp.query(BY_NUMBER, {"number": data.EXAMPLE_CREATED_ID})
    assert answer.codes == ["PROVIDER_ERROR"]


async def test_an_answer_of_no_purchases_to_a_write_is_no_success(lp: Gateway) -> None:
    """`data: []` under a 200: the PUT's was an internal error (its change may have been made),
    the POST's an order of no purchases recorded as placed."""
    placed = await place(lp, page_item())
    lp.faults(LP).body = {"apiVersion": "2.0", "status": 200, "data": []}
    answer = await lp.query(UPDATE, {"id": placed["items"][0]["id"], "status": "delivered"})
    [error] = answer.errors
    assert error["message"].endswith(
        "unexpected purchases answer (200); the request may have been applied"
    )
    assert (error["extensions"]["code"], error["extensions"]["retryable"]) == (
        "PROVIDER_ERROR",
        False,
    )
    for _ in range(2):  # and the key stays unknown: asking again answers the same
        answer = await lp.ok(PLACE, {"input": order_input(page_item(), order_id="7001")})
        assert answer["placeOrder"]["order"] is None
        assert [e["code"] for e in answer["placeOrder"]["userErrors"]] == ["OUTCOME_UNKNOWN"]


async def test_a_provider_5xx_is_a_retryable_provider_error(lp: Gateway) -> None:
    await lp.ok(NODE, {"id": item_gid(data.EXAMPLE_PURCHASE_ID)})
    faults = lp.faults(LP)
    faults.error_rate, faults.error_status = 1.0, 503
    answer = await lp.query(NODE, {"id": item_gid(data.EXAMPLE_CREATED_ID)})
    [error] = answer.errors
    assert (error["extensions"]["code"], error["extensions"]["httpStatus"]) == (
        "PROVIDER_ERROR",
        503,
    )
    assert error["extensions"]["retryable"] is True
    assert error["extensions"]["providerRequestId"]


async def test_a_cancel_the_provider_cannot_answer_is_an_error_not_user_errors(
    lp: Gateway,
) -> None:
    placed = await place(lp, page_item(), page_item(sku="A1"))
    faults = lp.faults(LP)
    faults.update(
        {
            "error_rate": 1.0,
            "error_status": 500,
            "only_paths": [PURCHASES],
            "only_methods": ["DELETE"],
        }
    )
    answer = await lp.query(CANCEL, {"id": placed["id"]})
    assert answer.codes == ["PROVIDER_ERROR"]
    assert len(lp.calls(LP, PURCHASES, "DELETE")) == 2


async def test_a_cancel_whose_reads_fail_sends_no_delete_and_stays_retryable(
    lp: Gateway,
) -> None:
    """The cancel reads the purchases first, to spare those cancelled already: a read that
    fails fails the cancel before anything is written, so trying again is safe."""
    placed = await place(lp, page_item(), page_item(sku="A1"))
    lp.faults(LP).update(
        {"error_rate": 1.0, "error_status": 503, "only_paths": [PURCHASES], "only_methods": ["GET"]}
    )
    answer = await lp.query(CANCEL, {"id": placed["id"]})
    assert answer.data == {"cancelOrder": None}
    assert answer.codes == ["PROVIDER_ERROR"]
    assert answer.errors[0]["extensions"]["retryable"] is True
    assert "may have been applied" not in answer.errors[0]["message"]
    assert lp.calls(LP, PURCHASES, "DELETE") == []


async def test_the_provider_lists_its_capabilities(lp: Gateway) -> None:
    found = await lp.ok("{ providers { name configured capabilities settings } }")
    [mine] = [p for p in found["providers"] if p["name"] == "LIPALATER_PURCHASES"]
    assert mine["configured"] is True
    assert mine["capabilities"] == [
        "CANCEL_ORDER",
        "PLACE_ORDER",
        "READ_ORDER",
        "UPDATE_ITEM_STATUS",
    ]
    assert mine["settings"]["currency"] == "KES"
    assert "client_secret" not in json.dumps(mine)


async def test_the_embedded_default_serves_it(gateway: Gateway) -> None:
    item = (await gateway.ok(NODE, {"id": item_gid(data.EXAMPLE_PURCHASE_ID)}))["node"]
    assert item["details"]["store_name"] == "QUEENS MOBILE"


async def test_a_token_without_the_write_scope_is_refused_as_auth() -> None:
    async with custom(scope="read") as gw:
        assert (await gw.ok(NODE, {"id": item_gid(data.EXAMPLE_PURCHASE_ID)}))["node"]
        answer = await gw.query(PLACE, {"input": order_input()})
        [error] = answer.errors
        assert (error["extensions"]["code"], error["extensions"]["httpStatus"]) == (
            "PROVIDER_ERROR",
            403,
        )
        assert "lacks the write scope" in error["message"]


async def test_rate_limiting_is_rate_limited_with_retry_after(lp: Gateway) -> None:
    faults = lp.faults(LP)
    faults.error_rate, faults.error_status, faults.retry_after = 1.0, 429, 7
    faults.only_paths = [PURCHASES]
    answer = await lp.query(PLACE, {"input": order_input()})
    [error] = answer.errors
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["retryAfter"] == 7
    assert len(lp.calls(LP, PURCHASES, "POST")) == 1


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        ("item_value", "49999.5", "unitPrice"),  # was sent over the checked "50000"
        ("item_code", "OTHER-SKU", "sku"),
        ("item_brand", "", "brand"),
        ("item_description", "other", "description"),
        ("item_topup", "1500.5", "topup"),
    ],
)
async def test_an_extra_naming_a_checked_field_is_refused_before_sending(
    lp: Gateway, key: str, value: str, named: str
) -> None:
    """``extra`` carries provider fields the gateway does not name; one the gateway builds
    and checks is refused, never merged over the checked value."""
    item = page_item(extra={key: value, "warranty": "2y"})
    answer = await lp.ok(PLACE, {"input": order_input(page_item(), item)})
    assert answer["placeOrder"] == {
        "order": None,
        "userErrors": [
            {
                "field": ["input", "items", "1", "extra", key],
                "message": f"items[1].extra.{key} is what {named} sets: give it there, where it "
                "is checked",
                "code": "BAD_USER_INPUT",
                "providerCode": None,
            }
        ],
    }
    assert lp.calls(LP) == []  # not even a token was fetched


async def test_an_extra_the_gateway_does_not_name_is_still_sent(lp: Gateway) -> None:
    await place(lp, page_item(extra={"warranty": "2y"}))
    [sent] = json.loads(lp.calls(LP, PURCHASES, "POST")[0].body)["items"]
    assert (sent["warranty"], sent["item_value"]) == ("2y", "50000")


async def test_an_extra_of_long_integers_within_64_bits_is_sent_exactly(lp: Gateway) -> None:
    """A body with 19 digits in a row is read again by the standard library (graph/app.py
    ``loads``): the largest integers either side of zero, and digits in a string, stay as
    they were written."""
    extra = {"serial": 2**64 - 1, "floor": -(2**63), "code": "12345678901234567890123"}
    await place(lp, page_item(extra=extra))
    [sent] = json.loads(lp.calls(LP, PURCHASES, "POST")[0].body)["items"]
    assert {k: sent[k] for k in extra} == extra
