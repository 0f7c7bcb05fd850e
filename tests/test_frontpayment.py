"""Front Payment through the gateway: GraphQL over HTTP, the sandbox behind it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from graph import ids
from graph.config import Config
from providers.model import ProviderName
from providers.sandbox import frontpayment_data as data
from providers.sandbox.frontpayment import STATE, STATIC_TOKEN
from tests.conftest import gateway_with
from tests.harness import Gateway

FP = "frontpayment"
ORDER_FIELDS = """
    id number status providerStatus paymentStatus placedAt currency invoiceNumber
    externalReference details
    total { amount currency } subtotal { amount currency } tax { amount currency }
    discount { amount currency } refunded { amount currency }
    items { id productId name quantity taxRate
            unitPrice { amount currency } discount { amount } total { amount } }
    customer { id name email phone type language organizationId
               address { id line postcode city country email phone } }
    payment { link linkDueAt paidAt amount { amount currency } refunded { amount }
              refunds { at amount { amount currency } isRefunded isPartial } }
"""
BY_NUMBER = f"""query($number: String!) {{
    orderByNumber(provider: FRONTPAYMENT, number: $number) {{ {ORDER_FIELDS} }} }}"""
BY_ID = """query($id: ID!) { order(id: $id) { number status providerStatus paymentStatus } }"""
STATUS_ONLY = """query($number: String!) {
    orderByNumber(provider: FRONTPAYMENT, number: $number) {
        status providerStatus paymentStatus refunded { amount } } }"""
CANCEL = """mutation($id: ID!, $reason: String) {
    cancelOrder(input: {orderId: $id, reason: $reason}) {
        order { number status providerStatus paymentStatus }
        userErrors { field message code providerCode } } }"""
REFUND = """mutation($id: ID!, $amount: Decimal, $items: [RefundItemInput!]) {
    refundOrder(input: {orderId: $id, amount: $amount, items: $items}) {
        order { number status providerStatus paymentStatus refunded { amount }
                payment { refunds { amount { amount } isPartial } } }
        userErrors { field message code providerCode } } }"""


def order_id(uuid: str) -> str:
    return ids.encode("Order", ProviderName.FRONTPAYMENT, uuid)


def item_id(uuid: str, product_id: str) -> str:
    return ids.encode("OrderItem", ProviderName.FRONTPAYMENT, f"{uuid}/{product_id}")


def nok(value: float | int | Decimal) -> str:
    """How the gateway shows a NOK amount: to the øre."""
    return str(Decimal(str(value)).quantize(Decimal("0.01")))


def orders(gw: Gateway) -> dict[str, dict[str, Any]]:
    return gw.sandboxes[FP].app[STATE].orders


def bodies(gw: Gateway, path: str) -> list[Any]:
    return [json.loads(r.body) for r in gw.calls(FP, path, "POST")]


# -- reading ---------------------------------------------------------------------------


async def test_the_page_example_with_its_exact_figures(gateway: Gateway) -> None:
    found = await gateway.ok(BY_NUMBER, {"number": data.EXAMPLE_UUID})
    order = found["orderByNumber"]
    assert order["id"] == order_id(data.EXAMPLE_UUID)
    assert order["number"] == "ODR986760186"
    # INVOICED, and 70 of the 100.50 paid came back: the payment is partially refunded.
    assert (order["status"], order["providerStatus"], order["paymentStatus"]) == (
        "INVOICED",
        "INVOICED",
        "PARTIALLY_REFUNDED",
    )
    assert order["placedAt"] == "2023-08-02T00:00:00+02:00"
    assert order["currency"] == "NOK"
    assert order["subtotal"] == {"amount": "4017.86", "currency": "NOK"}
    assert order["tax"] == {"amount": "482.14", "currency": "NOK"}
    assert order["total"] == {"amount": "4500.00", "currency": "NOK"}
    assert Decimal(order["subtotal"]["amount"]) + Decimal(order["tax"]["amount"]) == 4500
    assert order["discount"] == {"amount": "0.00", "currency": "NOK"}
    assert order["refunded"] == {"amount": "70.00", "currency": "NOK"}
    assert order["invoiceNumber"] is None
    assert order["externalReference"] is None
    assert order["items"] == [
        {
            "id": item_id(data.EXAMPLE_UUID, "R_1"),
            "productId": "R_1",
            "name": "Router",
            "quantity": 1,
            "taxRate": "0",
            "unitPrice": {"amount": "4500.00", "currency": "NOK"},
            "discount": {"amount": "0.00"},
            "total": {"amount": "4500.00"},
        }
    ]
    address_id = ids.encode(
        "CustomerAddress", ProviderName.FRONTPAYMENT, f"{data.EXAMPLE_UUID}/customer"
    )
    assert order["customer"] == {
        "id": "CSRT197366289",
        "name": "Kari Nordmann",
        "email": "[email protected]",
        "phone": "+4746567468",
        "type": "Private",
        "language": "en",
        "organizationId": None,
        "address": {
            "id": address_id,
            "line": "Luramyrveien 65",
            "postcode": "4313",
            "city": "Sandnes",
            "country": "NO",
            "email": "[email protected]",
            "phone": "+4746567468",
        },
    }
    assert order["payment"] == {
        "link": None,
        "linkDueAt": "2023-08-04T07:11:00+02:00",
        "paidAt": "2024-03-18T05:59:55+00:00",
        "amount": {"amount": "100.50", "currency": "NOK"},
        "refunded": {"amount": "70.00"},
        "refunds": [
            {
                "at": "2024-03-18T06:01:45+00:00",
                "amount": {"amount": "10.00", "currency": "NOK"},
                "isRefunded": True,
                "isPartial": True,
            },
            {
                "at": "2024-03-18T06:02:49+00:00",
                "amount": {"amount": "30.00", "currency": "NOK"},
                "isRefunded": True,
                "isPartial": True,
            },
            {
                "at": "2024-03-18T06:03:14+00:00",
                "amount": {"amount": "30.00", "currency": "NOK"},
                "isRefunded": True,
                "isPartial": True,
            },
        ],
    }
    details = order["details"]
    assert details["invoice_as_payment_option"] is True  # sent as 1
    assert details["type"] == "REGULAR"
    assert details["send_order_by"] == {"sms": False, "email": True, "invoice": False}
    assert details["credit_check"] is False
    assert details["translation_key"] == "orderInvoiced"
    assert details["organization"]["uuid"] == "ORG2111119716"
    assert details["organization"]["name"] == "Partex"
    assert details["organization"]["billing_address"]["city"] == "Sandnes"
    assert details["business_information"]["type"] == "Business and Industrial Markets"
    calls = gateway.calls(FP)
    assert [(c.method, c.path) for c in calls] == [
        ("GET", "/api/v1/connect/orders/details/ODR986760186")
    ]


async def test_order_node_and_by_number_are_the_same_read(gateway: Gateway) -> None:
    gid = order_id(data.EXAMPLE_UUID)
    found = await gateway.ok(
        """query($id: ID!, $item: ID!, $address: ID!) {
            order(id: $id) { id number total { amount } }
            node(id: $id) { id ... on Order { number providerStatus } }
            item: node(id: $item) { ... on OrderItem { productId order { number } } }
            address: node(id: $address) { ... on CustomerAddress { line city } }
        }""",
        {
            "id": gid,
            "item": item_id(data.EXAMPLE_UUID, "R_1"),
            "address": ids.encode(
                "CustomerAddress", ProviderName.FRONTPAYMENT, f"{data.EXAMPLE_UUID}/customer"
            ),
        },
    )
    assert found["order"] == {"id": gid, "number": "ODR986760186", "total": {"amount": "4500.00"}}
    assert found["node"] == {"id": gid, "number": "ODR986760186", "providerStatus": "INVOICED"}
    assert found["item"] == {"productId": "R_1", "order": {"number": "ODR986760186"}}
    assert found["address"] == {"line": "Luramyrveien 65", "city": "Sandnes"}
    # order and node share one loader; the item and address, read through the order, share its
    # GET (providers.http.Reads): one call.
    assert len(gateway.calls(FP, "/orders/details/ODR986760186", "GET")) == 1


async def test_several_orders_in_one_query_are_one_call_each(gateway: Gateway) -> None:
    found = await gateway.ok(
        """query($a: ID!, $b: ID!) {
            a: order(id: $a) { number } b: order(id: $b) { number } again: order(id: $a) { number }
        }""",
        {"a": order_id(data.PAID_UUID), "b": order_id(data.SENT_UUID)},
    )
    assert [found[k]["number"] for k in ("a", "b", "again")] == [
        data.PAID_UUID,
        data.SENT_UUID,
        data.PAID_UUID,
    ]
    assert sorted(c.path.rsplit("/", 1)[1] for c in gateway.calls(FP)) == sorted(
        [data.PAID_UUID, data.SENT_UUID]
    )


async def test_a_generated_order_maps_every_product_line(gateway: Gateway) -> None:
    record = orders(gateway)[data.PAID_UUID]
    found = await gateway.ok(BY_NUMBER, {"number": data.PAID_UUID})
    order = found["orderByNumber"]
    summary = record["orderSummary"]
    assert order["total"]["amount"] == nok(summary["grandTotal"])
    assert order["subtotal"]["amount"] == nok(summary["subTotal"])
    assert order["tax"]["amount"] == nok(summary["tax"])
    assert order["discount"]["amount"] == nok(summary["discount"])
    assert [
        (i["productId"], i["name"], i["quantity"], i["unitPrice"]["amount"], i["taxRate"])
        for i in order["items"]
    ] == [
        (p["productId"], p["name"], p["quantity"], nok(p["rate"]), "25")
        for p in record["productList"]
    ]
    assert [(i["discount"]["amount"], i["total"]["amount"]) for i in order["items"]] == [
        (nok(p["discount"]), nok(p["amount"])) for p in record["productList"]
    ]
    customer = record["customerDetails"]
    assert order["customer"]["phone"] == customer["countryCode"] + customer["msisdn"]
    assert order["customer"]["address"]["postcode"] == customer["address"]["zip"]
    assert order["details"]["invoice_as_payment_option"] is True  # sent as 1
    assert order["payment"]["paidAt"] is not None
    # The second PAID order carries invoiceAsPaymentOption 0; SENT ones true/false.
    other = await gateway.ok(BY_NUMBER, {"number": data.ORDER_UUIDS["PAID"][1]})
    assert other["orderByNumber"]["details"]["invoice_as_payment_option"] is False
    sent = await gateway.ok(BY_NUMBER, {"number": data.SENT_UUID})
    assert (
        sent["orderByNumber"]["payment"]["link"]
        == f"https://demo-pay.frontpayment.no/{data.SENT_UUID}"
    )
    assert sent["orderByNumber"]["payment"]["paidAt"] is None
    assert sent["orderByNumber"]["refunded"] is None


@pytest.mark.parametrize("quantity", [3_000_000_000, 0, -1])
async def test_a_quantity_the_schema_cannot_serve_is_the_providers_bad_answer(
    gateway: Gateway, quantity: int
) -> None:
    """GraphQL's Int is 32 bits: a quantity of 3,000,000,000 was an INTERNAL_SERVER_ERROR.
    Any quantity outside 1 .. 2^31 - 1 is a PROVIDER_ERROR on its order alone."""
    orders(gateway)[data.PAID_UUID]["productList"][0]["quantity"] = quantity
    answer = await gateway.query(
        """query($a: ID!, $b: ID!) {
            a: order(id: $a) { items { quantity } } b: order(id: $b) { number } }""",
        {"a": order_id(data.PAID_UUID), "b": order_id(data.SENT_UUID)},
    )
    assert answer.data == {"a": None, "b": {"number": data.SENT_UUID}}
    [error] = answer.errors
    assert (error["path"], error["extensions"]["code"]) == (["a"], "PROVIDER_ERROR")
    assert error["message"] == (
        f"frontpayment: productList[].quantity {quantity} is not a count from 1 to 2,147,483,647"
    )


async def test_the_largest_quantity_the_schema_serves_is_read(gateway: Gateway) -> None:
    products = orders(gateway)[data.PAID_UUID]["productList"]
    products[0]["quantity"] = 2**31 - 1
    found = await gateway.ok(
        BY_ID.replace("paymentStatus", "paymentStatus items { quantity }"),
        {"id": order_id(data.PAID_UUID)},
    )
    assert [i["quantity"] for i in found["order"]["items"]] == [2**31 - 1] + [
        p["quantity"] for p in products[1:]
    ]


# Front Payment status -> (OrderStatus, PaymentStatus), for the seeded order in that status.
SEEDED_STATUSES = {
    data.SENT_UUID: ("PENDING", "PENDING"),
    data.RESERVED_UUID: ("APPROVED", "AUTHORIZED"),
    data.PAID_UUID: ("PAID", "PAID"),
    data.INVOICED_UUID: ("INVOICED", "PAID"),
    data.PARTIAL_REFUNDED_UUID: ("PAID", "PARTIALLY_REFUNDED"),
    data.REFUNDED_UUID: ("PAID", "REFUNDED"),
    data.CANCELLED_UUID: ("CANCELLED", "VOIDED"),
    data.EXPIRED_UUID: ("CANCELLED", "VOIDED"),
}
# Statuses only callbacks send, and ones no table knows, set on a paid order.
OTHER_STATUSES = {
    "CAPTURED": ("PAID", "PAID"),
    "CHARGED": ("PAID", "PAID"),
    "ON HOLD": ("UNKNOWN", "UNKNOWN"),
    None: ("UNKNOWN", "UNKNOWN"),
}


async def test_every_seeded_status(gateway: Gateway) -> None:
    assert {orders(gateway)[u]["status"] for u in SEEDED_STATUSES} == set(data.STATUSES)
    for uuid, expected in SEEDED_STATUSES.items():
        order = (await gateway.ok(STATUS_ONLY, {"number": uuid}))["orderByNumber"]
        raw = orders(gateway)[uuid]["status"]
        assert (order["status"], order["paymentStatus"]) == expected, raw
        assert order["providerStatus"] == raw
    assert len(gateway.calls(FP, "/orders/details/", "GET")) == len(SEEDED_STATUSES)


async def test_callback_and_unknown_statuses(gateway: Gateway) -> None:
    for raw, (status, payment) in OTHER_STATUSES.items():
        orders(gateway)[data.PAID_UUID]["status"] = raw
        found = await gateway.ok(STATUS_ONLY, {"number": data.PAID_UUID})
        assert found["orderByNumber"] == {
            "status": status,
            "providerStatus": raw,
            "paymentStatus": payment,
            "refunded": {"amount": "0.00"},
        }, raw


async def test_an_invoice_not_paid_yet_is_pending(gateway: Gateway) -> None:
    history = orders(gateway)[data.INVOICED_UUID]["paymentHistory"]
    history.update({"paidAt": None, "amount": None})
    found = await gateway.ok(STATUS_ONLY, {"number": data.INVOICED_UUID})
    assert found["orderByNumber"]["status"] == "INVOICED"
    assert found["orderByNumber"]["paymentStatus"] == "PENDING"


async def test_personal_number_needs_pii_and_stays_out_of_raw(gateway: Gateway) -> None:
    orders(gateway)[data.EXAMPLE_UUID]["customerDetails"]["personalNumber"] = "01017012345"
    document = """query($n: String!) { orderByNumber(provider: FRONTPAYMENT, number: $n) {
        customer { personalNumber } raw } }"""
    found = await gateway.ok(document, {"n": data.EXAMPLE_UUID})
    assert found["orderByNumber"]["customer"] == {"personalNumber": "01017012345"}
    raw = found["orderByNumber"]["raw"]
    assert raw["customerDetails"]["personalNumber"] == "[redacted]"
    assert raw["orderSummary"]["subTotal"] == 4017.86
    assert "01017012345" not in json.dumps(raw)


async def test_reader_without_pii_scope_is_forbidden_the_personal_number() -> None:
    async with gateway_with(names=(FP,), server={"api_keys": {"reader": ["orders:read"]}}) as gw:
        answer = await gw.query(
            """{ orderByNumber(provider: FRONTPAYMENT, number: "ODR986760186") {
                number customer { name personalNumber } } }""",
            key="reader",
        )
        assert answer.data["orderByNumber"]["customer"] == {
            "name": "Kari Nordmann",
            "personalNumber": None,
        }
        assert answer.codes == ["FORBIDDEN"]


# -- refusals and failures -------------------------------------------------------------


@pytest.mark.parametrize(
    ("uuid", "provider_code"),
    [("ODR999999999", None), ("nope-123", "orderNotFound")],  # the page's two 404 shapes
)
async def test_unknown_orders_are_not_found(
    gateway: Gateway, uuid: str, provider_code: str | None
) -> None:
    answer = await gateway.query(BY_ID, {"id": order_id(uuid)})
    assert answer.codes == ["NOT_FOUND"]
    assert answer.data == {"order": None}
    assert len(gateway.calls(FP, f"/orders/details/{uuid}", "GET")) == 1
    node = await gateway.query("query($id: ID!) { node(id: $id) { id } }", {"id": order_id(uuid)})
    assert node.data == {"node": None}
    assert node.errors == []
    by_number = await gateway.query(STATUS_ONLY, {"number": uuid})
    assert by_number.codes == ["NOT_FOUND"]


async def test_a_key_that_is_no_uuid_is_not_sent(gateway: Gateway) -> None:
    answer = await gateway.query(BY_ID, {"id": order_id("../../admin")})
    assert answer.codes == ["NOT_FOUND"]
    assert gateway.calls(FP) == []


async def test_510_is_a_provider_error(gateway: Gateway) -> None:
    answer = await gateway.query(BY_ID, {"id": order_id(data.FAILING_UUID)})
    assert answer.codes == ["PROVIDER_ERROR"]
    extensions = answer.errors[0]["extensions"]
    assert extensions["provider"] == "FRONTPAYMENT"
    assert extensions["httpStatus"] == 510
    assert "Something Went Wrong" in answer.errors[0]["message"]
    assert len(gateway.calls(FP, f"/orders/details/{data.FAILING_UUID}", "GET")) == 1


async def test_malformed_and_wrong_shaped_bodies_are_provider_errors(gateway: Gateway) -> None:
    faults = gateway.faults(FP)
    faults.malformed = True
    answer = await gateway.query(BY_ID, {"id": order_id(data.EXAMPLE_UUID)})
    assert answer.codes == ["PROVIDER_ERROR"]
    assert "malformed JSON" in answer.errors[0]["message"]
    faults.malformed = False
    faults.wrong_shape = True
    answer = await gateway.query(BY_ID, {"id": order_id(data.EXAMPLE_UUID)})
    assert answer.codes == ["PROVIDER_ERROR"]
    assert len(gateway.calls(FP, "/orders/details/", "GET")) == 2
    faults.wrong_shape = False
    # An envelope without its data read as "no such order" (NOT_FOUND): only `is_data: false`
    # is a success without data.
    for body in ({}, {"status_code": 200, "data": None}):
        faults.body = body
        answer = await gateway.query(BY_ID, {"id": order_id(data.EXAMPLE_UUID)})
        assert answer.codes == ["PROVIDER_ERROR"], body
        assert answer.errors[0]["message"] == "frontpayment: unexpected body from orders: no data"


async def test_a_5xx_is_a_retryable_provider_error(gateway: Gateway) -> None:
    faults = gateway.faults(FP)
    faults.error_rate, faults.error_status = 1.0, 503
    answer = await gateway.query(BY_ID, {"id": order_id(data.EXAMPLE_UUID)})
    assert answer.codes == ["PROVIDER_ERROR"]
    assert answer.errors[0]["extensions"]["httpStatus"] == 503
    assert answer.errors[0]["extensions"]["retryable"] is True
    # The shared client may try a GET again after a 503 (its retry policy), never more than 3.
    assert 1 <= len(gateway.calls(FP, "/orders/details/", "GET")) <= 3


async def test_one_failing_order_leaves_the_others(gateway: Gateway) -> None:
    answer = await gateway.query(
        """query($a: ID!, $b: ID!) { a: order(id: $a) { number } b: order(id: $b) { number } }""",
        {"a": order_id(data.EXAMPLE_UUID), "b": order_id(data.FAILING_UUID)},
    )
    assert answer.data == {"a": {"number": data.EXAMPLE_UUID}, "b": None}
    assert answer.codes == ["PROVIDER_ERROR"]
    assert answer.errors[0]["path"] == ["b"]


@pytest.fixture
async def wrong_token() -> AsyncIterator[Gateway]:
    async with gateway_with({FP: {"token": "not-the-fp-token"}}, names=(FP,)) as gw:
        yield gw


async def test_a_refused_token_is_a_provider_error_without_the_token(wrong_token: Gateway) -> None:
    answer = await wrong_token.query(BY_ID, {"id": order_id(data.EXAMPLE_UUID)})
    assert answer.codes == ["PROVIDER_ERROR"]
    assert answer.errors[0]["extensions"]["httpStatus"] == 401
    assert answer.errors[0]["extensions"]["providerCode"] == "unauthenticated"
    assert "not-the-fp-token" not in json.dumps(answer.body)
    assert STATIC_TOKEN not in json.dumps(answer.body)
    # A static token: nothing to refresh, so no second try.
    assert len(wrong_token.calls(FP)) == 1


async def test_capabilities_and_an_operation_it_lacks(gateway: Gateway) -> None:
    found = await gateway.ok("{ providers { name configured capabilities } }")
    fp = next(p for p in found["providers"] if p["name"] == "FRONTPAYMENT")
    assert fp["configured"] is True
    assert sorted(fp["capabilities"]) == ["CANCEL_ORDER", "READ_ORDER", "REFUND_ORDER"]
    answer = await gateway.query(
        """mutation($id: ID!) { confirmOrder(input: {orderId: $id, installPlanId: "1"}) {
            userErrors { code } } }""",
        {"id": order_id(data.SENT_UUID)},
    )
    assert answer.codes == ["UNSUPPORTED_OPERATION"]
    assert gateway.calls(FP) == []


# -- cancel ----------------------------------------------------------------------------


# The sent example order's cancelOrder payload once cancelled, re-read.
SENT_CANCELLED = {
    "order": {
        "number": data.SENT_UUID,
        "status": "CANCELLED",
        "providerStatus": "CANCELLED",
        "paymentStatus": "VOIDED",
    },
    "userErrors": [],
}


async def test_cancel_a_sent_order(gateway: Gateway) -> None:
    found = await gateway.ok(CANCEL, {"id": order_id(data.SENT_UUID), "reason": "Wrong size"})
    assert found["cancelOrder"] == SENT_CANCELLED
    assert bodies(gateway, f"/orders/cancel/{data.SENT_UUID}") == [
        {"cancellationNote": "Wrong size"}
    ]
    assert [c.method for c in gateway.calls(FP)] == ["POST", "GET"]  # cancel, then re-read


async def test_a_paid_order_cannot_be_cancelled(gateway: Gateway) -> None:
    found = await gateway.ok(CANCEL, {"id": order_id(data.PAID_UUID), "reason": "Too late"})
    assert found["cancelOrder"]["order"] is None
    [error] = found["cancelOrder"]["userErrors"]
    assert error["code"] == "REJECTED_BY_PROVIDER"
    assert error["providerCode"] == "orderStatusAlreadyPaid"
    assert "orderStatusAlreadyPaid" in error["message"]
    assert len(gateway.calls(FP, "/orders/cancel/", "POST")) == 1
    assert gateway.calls(FP, "/orders/details/") == []
    assert orders(gateway)[data.PAID_UUID]["status"] == "PAID"


@pytest.mark.parametrize("reason", [None, "  "])
async def test_cancel_needs_a_reason(gateway: Gateway, reason: str | None) -> None:
    found = await gateway.ok(CANCEL, {"id": order_id(data.SENT_UUID), "reason": reason})
    [error] = found["cancelOrder"]["userErrors"]
    assert (error["code"], error["field"]) == ("BAD_USER_INPUT", ["input", "reason"])
    assert gateway.calls(FP) == []


async def test_a_cancel_answered_without_data_succeeds(gateway: Gateway) -> None:
    # 202 cancelledOrderSuccessfully with is_data: false, data: null: is_error is what flags a
    # failure, and it is not set.
    gateway.sandboxes[FP].app[STATE].writes_without_data = True
    found = await gateway.ok(CANCEL, {"id": order_id(data.SENT_UUID), "reason": "Wrong size"})
    assert found["cancelOrder"] == SENT_CANCELLED
    assert len(gateway.calls(FP, "/orders/cancel/", "POST")) == 1
    assert [c.method for c in gateway.calls(FP)] == ["POST", "GET"]


async def test_a_refund_answered_without_data_succeeds(gateway: Gateway) -> None:
    gateway.sandboxes[FP].app[STATE].writes_without_data = True
    found = await gateway.ok(REFUND, {"id": order_id(data.PAID_UUID), "amount": "1"})
    assert found["refundOrder"]["userErrors"] == []
    assert found["refundOrder"]["order"]["refunded"] == {"amount": "1.00"}


# A 2xx that is not the page's success envelope, or that holds another order's data.
NOT_A_WRITES_ANSWER = {
    "{}": ({}, "not the success envelope of a write"),
    "data only": (
        {"data": {"orderUuid": data.SENT_UUID, "status": "CANCELLED"}},
        "not the success envelope of a write",
    ),
    "is_data false only": ({"is_data": False, "data": None}, "not the success envelope of a write"),
    "another order": (
        {
            "status_code": 202,
            "status_message": "Accepted",
            "message": "cancelledOrderSuccessfully",
            "is_data": True,
            "data": {"orderUuid": "ODR000000001", "status": "CANCELLED"},
        },
        "the data of another order",
    ),
}


@pytest.mark.parametrize("answer", list(NOT_A_WRITES_ANSWER))
@pytest.mark.parametrize(
    ("mutation", "uuid", "variables"),
    [
        ("cancelOrder", data.SENT_UUID, {"reason": "Wrong size"}),
        ("refundOrder", data.PAID_UUID, {"amount": "1"}),
    ],
)
async def test_a_write_answered_without_its_success_envelope_may_have_been_applied(
    gateway: Gateway, answer: str, mutation: str, uuid: str, variables: dict[str, Any]
) -> None:
    """A cancel or refund answered ``{}`` under a 200 was a success, its order re-read as if
    the change had been made. It says nothing of what was done: a PROVIDER_ERROR that may have
    been applied (not retryable), and no re-read."""
    body, why = NOT_A_WRITES_ANSWER[answer]
    action = "cancel" if mutation == "cancelOrder" else "refund"
    gateway.faults(FP).update({"body": body, "only_paths": [f"/orders/{action}/"]})
    status = orders(gateway)[uuid]["status"]
    found = await gateway.query(
        CANCEL if mutation == "cancelOrder" else REFUND, {"id": order_id(uuid)} | variables
    )
    assert found.data == {mutation: None}
    [error] = found.errors
    assert error["path"] == [mutation]
    assert (error["extensions"]["code"], error["extensions"]["retryable"]) == (
        "PROVIDER_ERROR",
        False,
    )
    assert error["extensions"]["httpStatus"] == 200
    assert error["message"] == (
        f"frontpayment: unexpected body from orders: {why}; the request may have been applied"
    )
    assert len(gateway.calls(FP, f"/orders/{action}/{uuid}", "POST")) == 1
    # A refund reads the order first; neither reads it again after the write.
    reads = 1 if mutation == "refundOrder" else 0
    assert len(gateway.calls(FP, "/orders/details/", "GET")) == reads
    assert orders(gateway)[uuid]["status"] == status  # the fault answered, not the sandbox


async def test_cancel_an_unknown_order(gateway: Gateway) -> None:
    found = await gateway.ok(CANCEL, {"id": order_id("ODR999999999"), "reason": "x"})
    [error] = found["cancelOrder"]["userErrors"]
    assert error["code"] == "NOT_FOUND"
    assert error["providerCode"] == "orderNotFound"


# -- refund ----------------------------------------------------------------------------


async def test_partial_then_whole_refund(gateway: Gateway) -> None:
    record = orders(gateway)[data.PAID_UUID]
    total = Decimal(str(record["paymentHistory"]["amount"]))
    gid = order_id(data.PAID_UUID)

    found = await gateway.ok(REFUND, {"id": gid, "amount": "100.25"})
    refund = found["refundOrder"]
    assert refund["userErrors"] == []
    assert refund["order"]["providerStatus"] == "PARTIAL REFUNDED"
    assert (refund["order"]["status"], refund["order"]["paymentStatus"]) == (
        "PAID",
        "PARTIALLY_REFUNDED",
    )
    assert refund["order"]["refunded"] == {"amount": "100.25"}
    assert refund["order"]["payment"]["refunds"] == [
        {"amount": {"amount": "100.25"}, "isPartial": True}
    ]
    # read the order, send the refund, re-read
    assert [c.method for c in gateway.calls(FP)] == ["GET", "POST", "GET"]

    gateway.clear_calls()
    found = await gateway.ok(REFUND, {"id": gid})
    order = found["refundOrder"]["order"]
    assert (order["providerStatus"], order["paymentStatus"]) == ("REFUNDED", "REFUNDED")
    assert order["refunded"] == {"amount": nok(total)}
    assert bodies(gateway, "/orders/refund/") == [
        {"type": "regular", "grandTotal": float(total - Decimal("100.25")), "products": []}
    ]
    assert [c.method for c in gateway.calls(FP)] == ["GET", "POST", "GET"]

    gateway.clear_calls()
    found = await gateway.ok(REFUND, {"id": gid})
    [error] = found["refundOrder"]["userErrors"]
    assert (error["code"], error["field"]) == ("BAD_USER_INPUT", ["input", "orderId"])
    assert gateway.calls(FP, "/orders/refund/") == []


async def test_refund_per_product(gateway: Gateway) -> None:
    record = orders(gateway)[data.PAID_UUID]
    product = record["productList"][0]
    found = await gateway.ok(
        REFUND,
        {
            "id": order_id(data.PAID_UUID),
            "items": [{"itemId": item_id(data.PAID_UUID, product["productId"]), "amount": "10"}],
        },
    )
    assert found["refundOrder"]["userErrors"] == []
    assert found["refundOrder"]["order"]["refunded"] == {"amount": "10.00"}
    assert found["refundOrder"]["order"]["paymentStatus"] == "PARTIALLY_REFUNDED"
    assert bodies(gateway, "/orders/refund/") == [
        {
            "type": "regular",
            "grandTotal": 10,
            "products": [{"id": product["productId"], "amount": 10}],
        }
    ]


async def test_whole_refund_of_the_invoiced_example(gateway: Gateway) -> None:
    found = await gateway.ok(REFUND, {"id": order_id(data.EXAMPLE_UUID)})
    order = found["refundOrder"]["order"]
    assert (order["providerStatus"], order["paymentStatus"]) == ("REFUNDED", "REFUNDED")
    assert order["status"] == "PAID"
    assert order["refunded"] == {"amount": "100.50"}
    # What was left: 100.50 paid less 70 refunded. The example is INVOICED but its type is
    # "REGULAR": the refund type follows the order's type, not its status.
    assert bodies(gateway, "/orders/refund/ODR986760186") == [
        {"type": "regular", "grandTotal": 30.5, "products": []}
    ]


async def test_a_whole_refund_of_more_than_any_order_holds_is_a_provider_error(
    gateway: Gateway,
) -> None:
    """A payment history of 10^30 paid made a whole-order refund an internal error ("Integer
    exceeds 64-bit range", encoding the amount): it is the provider's bad answer, and nothing
    is sent."""
    orders(gateway)[data.PAID_UUID]["paymentHistory"]["amount"] = 10**30
    found = await gateway.query(REFUND, {"id": order_id(data.PAID_UUID)})
    assert found.data == {"refundOrder": None}
    [error] = found.errors
    assert error["extensions"]["code"] == "PROVIDER_ERROR"
    assert error["message"] == (
        f"frontpayment: order {data.PAID_UUID}'s payment history leaves more than "
        "1,000,000,000,000 to refund: not an amount it can have been paid; nothing was sent"
    )
    assert error["extensions"]["retryable"] is False  # the same history answers the same
    assert gateway.calls(FP, "/orders/refund/") == []


async def test_every_refund_of_an_invoice_order_is_invoiced(gateway: Gateway) -> None:
    record = orders(gateway)[data.INVOICED_UUID]
    assert (record["type"], record["status"]) == ("INVOICE", "INVOICED")
    gid = order_id(data.INVOICED_UUID)

    first = (await gateway.ok(REFUND, {"id": gid, "amount": "10"}))["refundOrder"]
    assert first["userErrors"] == []
    assert first["order"]["providerStatus"] == "PARTIAL REFUNDED"
    # The status moved on; the order is still an invoice order, and the next refund says so.
    second = (await gateway.ok(REFUND, {"id": gid, "amount": "5.5"}))["refundOrder"]
    assert second["userErrors"] == []
    assert second["order"]["refunded"] == {"amount": "15.50"}
    assert bodies(gateway, f"/orders/refund/{data.INVOICED_UUID}") == [
        {"type": "invoiced", "grandTotal": 10, "products": []},
        {"type": "invoiced", "grandTotal": 5.5, "products": []},
    ]
    assert len(gateway.calls(FP, "/orders/refund/", "POST")) == 2


async def test_amounts_finer_than_an_ore_are_refused_before_sending(gateway: Gateway) -> None:
    gid = order_id(data.PAID_UUID)
    product = orders(gateway)[data.PAID_UUID]["productList"][0]["productId"]
    item = item_id(data.PAID_UUID, product)
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"amount": "10.005"}, ["input", "amount"]),  # was sent as 10
        ({"amount": "0.004"}, ["input", "amount"]),  # was sent as 0
        ({"items": [{"itemId": item, "amount": "1.001"}]}, ["input", "items", "0", "amount"]),
        (
            {"amount": "2.002", "items": [{"itemId": item, "amount": "2.002"}]},
            ["input", "items", "0", "amount"],
        ),
    ]
    for variables, field in cases:
        found = await gateway.ok(REFUND, {"id": gid, **variables})
        assert found["refundOrder"]["order"] is None
        [error] = found["refundOrder"]["userErrors"]
        assert (error["code"], error["field"]) == ("BAD_USER_INPUT", field), variables
        assert "øre" in error["message"]
    assert gateway.calls(FP) == []  # not even the order was read
    assert orders(gateway)[data.PAID_UUID]["paymentHistory"]["refunded"] == 0


async def test_an_over_refund_is_refused(gateway: Gateway) -> None:
    found = await gateway.ok(REFUND, {"id": order_id(data.EXAMPLE_UUID), "amount": "30.51"})
    assert found["refundOrder"]["order"] is None
    [error] = found["refundOrder"]["userErrors"]
    assert error["code"] == "REJECTED_BY_PROVIDER"
    assert error["providerCode"] == "payloadValidationErrors"
    assert error["field"] == ["input", "amount"]
    assert "may not be greater than 30.50" in error["message"]
    assert orders(gateway)[data.EXAMPLE_UUID]["paymentHistory"]["refunded"] == 70


async def test_an_item_over_refund_names_the_item(gateway: Gateway) -> None:
    product = orders(gateway)[data.PAID_UUID]["productList"][0]
    too_much = str(Decimal(str(product["amount"])) + 1)
    found = await gateway.ok(
        REFUND,
        {
            "id": order_id(data.PAID_UUID),
            "items": [
                {"itemId": item_id(data.PAID_UUID, product["productId"]), "amount": too_much}
            ],
        },
    )
    [error] = found["refundOrder"]["userErrors"]
    assert error["code"] == "REJECTED_BY_PROVIDER"
    assert error["providerCode"] == "payloadValidationErrors"
    assert error["field"] in (["input", "items", "0", "amount"], ["input", "amount"])


async def test_an_unpaid_order_cannot_be_refunded(gateway: Gateway) -> None:
    found = await gateway.ok(REFUND, {"id": order_id(data.SENT_UUID), "amount": "1"})
    [error] = found["refundOrder"]["userErrors"]
    assert (error["code"], error["providerCode"]) == ("REJECTED_BY_PROVIDER", "orderIsNotPaid")


async def test_refund_input_is_checked_before_sending(gateway: Gateway) -> None:
    gid = order_id(data.PAID_UUID)
    product = orders(gateway)[data.PAID_UUID]["productList"][0]["productId"]
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"amount": "0"}, ["input", "amount"]),
        (
            {"items": [{"itemId": item_id(data.SENT_UUID, product), "amount": "1"}]},
            ["input", "items", "0", "itemId"],
        ),
        (
            {"items": [{"itemId": item_id(data.PAID_UUID, product), "amount": "-1"}]},
            ["input", "items", "0", "amount"],
        ),
        (
            {"amount": "5", "items": [{"itemId": item_id(data.PAID_UUID, product), "amount": "1"}]},
            ["input", "amount"],
        ),
        (
            {"items": [{"itemId": item_id(data.PAID_UUID, "NOPE"), "amount": "1"}]},
            ["input", "items", "0", "itemId"],
        ),
    ]
    for variables, field in cases:
        found = await gateway.ok(REFUND, {"id": gid, **variables})
        [error] = found["refundOrder"]["userErrors"]
        assert (error["code"], error["field"]) == ("BAD_USER_INPUT", field), variables
    assert gateway.calls(FP, "/orders/refund/") == []


async def test_refund_an_unknown_order(gateway: Gateway) -> None:
    found = await gateway.ok(REFUND, {"id": order_id("ODR999999999")})
    [error] = found["refundOrder"]["userErrors"]
    assert error["code"] == "NOT_FOUND"
    assert gateway.calls(FP, "/orders/refund/") == []


async def test_a_base_url_that_names_the_api_prefix_is_accepted() -> None:
    def name_the_prefix(config: Config) -> None:
        config.providers[FP]["base_url"] += "/api/v1/connect/"

    async with gateway_with(names=(FP,), adjust=name_the_prefix) as gw:
        found = await gw.ok(BY_ID, {"id": order_id(data.EXAMPLE_UUID)})
        assert found["order"]["number"] == data.EXAMPLE_UUID
        assert [c.path for c in gw.calls(FP)] == ["/api/v1/connect/orders/details/ODR986760186"]
