"""Direct HTTP tests of the Front Payment sandbox."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from providers.sandbox import frontpayment_data as data
from providers.sandbox.faults import FAULTS, requests_to
from providers.sandbox.frontpayment import STATE, STATIC_TOKEN, create_app

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[[web.Application], Awaitable[Client]]

AUTH = {"Authorization": f"Bearer {STATIC_TOKEN}"}
BASE = "/api/v1/connect/orders"


@pytest.fixture
async def client(aiohttp_client: MakeClient) -> Client:
    return await aiohttp_client(create_app())


async def _get(client: Client, route: str, uuid: str) -> tuple[int, Any]:
    response = await client.get(f"{BASE}/{route}/{uuid}", headers=AUTH)
    return response.status, await response.json()


async def _post(client: Client, route: str, uuid: str, body: Any) -> tuple[int, Any]:
    response = await client.post(f"{BASE}/{route}/{uuid}", json=body, headers=AUTH)
    return response.status, await response.json()


def _refusal(status: int, status_message: str, message: str, errors: Any = None) -> Any:
    return {
        "status_code": status,
        "status_message": status_message,
        "message": message,
        "is_error": True,
        "errors": [] if errors is None else errors,
    }


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": STATIC_TOKEN}]
)
async def test_missing_or_wrong_token_is_refused(client: Client, headers: dict[str, str]) -> None:
    response = await client.get(f"{BASE}/details/{data.EXAMPLE_UUID}", headers=headers)
    assert response.status == 401
    assert await response.json() == _refusal(401, "Unauthorized", "unauthenticated")


async def test_details_serves_the_page_example_verbatim(client: Client) -> None:
    response = await client.get(f"{BASE}/details/{data.EXAMPLE_UUID}", headers=AUTH)
    assert response.status == 200
    body = await response.json()
    assert {k: v for k, v in body.items() if k != "data"} == {
        "status_code": 200,
        "status_message": "OK",
        "message": "orderRetrievedSuccessfully",
        "is_data": True,
    }
    order = body["data"]
    assert order == data.example_order()
    assert order["productList"][0]["rate"] == 4500
    assert type(order["productList"][0]["rate"]) is int
    assert order["orderSummary"]["subTotal"] == 4017.86
    assert order["invoiceAsPaymentOption"] == 1
    assert type(order["invoiceAsPaymentOption"]) is int
    assert (order["orderDate"], order["paymentLinkDueDate"]) == ("02.08.2023", "07:11, 04.08.2023")
    history = order["paymentHistory"]
    assert (history["paidAt"], history["amount"], history["refunded"]) == ("1710741595", 100.5, 70)
    assert [r["amount"] for r in history["refunds"]] == [10, 30, 30]


async def test_unknown_orders_answer_both_404_spellings(client: Client) -> None:
    assert await _get(client, "details", "ODR999999999") == (
        404,
        {
            "status_code": 404,
            "status_message": "Not Found",
            "message": "Order Not Found",
            "is_data": False,
            "data": None,
        },
    )
    order_not_found = _refusal(404, "Not Found", "orderNotFound")
    assert await _get(client, "details", "nope") == (404, order_not_found)
    assert await _get(client, "status", "ODR999999999") == (404, order_not_found)
    assert await _post(client, "cancel", "ODR999999999", {"cancellationNote": "x"}) == (
        404,
        order_not_found,
    )


async def test_failing_uuid_answers_510(client: Client) -> None:
    status, body = await _get(client, "details", data.FAILING_UUID)
    assert status == 510
    assert body["status_message"] == "Execution Exception Occurred"
    assert body["message"] == "Something Went Wrong"
    assert body["is_error"] is True
    assert isinstance(body["errors"], list)


async def test_unknown_route_is_404(client: Client) -> None:
    response = await client.get(f"{BASE}/list", headers=AUTH)
    assert response.status == 404


async def test_status(client: Client) -> None:
    status, body = await _get(client, "status", data.EXAMPLE_UUID)
    assert status == 200
    assert body["message"] == "orderStatusRetrievedSuccessfully"
    assert body["data"] == {
        "uuid": data.EXAMPLE_UUID,
        "status": "INVOICED",
        "orderAmount": 4500,
        "refundedAmount": 70,
    }
    _, body = await _get(client, "status", data.SENT_UUID)
    assert body["data"]["status"] == "SENT"
    assert body["data"]["refundedAmount"] == 0


async def test_cancel_a_sent_order(client: Client) -> None:
    status, body = await _post(client, "cancel", data.SENT_UUID, {"cancellationNote": "Wrong size"})
    assert status == 202
    assert body["status_message"] == "Accepted"
    assert body["message"] == "cancelledOrderSuccessfully"
    assert body["is_data"] is True
    _, details = await _get(client, "details", data.SENT_UUID)
    assert details["data"]["status"] == "CANCELLED"
    assert details["data"]["translationKey"] == "orderCancelled"
    assert client.app[STATE].cancellation_notes[data.SENT_UUID] == "Wrong size"
    assert await _post(client, "cancel", data.SENT_UUID, {"cancellationNote": "again"}) == (
        400,
        _refusal(400, "Conflict of Business Logic", "orderAlreadyCancelled"),
    )


@pytest.mark.parametrize(
    ("uuid", "message"),
    [
        (data.PAID_UUID, "orderStatusAlreadyPaid"),
        (data.INVOICED_UUID, "orderStatusAlreadyPaid"),
        (data.REFUNDED_UUID, "orderStatusAlreadyPaid"),
        (data.EXPIRED_UUID, "orderAlreadyExpired"),
        (data.CANCELLED_UUID, "orderAlreadyCancelled"),
    ],
)
async def test_cancel_refusals(client: Client, uuid: str, message: str) -> None:
    assert await _post(client, "cancel", uuid, {"cancellationNote": "no"}) == (
        400,
        _refusal(400, "Conflict of Business Logic", message),
    )


async def test_cancel_needs_a_note(client: Client) -> None:
    assert await _post(client, "cancel", data.RESERVED_UUID, {}) == (
        417,
        _refusal(
            417,
            "Expectation Failed",
            "payloadValidationErrors",
            {"cancellationNote": ["The cancellation note field is required."]},
        ),
    )


async def test_refunds_move_the_example_to_partial_then_refunded(client: Client) -> None:
    uuid = data.EXAMPLE_UUID
    # 100.50 paid, 70 refunded: 30.50 is left.
    status, body = await _post(client, "refund", uuid, {"type": "invoiced", "grandTotal": 30.51})
    assert status == 417
    assert body["errors"] == {"grandTotal": ["The grand total may not be greater than 30.50."]}

    status, body = await _post(client, "refund", uuid, {"type": "regular", "grandTotal": 10})
    assert status == 202
    assert body["message"] == "orderRefundedSuccessfully"
    assert body["data"] == {"orderUuid": uuid, "status": "PARTIAL REFUNDED"}
    _, details = await _get(client, "details", uuid)
    history = details["data"]["paymentHistory"]
    assert history["refunded"] == 80
    assert history["refunds"][-1]["amount"] == 10
    assert history["refunds"][-1]["isPartial"] is True
    assert history["refunds"][-1]["at"].isdigit()

    status, body = await _post(
        client, "refund", uuid, {"type": "regular", "grandTotal": 20.5, "products": []}
    )
    assert (status, body["data"]["status"]) == (202, "REFUNDED")
    _, details = await _get(client, "details", uuid)
    assert details["data"]["paymentHistory"]["refunded"] == 100.5
    assert details["data"]["paymentHistory"]["refunds"][-1]["isPartial"] is False
    assert await _post(client, "refund", uuid, {"type": "regular", "grandTotal": 1}) == (
        400,
        _refusal(400, "Conflict of Business Logic", "orderAlreadyRefunded"),
    )


async def test_refund_per_product(client: Client) -> None:
    order = client.app[STATE].orders[data.PAID_UUID]
    product = order["productList"][0]
    amount = product["amount"]
    item = {"id": product["productId"], "amount": amount}
    status, body = await _post(
        client, "refund", data.PAID_UUID, {"type": "regular", "grandTotal": 1, "products": [item]}
    )
    assert status == 417
    assert list(body["errors"]) == ["grandTotal"]

    bad = {"type": "regular", "grandTotal": 1, "products": [{"id": "NOPE", "amount": 1}]}
    status, body = await _post(client, "refund", data.PAID_UUID, bad)
    assert (status, body["errors"]) == (
        417,
        {"products.0.id": ["The selected products.0.id is invalid."]},
    )

    refund = {"type": "regular", "grandTotal": amount, "products": [item]}
    status, body = await _post(client, "refund", data.PAID_UUID, refund)
    expected = "REFUNDED" if amount == order["orderSummary"]["grandTotal"] else "PARTIAL REFUNDED"
    assert (status, body["data"]["status"]) == (202, expected)
    assert order["paymentHistory"]["refunded"] == amount


@pytest.mark.parametrize("uuid", [data.SENT_UUID, data.RESERVED_UUID, data.CANCELLED_UUID])
async def test_refund_of_an_unpaid_order_is_refused(client: Client, uuid: str) -> None:
    assert await _post(client, "refund", uuid, {"type": "regular", "grandTotal": 1}) == (
        400,
        _refusal(400, "Conflict of Business Logic", "orderIsNotPaid"),
    )


async def test_refund_payload_is_validated(client: Client) -> None:
    status, body = await _post(
        client, "refund", data.PAID_UUID, {"type": "full", "grandTotal": "1"}
    )
    assert status == 417
    assert body["message"] == "payloadValidationErrors"
    assert set(body["errors"]) == {"type", "grandTotal"}


async def test_writes_without_data_knob(client: Client) -> None:
    client.app[STATE].writes_without_data = True
    status, body = await _post(client, "cancel", data.SENT_UUID, {"cancellationNote": "x"})
    assert (status, body) == (
        202,
        {
            "status_code": 202,
            "status_message": "Accepted",
            "message": "cancelledOrderSuccessfully",
            "is_data": False,
            "data": None,
        },
    )
    _, details = await _get(client, "details", data.SENT_UUID)  # reads still carry data
    assert (details["is_data"], details["data"]["status"]) == (True, "CANCELLED")


async def test_resend(client: Client) -> None:
    status, body = await _post(client, "resend", data.SENT_UUID, {"email": "kari@example.no"})
    assert (status, body["message"]) == (202, "orderResentSuccessfully")
    sms = {"countryCode": "+47", "msisdn": "46567468"}
    status, _ = await _post(client, "resend", data.SENT_UUID, sms)
    assert status == 202
    assert client.app[STATE].resends == [
        (data.SENT_UUID, {"email": "kari@example.no"}),
        (data.SENT_UUID, sms),
    ]
    status, body = await _post(client, "resend", data.SENT_UUID, {})
    assert (status, set(body["errors"])) == (417, {"countryCode", "msisdn"})
    status, body = await _post(client, "resend", data.EXPIRED_UUID, {"email": "a@b.no"})
    assert (status, body["message"]) == (400, "orderAlreadyExpired")


async def test_malformed_fault(client: Client) -> None:
    client.app[FAULTS].malformed = True
    response = await client.get(f"{BASE}/details/{data.EXAMPLE_UUID}", headers=AUTH)
    assert response.status == 200
    assert await response.text() == '{"truncated": [1, 2'
    assert len(requests_to(client.app, "/details/", "GET")) == 1


def test_seeded_orders_cover_every_status_with_consistent_figures() -> None:
    orders = data.generated_orders(0)
    assert orders == data.generated_orders(0)
    assert orders != data.generated_orders(1)
    assert {o["status"] for o in orders.values()} == set(data.STATUSES)
    options = {repr(o["invoiceAsPaymentOption"]) for o in orders.values()}
    assert options == {"True", "False", "1", "0"}
    # Invoice orders are the INVOICED ones; a type does not change with the status.
    invoice_orders = {u for u, o in orders.items() if o["type"] == data.INVOICE_TYPE}
    assert invoice_orders == set(data.ORDER_UUIDS["INVOICED"])
    assert {o["type"] for o in orders.values()} == {data.INVOICE_TYPE, data.REGULAR_TYPE}
    for uuid, order in orders.items():
        assert order["orderUuid"] == uuid
        summary = order["orderSummary"]
        grand_total = summary["grandTotal"]
        assert summary["subTotal"] == round(grand_total / 1.25, 2)
        assert round(summary["subTotal"] + summary["tax"], 2) == grand_total
        assert round(sum(p["amount"] for p in order["productList"]), 2) == grand_total
        history = order["paymentHistory"]
        if order["status"] in data.PAID_STATUSES:
            assert history["amount"] == grand_total
            assert round(sum(r["amount"] for r in history["refunds"]), 2) == history["refunded"]
        else:
            assert history == {"paidAt": None, "amount": None, "refunded": None, "refunds": []}
