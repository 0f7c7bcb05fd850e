"""The order mutations as a caller sees them, whatever provider holds the order.

A change the provider made is the mutation's answer, even when reading it back fails; an
idempotency key belongs to the API key that sent it; an amount that is no amount is a userError
before anything is sent; the reference and the amounts are compared as the provider reads them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal, localcontext
from typing import Any

import pytest
from aiohttp import web

from graph import ids
from graph.auth import ORDERS_READ, ORDERS_WRITE, ApiKeys
from providers.model import ProviderName
from providers.sandbox import akinon_data, faults
from providers.sandbox import frontpayment_data as fp_data
from providers.sandbox import lipalater_data as ll_data
from providers.sandbox.faults import FAULTS, Handler
from providers.sandbox.lipalater import STATE as LL_STATE
from providers.sandbox.lipalater_purchases import STATE as LP_STATE
from tests.conftest import gateway_with
from tests.harness import Gateway

FP, LL, LP, AK = "frontpayment", "lipalater", "lipalater_purchases", "akinon"

PLACE = """mutation($in: PlaceOrderInput!) { placeOrder(input: $in) {
    order { id externalReference } userErrors { field message code } } }"""
REFUND = """mutation($in: RefundOrderInput!) { refundOrder(input: $in) {
    order { status refunded { amount } } userErrors { field message code } } }"""
CANCEL = """mutation($in: CancelOrderInput!) { cancelOrder(input: $in) {
    order { status } userErrors { field message code } } }"""
REJECT = """mutation($id: ID!) { rejectOrderItem(input: {itemId: $id}) {
    item { id status } userErrors { field message code } } }"""
UPDATE = """mutation($id: ID!, $status: String!) {
    updateOrderItemStatus(input: {itemId: $id, status: $status}) {
    item { id } userErrors { field message code } } }"""
ORDER = "query($id: ID!) { order(id: $id) { status refunded { amount } } }"
ITEM = "query($id: ID!) { node(id: $id) { ... on OrderItem { status } } }"


def order_gid(provider: ProviderName, key: str) -> str:
    return ids.encode("Order", provider, key)


def item_gid(provider: ProviderName, key: str) -> str:
    return ids.encode("OrderItem", provider, key)


def lipalater(ref: str, price: str = "1000", key: str | None = None) -> dict[str, Any]:
    """A Lipa Later order of one phone."""
    return {
        "provider": "LIPALATER",
        "externalReference": ref,
        "customerId": "100001",
        "storeId": "S1",
        "items": [{"sku": "P1", "name": "Phone", "unitPrice": price, "quantity": 1}],
        "idempotencyKey": key,
    }


def purchases(ref: str, items: int = 1) -> dict[str, Any]:
    """A Lipa Later purchases order of ``items`` lines."""
    line = {
        "sku": "H0148VPS1T",
        "brand": "B",
        "description": "D",
        "unitPrice": "50000",
        "itemType": "other",
        "storeKey": "queens_mobile",
    }
    return {
        "provider": "LIPALATER_PURCHASES",
        "externalReference": ref,
        "customerId": "8bf616dd-4cdc-4c55-80bc-58678102f3d3",
        "items": [line | {"sku": f"SKU{n}"} for n in range(items)],
    }


def made(gw: Gateway, ref: str) -> int:
    """Lipa Later orders holding the reference, as the sandbox keeps them."""
    state = gw.sandboxes[LL].app[LL_STATE]
    return sum(1 for o in state.orders.values() if o.out_order_no == ref)


def reads_fail_after_a_write(monkeypatch: pytest.MonkeyPatch, write: str, read: str) -> None:
    """Once a request that is no GET to a path holding ``write`` has been answered, every
    request to a path holding ``read`` answers 503: the change is made, reading it back fails."""
    real = faults._faulted

    async def faulted(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await real(request, handler)
        if request.method != "GET" and write in request.path:
            knobs = request.app[FAULTS]
            knobs.error_rate, knobs.error_status, knobs.only_paths = 1.0, 503, [read]
        return response

    monkeypatch.setattr(faults, "_faulted", faulted)


def the_read_failed(error: dict[str, Any], path: list[str]) -> None:
    """The payload's re-read failed after the change was made: its error says so, and is not
    retryable (it said `retryable: true`, and a client obeying it sent the mutation again)."""
    assert error["path"] == path
    assert error["extensions"]["code"] == "PROVIDER_ERROR"
    assert error["extensions"]["httpStatus"] == 503
    assert error["extensions"]["retryable"] is False
    assert error["message"].endswith(
        "; the change was made: read it again with a query, do not repeat the mutation"
    )


@pytest.fixture
async def fp() -> AsyncIterator[Gateway]:
    async with gateway_with(names=(FP,)) as gw:
        yield gw


@pytest.fixture
async def ll() -> AsyncIterator[Gateway]:
    async with gateway_with(names=(LL,)) as gw:
        yield gw


# -- a change made is the answer, whatever its re-read does ----------------------------


async def test_a_refund_whose_re_read_fails_is_answered_as_done_and_made_once(
    fp: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads_fail_after_a_write(monkeypatch, "/refund/", "/details/")
    oid = order_gid(ProviderName.FRONTPAYMENT, fp_data.PAID_UUID)
    answer = await fp.query(REFUND, {"in": {"orderId": oid, "amount": "10.00"}})
    assert answer.status == 200
    assert answer.data == {"refundOrder": {"order": None, "userErrors": []}}
    [error] = answer.errors
    the_read_failed(error, ["refundOrder", "order"])
    assert len(fp.calls(FP, "/refund/", "POST")) == 1

    fp.faults(FP).error_rate = 0.0
    assert (await fp.ok(ORDER, {"id": oid}))["order"]["refunded"] == {"amount": "10.00"}


async def test_a_cancel_whose_re_read_fails_is_answered_as_done_and_made_once(
    ll: Gateway,
) -> None:
    oid = order_gid(ProviderName.LIPALATER, "{1}/{0}".format(*ll_data.SEED_CONFIRMED))
    knobs = ll.faults(LL)
    knobs.error_rate, knobs.error_status, knobs.only_paths = 1.0, 503, ["/detail/"]
    answer = await ll.query(CANCEL, {"in": {"orderId": oid, "reason": "changed my mind"}})
    assert answer.data == {"cancelOrder": {"order": None, "userErrors": []}}
    [error] = answer.errors
    the_read_failed(error, ["cancelOrder", "order"])
    assert len(ll.calls(LL, "/cancelOrder", "POST")) == 1

    knobs.error_rate = 0.0
    assert (await ll.ok(ORDER, {"id": oid}))["order"]["status"] == "CANCELLED"


async def test_an_item_rejected_whose_re_read_fails_is_answered_as_done_and_made_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads_fail_after_a_write(monkeypatch, "/reject/", "/order-items/")
    item = item_gid(ProviderName.AKINON, akinon_data.REJECTABLE_ITEM_IDS[0])
    async with gateway_with(names=(AK,)) as gw:
        answer = await gw.query(REJECT, {"id": item})
        assert answer.data == {"rejectOrderItem": {"item": None, "userErrors": []}}
        [error] = answer.errors
        the_read_failed(error, ["rejectOrderItem", "item"])
        assert len(gw.calls(AK, "/reject/", "POST")) == 1

        gw.faults(AK).error_rate = 0.0
        assert (await gw.ok(ITEM, {"id": item}))["node"] == {"status": "REJECTED"}


async def test_a_replayed_order_whose_re_read_fails_is_answered_as_placed(ll: Gateway) -> None:
    first = (await ll.ok(PLACE, {"in": lipalater("R-REPLAY", key="k-replay")}))["placeOrder"]
    assert first["userErrors"] == []
    knobs = ll.faults(LL)
    knobs.error_rate, knobs.error_status, knobs.only_paths = 1.0, 503, ["/detail/"]
    answer = await ll.query(PLACE, {"in": lipalater("R-REPLAY", key="k-replay")})
    assert answer.data == {"placeOrder": {"order": None, "userErrors": []}}
    [error] = answer.errors
    the_read_failed(error, ["placeOrder", "order"])
    assert len(ll.calls(LL, "/create", "POST")) == 1
    assert made(ll, "R-REPLAY") == 1


async def test_a_payload_not_asked_for_its_order_reads_nothing_after_the_change(
    fp: Gateway,
) -> None:
    oid = order_gid(ProviderName.FRONTPAYMENT, fp_data.PAID_UUID)
    found = await fp.ok(
        "mutation($in: RefundOrderInput!) { refundOrder(input: $in) { userErrors { code } } }",
        {"in": {"orderId": oid, "amount": "10.00"}},
    )
    assert found == {"refundOrder": {"userErrors": []}}
    # The connector reads the order to refund it; nothing reads it back.
    assert [(c.method, c.path.split("/")[-2]) for c in fp.calls(FP)] == [
        ("GET", "details"),
        ("POST", "refund"),
    ]


# -- an idempotency key is the API key's own -------------------------------------------

KEYS = {
    "team-alpha-one": [ORDERS_READ, ORDERS_WRITE],
    "team-alpha-two": [ORDERS_READ, ORDERS_WRITE],
}


def test_keys_sharing_their_first_characters_have_their_own_ids_that_do_not_reveal_them() -> None:
    one = ApiKeys(KEYS).authenticate("Bearer team-alpha-one")
    two = ApiKeys(KEYS).authenticate("Bearer team-alpha-two")
    assert one is not None
    assert two is not None
    assert one.name == two.name == "key-team…"  # what logs show: unchanged
    assert one.id != two.id
    assert len(one.id) == 32
    assert "team" not in one.id
    again = ApiKeys(KEYS).authenticate("Bearer team-alpha-one")
    assert again is not None
    assert again.id == one.id  # stable: records outlive a restart


async def test_an_idempotency_key_is_scoped_to_the_whole_api_key() -> None:
    async with gateway_with(names=(LL,), server={"api_keys": KEYS}) as gw:
        one = await gw.ok(PLACE, {"in": lipalater("R-ONE", key="order-42")}, key="team-alpha-one")
        # The other key's "order-42", for another order: no conflict, its own order.
        two = await gw.ok(PLACE, {"in": lipalater("R-TWO", key="order-42")}, key="team-alpha-two")
        assert one["placeOrder"]["userErrors"] == two["placeOrder"]["userErrors"] == []
        assert one["placeOrder"]["order"]["id"] != two["placeOrder"]["order"]["id"]
        # Each key's retry answers its own order, and makes none.
        again = await gw.ok(PLACE, {"in": lipalater("R-TWO", key="order-42")}, key="team-alpha-two")
        assert again["placeOrder"] == two["placeOrder"]
        assert len(gw.calls(LL, "/create", "POST")) == 2
        assert (made(gw, "R-ONE"), made(gw, "R-TWO")) == (1, 1)


# -- amounts that are no amounts -------------------------------------------------------

FINITE = "must be a finite number, not"
SIZE = "must be at most 1,000,000,000,000 in size"
PLACES = "must have at most 12 decimal places"


def kalixo_order(*prices: str, total: str | None = None, topup: str | None = None) -> Any:
    items = [
        {"productId": "2", "sku": "GB-EN-4251604177278", "unitPrice": p, "topup": topup}
        for p in prices
    ]
    return {"provider": "KALIXO", "externalReference": "AMT-1", "currency": "GBP"} | {
        "items": items,
        "total": total,
    }


@pytest.mark.parametrize(
    ("order", "field", "message"),
    [
        (kalixo_order("NaN"), ["input", "items", "0", "unitPrice"], f"unitPrice {FINITE} NaN"),
        (kalixo_order("sNaN"), ["input", "items", "0", "unitPrice"], f"unitPrice {FINITE} sNaN"),
        (
            kalixo_order("1", "-Infinity"),
            ["input", "items", "1", "unitPrice"],
            f"unitPrice {FINITE} -Infinity",
        ),
        (kalixo_order("1e30"), ["input", "items", "0", "unitPrice"], f"unitPrice {SIZE}"),
        (
            kalixo_order("1000000000000.01"),
            ["input", "items", "0", "unitPrice"],
            f"unitPrice {SIZE}",
        ),
        (
            kalixo_order("0.0000000000001"),
            ["input", "items", "0", "unitPrice"],
            f"unitPrice {PLACES}",
        ),
        # A price of 0 was placed (Kalixo sent "price": 0, Lipa Later "actTotalFee": 0).
        (kalixo_order("0"), ["input", "items", "0", "unitPrice"], "unitPrice must be more than 0"),
        (
            kalixo_order("1", "-0"),
            ["input", "items", "1", "unitPrice"],
            "unitPrice must be more than 0",
        ),
        (kalixo_order("1", total="NaN"), ["input", "total"], f"total {FINITE} NaN"),
        (kalixo_order("1", total="1e400"), ["input", "total"], f"total {SIZE}"),
        (
            kalixo_order("1", topup="Infinity"),
            ["input", "items", "0", "topup"],
            f"topup {FINITE} Infinity",
        ),
    ],
)
async def test_place_order_refuses_an_amount_that_is_no_amount_before_sending(
    order: Any, field: list[str], message: str
) -> None:
    async with gateway_with(names=("kalixo",)) as gw:
        found = await gw.ok(PLACE, {"in": order})
        assert found["placeOrder"] == {
            "order": None,
            "userErrors": [{"field": field, "message": message, "code": "BAD_USER_INPUT"}],
        }
        assert gw.calls("kalixo") == []


@pytest.mark.parametrize("extra", ["hello", [1, 2], 5])
async def test_an_extra_that_is_not_an_object_is_bad_input_not_an_internal_error(
    extra: Any,
) -> None:
    order = kalixo_order("32.99")
    order["items"][0]["extra"] = extra
    async with gateway_with(names=("kalixo",)) as gw:
        found = await gw.ok(PLACE, {"in": order})
        assert found["placeOrder"]["userErrors"] == [
            {
                "field": ["input", "items", "0", "extra"],
                "message": "extra must be an object of field names and values",
                "code": "BAD_USER_INPUT",
            }
        ]
        assert gw.calls("kalixo") == []


async def test_the_largest_amounts_are_added_up_exactly() -> None:
    # The bounds: 25 digits a price, 10,000 units, 10^12 a line.
    big, small = "999999999999.999999999999", "0.000000000001"
    with localcontext(prec=60):
        lines = Decimal(big) + Decimal(small) * 9_999
    items = kalixo_order(big)["items"] + [kalixo_order(small)["items"][0] | {"quantity": 9_999}]
    order = kalixo_order(big, total="1") | {"items": items}
    async with gateway_with(names=("kalixo",)) as gw:
        found = await gw.ok(PLACE, {"in": order})
        assert found["placeOrder"]["userErrors"] == [
            {
                "field": ["input", "total"],
                "message": f"total 1 does not equal the sum of the lines {lines}",
                "code": "TOTAL_MISMATCH",
            }
        ]
        assert str(lines) == "1000000000000.000000009998"
        assert gw.calls("kalixo") == []


@pytest.mark.parametrize(
    ("quantity", "price", "field", "message"),
    [
        # A line of a million Kalixo codes stalled the embedded sandbox for seconds.
        (10_001, "1", ["input", "items", "0", "quantity"], "quantity must be from 1 to 10,000"),
        (0, "1", ["input", "items", "0", "quantity"], "quantity must be from 1 to 10,000"),
        (
            2,
            "999999999999",
            ["input", "items", "0"],
            "unitPrice times quantity must be at most 1,000,000,000,000",
        ),
    ],
)
async def test_place_order_refuses_a_line_too_large_before_sending(
    quantity: int, price: str, field: list[str], message: str
) -> None:
    order = kalixo_order(price)
    order["items"][0]["quantity"] = quantity
    async with gateway_with(names=("kalixo",)) as gw:
        found = await gw.ok(PLACE, {"in": order})
        assert found["placeOrder"]["userErrors"] == [
            {"field": field, "message": message, "code": "BAD_USER_INPUT"}
        ]
        assert gw.calls("kalixo") == []


async def test_a_kalixo_product_id_longer_than_an_id_is_bad_input_at_that_field() -> None:
    # 30 nines could not be encoded, and was said to be an amount too large, at ["input"].
    order = kalixo_order("1")
    order["items"][0]["productId"] = "9" * 30
    async with gateway_with(names=("kalixo",)) as gw:
        found = await gw.ok(PLACE, {"in": order})
        assert found["placeOrder"]["userErrors"] == [
            {
                "field": ["input", "items", "0", "productId"],
                "message": "Kalixo needs a numeric productId of at most 18 digits",
                "code": "BAD_USER_INPUT",
            }
        ]
        assert gw.calls("kalixo") == []


async def test_a_refund_of_no_items_is_bad_input_not_a_refund_of_everything(fp: Gateway) -> None:
    # `items: []` sent {"grandTotal": <everything left>, "products": []}.
    oid = order_gid(ProviderName.FRONTPAYMENT, fp_data.PAID_UUID)
    found = await fp.ok(REFUND, {"in": {"orderId": oid, "items": []}})
    [error] = found["refundOrder"]["userErrors"]
    assert (error["field"], error["code"]) == (["input", "items"], "BAD_USER_INPUT")
    assert error["message"].startswith("items, when given, must name at least one item")
    assert found["refundOrder"]["order"] is None
    assert fp.calls(FP) == []


async def test_a_refund_line_naming_another_providers_item_is_bad_input(fp: Gateway) -> None:
    # An Akinon item id whose key had the Front Payment form refunded 1.00.
    oid = order_gid(ProviderName.FRONTPAYMENT, fp_data.PAID_UUID)
    foreign = item_gid(ProviderName.AKINON, f"{fp_data.PAID_UUID}/FI_3")
    lines = [{"itemId": foreign, "amount": "1"}]
    found = await fp.ok(REFUND, {"in": {"orderId": oid, "items": lines}})
    assert found["refundOrder"] == {
        "order": None,
        "userErrors": [
            {
                "field": ["input", "items", "0", "itemId"],
                "message": "item 0 is a AKINON item, not one of this FRONTPAYMENT order",
                "code": "BAD_USER_INPUT",
            }
        ],
    }
    assert fp.calls(FP) == []


@pytest.mark.parametrize(
    ("refund", "field", "message"),
    [
        ({"amount": "NaN"}, ["input", "amount"], f"amount {FINITE} NaN"),
        ({"amount": "Infinity"}, ["input", "amount"], f"amount {FINITE} Infinity"),
        ({"amount": "1e400"}, ["input", "amount"], f"amount {SIZE}"),
        ({"amount": "1.0000000000001"}, ["input", "amount"], f"amount {PLACES}"),
        (
            {"items": [{"itemId": "x", "amount": "1"}, {"itemId": "y", "amount": "sNaN"}]},
            ["input", "items", "1", "amount"],
            f"amount {FINITE} sNaN",
        ),
    ],
)
async def test_refund_order_refuses_an_amount_that_is_no_amount_before_sending(
    fp: Gateway, refund: dict[str, Any], field: list[str], message: str
) -> None:
    oid = order_gid(ProviderName.FRONTPAYMENT, fp_data.PAID_UUID)
    found = await fp.ok(REFUND, {"in": {"orderId": oid} | refund})
    assert found["refundOrder"] == {
        "order": None,
        "userErrors": [{"field": field, "message": message, "code": "BAD_USER_INPUT"}],
    }
    assert fp.calls(FP) == []


# -- the same order, however it is written ---------------------------------------------


async def test_a_reference_with_spaces_is_the_same_order() -> None:
    async with gateway_with(names=(LP,)) as gw:
        first = (await gw.ok(PLACE, {"in": purchases("5001")}))["placeOrder"]
        again = (await gw.ok(PLACE, {"in": purchases(" 5001 ")}))["placeOrder"]
        assert first["userErrors"] == again["userErrors"] == []
        assert again["order"] == first["order"]
        assert first["order"]["externalReference"] == "5001"
        assert len(gw.calls(LP, "/purchases", "POST")) == 1
        state = gw.sandboxes[LP].app[LP_STATE]
        assert [p.order_id for p in state.purchases.values()].count("5001") == 1


async def test_amounts_are_compared_by_value_under_one_key(ll: Gateway) -> None:
    first = (await ll.ok(PLACE, {"in": lipalater("R-VAL", "1000", "k-val")}))["placeOrder"]
    again = (await ll.ok(PLACE, {"in": lipalater("R-VAL", "1000.00", "k-val")}))["placeOrder"]
    assert again == first
    other = (await ll.ok(PLACE, {"in": lipalater("R-VAL", "1001", "k-val")}))["placeOrder"]
    assert other["userErrors"] == [
        {
            "field": ["input", "idempotencyKey"],
            "message": "this idempotencyKey was used for a different order",
            "code": "IDEMPOTENCY_CONFLICT",
        }
    ]
    assert len(ll.calls(LL, "/create", "POST")) == 1


async def test_a_reference_used_for_another_order_is_a_conflict_at_the_reference(
    ll: Gateway,
) -> None:
    await ll.ok(PLACE, {"in": lipalater("R-COLLIDE", "1000")})
    found = await ll.ok(PLACE, {"in": lipalater("R-COLLIDE", "2000")})
    assert found["placeOrder"] == {
        "order": None,
        "userErrors": [
            {
                "field": ["input", "externalReference"],
                "message": "this externalReference was used for a different order",
                "code": "IDEMPOTENCY_CONFLICT",
            }
        ],
    }
    assert made(ll, "R-COLLIDE") == 1


def conflict_at(field: str) -> list[dict[str, Any]]:
    return [
        {
            "field": ["input", field],
            "message": f"this {field} was used for a different order",
            "code": "IDEMPOTENCY_CONFLICT",
        }
    ]


async def test_a_reference_names_one_order_whatever_key_it_comes_with(ll: Gateway) -> None:
    """Lipa Later places a second order under one outOrderNo: the gateway keeps the reference
    to one order. Another key with the same order answers it; with another order, it is a
    conflict at the reference. Two keys used to place two orders."""
    first = (await ll.ok(PLACE, {"in": lipalater("R-ONE", key="k-1")}))["placeOrder"]
    assert first["userErrors"] == []
    for key in ("k-2", None, "k-2"):
        again = (await ll.ok(PLACE, {"in": lipalater("R-ONE", key=key)}))["placeOrder"]
        assert again == first
    other = (await ll.ok(PLACE, {"in": lipalater("R-ONE", "2000", key="k-3")}))["placeOrder"]
    assert other == {"order": None, "userErrors": conflict_at("externalReference")}
    # The key is checked first: its own conflict is named at it.
    mine = (await ll.ok(PLACE, {"in": lipalater("R-ONE", "2000", key="k-1")}))["placeOrder"]
    assert mine == {"order": None, "userErrors": conflict_at("idempotencyKey")}
    # The refused key was put back, not left running: its own order is its own.
    own = (await ll.ok(PLACE, {"in": lipalater("R-THREE", "2000", key="k-3")}))["placeOrder"]
    assert own["userErrors"] == []
    assert own["order"]["externalReference"] == "R-THREE"
    assert len(ll.calls(LL, "/create", "POST")) == 2
    assert (made(ll, "R-ONE"), made(ll, "R-THREE")) == (1, 1)


async def test_one_reference_under_two_keys_at_once_is_placed_once(ll: Gateway) -> None:
    ll.faults(LL).update({"only_paths": ["/create"], "latency_s": 0.3})
    one, two = await asyncio.gather(
        ll.ok(PLACE, {"in": lipalater("R-RACE", key="k-race-1")}),
        ll.ok(PLACE, {"in": lipalater("R-RACE", key="k-race-2")}),
    )
    assert one["placeOrder"]["userErrors"] == two["placeOrder"]["userErrors"] == []
    assert one["placeOrder"]["order"]["id"] == two["placeOrder"]["order"]["id"]
    assert len(ll.calls(LL, "/create", "POST")) == 1
    assert made(ll, "R-RACE") == 1


async def test_a_reference_whose_create_may_have_landed_is_unknown_under_any_key(
    ll: Gateway,
) -> None:
    """Lipa Later cannot be asked for an order by its reference: a create that may have landed
    (a 503) leaves the reference unknown, under a new key too, and nothing is sent again."""
    ll.faults(LL).update({"only_paths": ["/create"], "error_rate": 1.0, "error_status": 503})
    for key in ("k-lost", "k-new", None):
        if key == "k-new":
            ll.faults(LL).update({"error_rate": 0.0})
        answer = (await ll.ok(PLACE, {"in": lipalater("R-LOST", key=key)}))["placeOrder"]
        assert answer["order"] is None
        assert [(e["code"], e["field"]) for e in answer["userErrors"]] == [
            ("OUTCOME_UNKNOWN", ["input"])
        ]
    assert len(ll.calls(LL, "/create", "POST")) == 1


async def test_a_refused_order_frees_its_key_and_its_reference(ll: Gateway) -> None:
    refusal = {"code": 500, "msg": "Store is closed", "data": None, "success": False}
    ll.faults(LL).update({"only_paths": ["/create"], "body": refusal})
    refused = (await ll.ok(PLACE, {"in": lipalater("R-FREE", key="k-free-1")}))["placeOrder"]
    assert [e["code"] for e in refused["userErrors"]] == ["REJECTED_BY_PROVIDER"]
    ll.faults(LL).update({"body": None})
    # The reference is free for another key; the first key is free, and answers that order.
    placed = (await ll.ok(PLACE, {"in": lipalater("R-FREE", key="k-free-2")}))["placeOrder"]
    assert placed["userErrors"] == []
    again = (await ll.ok(PLACE, {"in": lipalater("R-FREE", key="k-free-1")}))["placeOrder"]
    assert again == placed
    assert len(ll.calls(LL, "/create", "POST")) == 2
    assert made(ll, "R-FREE") == 1


async def test_a_purchases_reference_under_two_keys_is_one_order() -> None:
    """The purchases sandbox adds purchases to an order_id it holds already: a second key
    with the same order_id would have doubled the order's purchases."""
    async with gateway_with(names=(LP,)) as gw:
        first = await gw.ok(PLACE, {"in": purchases("5002") | {"idempotencyKey": "k-lp-1"}})
        again = await gw.ok(PLACE, {"in": purchases("5002") | {"idempotencyKey": "k-lp-2"}})
        assert again == first
        assert first["placeOrder"]["userErrors"] == []
        other = await gw.ok(PLACE, {"in": purchases("5002", 2) | {"idempotencyKey": "k-lp-3"}})
        assert other["placeOrder"] == {
            "order": None,
            "userErrors": conflict_at("externalReference"),
        }
        assert len(gw.calls(LP, "/purchases", "POST")) == 1
        state = gw.sandboxes[LP].app[LP_STATE]
        assert [p.order_id for p in state.purchases.values()].count("5002") == 1


# -- payloads and fields ---------------------------------------------------------------


async def test_two_items_rejected_in_one_operation_answer_their_order_as_it_is_now() -> None:
    a, b = (item_gid(ProviderName.AKINON, k) for k in akinon_data.REJECTABLE_ITEM_IDS)
    payload = "item { id status order { status items { id status } } } userErrors { code }"
    document = f"""mutation($a: ID!, $b: ID!) {{
        a: rejectOrderItem(input: {{itemId: $a}}) {{ {payload} }}
        b: rejectOrderItem(input: {{itemId: $b}}) {{ {payload} }} }}"""
    async with gateway_with(names=(AK,)) as gw:
        found = await gw.ok(document, {"a": a, "b": b})
    assert found["a"]["item"]["order"]["status"] == "PENDING"  # b is not rejected yet
    assert {i["id"]: i["status"] for i in found["a"]["item"]["order"]["items"]} == {
        a: "REJECTED",
        b: "PENDING",
    }
    assert found["b"] == {
        "item": {
            "id": b,
            "status": "REJECTED",
            "order": {
                "status": "REJECTED",
                "items": found["b"]["item"]["order"]["items"],
            },
        },
        "userErrors": [],
    }
    assert {i["id"]: i["status"] for i in found["b"]["item"]["order"]["items"]} == {
        a: "REJECTED",
        b: "REJECTED",
    }


async def test_an_item_a_cancel_could_not_cancel_is_named_at_the_order_id() -> None:
    async with gateway_with(names=(LP,)) as gw:
        placed = (await gw.ok(PLACE, {"in": purchases("7001", items=2)}))["placeOrder"]
        order = placed["order"]["id"]
        read = await gw.ok("query($id: ID!) { order(id: $id) { items { id } } }", {"id": order})
        delivered = read["order"]["items"][1]["id"]
        updated = await gw.ok(UPDATE, {"id": delivered, "status": "delivered"})
        assert updated["updateOrderItemStatus"]["userErrors"] == []
        found = await gw.ok(CANCEL, {"in": {"orderId": order, "reason": "changed my mind"}})
    [error] = found["cancelOrder"]["userErrors"]
    assert error["field"] == ["input", "orderId"]  # CancelOrderInput has no items
    assert error["code"] == "REJECTED_BY_PROVIDER"
    assert error["message"].startswith(f"item {delivered}: lipalater_purchases: ")
    assert "is delivered and cannot be cancelled" in error["message"]


async def test_a_mutation_that_fails_whole_leaves_the_others_answers(gateway: Gateway) -> None:
    """Mutation payloads are nullable: the second field failing (Kalixo cannot confirm) does not
    null the first one's answer, so the caller sees the cancel it made."""
    sent = ids.encode("Order", ProviderName.FRONTPAYMENT, fp_data.SENT_UUID)
    kalixo = ids.encode("Order", ProviderName.KALIXO, "59400")
    answer = await gateway.query(
        """mutation($a: ID!, $b: ID!) {
          a: cancelOrder(input: {orderId: $a, reason: "duplicate"}) {
            order { status } userErrors { code } }
          b: confirmOrder(input: {orderId: $b, installPlanId: "1"}) { order { id } } }""",
        {"a": sent, "b": kalixo},
    )
    assert answer.data == {"a": {"order": {"status": "CANCELLED"}, "userErrors": []}, "b": None}
    assert [(e["path"], e["extensions"]["code"]) for e in answer.errors] == [
        (["b"], "UNSUPPORTED_OPERATION")
    ]
