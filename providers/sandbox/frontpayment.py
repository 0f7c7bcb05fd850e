"""Front Payment (FPGO Connect) sandbox: orders under ``/api/v1/connect/``.

Routes (all need ``Authorization: Bearer <STATIC_TOKEN>``):

- ``GET orders/details/{uuid}``: the order;
- ``GET orders/status/{uuid}``: ``{uuid, status, orderAmount, refundedAmount}``;
- ``POST orders/cancel/{uuid}`` ``{cancellationNote}``: SENT or RESERVED -> CANCELLED;
- ``POST orders/refund/{uuid}`` ``{type, grandTotal, products: [{id, amount}]}``: a paid order
  -> "PARTIAL REFUNDED" or REFUNDED (whole-order refund when ``products`` is empty or absent);
- ``POST orders/resend/{uuid}`` ``{countryCode, msisdn}`` or ``{email}``: resend the link.

Answers use the page's envelopes: ``{status_code, status_message, message, is_data, data}`` on
success, ``{status_code, status_message, message, is_error, errors}`` on errors; an injected
fault (``Faults.error_body`` "provider") answers that error envelope, saying the page's 510
"Something Went Wrong" for a 5xx, except a 404 on the details route: the page's 404 body, as
an unknown order there has. With
``app[STATE].writes_without_data`` set, cancel, refund and resend answer their 202 with
``is_data: false, data: null`` (a success that carries no data).
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from providers.sandbox import frontpayment_data as data
from providers.sandbox.faults import Faults, json_response, phrase, sandbox_app

STATIC_TOKEN = "fp-sandbox-static-token"
CREDENTIALS: dict[str, str] = {"token": STATIC_TOKEN}
PREFIX = "/api/v1/connect/orders/"

CONFLICT = "Conflict of Business Logic"
_STATUS_MESSAGES = {
    200: "OK",
    202: "Accepted",
    400: CONFLICT,
    401: "Unauthorized",
    404: "Not Found",
    417: "Expectation Failed",
    510: "Execution Exception Occurred",
}
# The page's 510 message, which an injected 5xx says too; an injected 401 or 417 says what the
# sandbox's own refusals of that status say, any other status its status_message.
SERVER_FAULT_MESSAGE = "Something Went Wrong"
_FAULT_MESSAGES = {401: "unauthenticated", 404: "orderNotFound", 417: "payloadValidationErrors"}
_CANCELLABLE = frozenset({"SENT", "RESERVED"})
_MSISDN = re.compile(r"^\d{4,15}$")
_COUNTRY_CODE = re.compile(r"^\+\d{1,4}$")


@dataclass
class FrontPaymentState:
    """The sandbox's orders, keyed by uuid, and what was done to them."""

    orders: dict[str, data.Order]
    # Refunded amount per order and product id, in øre (refunds that named products).
    product_refunds: dict[str, dict[str, int]] = field(default_factory=dict)
    cancellation_notes: dict[str, str] = field(default_factory=dict)
    resends: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # Knob: answer accepted writes with ``is_data: false, data: null``.
    writes_without_data: bool = False


STATE = web.AppKey("state", FrontPaymentState)


def create_app(*, faults: Faults | None = None, seed: int = 0) -> web.Application:
    app = sandbox_app(faults, seed, error_body=fault_body)
    orders = {data.EXAMPLE_UUID: data.example_order(), **data.generated_orders(seed)}
    app[STATE] = FrontPaymentState(orders)
    app.router.add_get(PREFIX + "details/{uuid}", _order_route(_details, details=True))
    app.router.add_get(PREFIX + "status/{uuid}", _order_route(_status))
    app.router.add_post(PREFIX + "cancel/{uuid}", _order_route(_cancel))
    app.router.add_post(PREFIX + "refund/{uuid}", _order_route(_refund))
    app.router.add_post(PREFIX + "resend/{uuid}", _order_route(_resend))
    return app


def _success(message: str, payload: Any, status: int = 200) -> web.Response:
    return json_response(
        {
            "status_code": status,
            "status_message": _STATUS_MESSAGES[status],
            "message": message,
            "is_data": payload is not None,
            "data": payload,
        },
        status,
    )


def _error(status: int, message: str, errors: Any = None) -> web.Response:
    return json_response(
        {
            "status_code": status,
            "status_message": _STATUS_MESSAGES[status],
            "message": message,
            "is_error": True,
            "errors": [] if errors is None else errors,
        },
        status,
    )


def _page_404() -> dict[str, Any]:
    """The page's own 404 body: the success envelope's keys, without data."""
    return {
        "status_code": 404,
        "status_message": "Not Found",
        "message": "Order Not Found",
        "is_data": False,
        "data": None,
    }


def fault_body(status: int, path: str) -> dict[str, Any]:
    """The body of an injected error of ``status`` at ``path``, as the sandbox's own errors."""
    if status == 404 and "/details/" in path:
        return _page_404()
    status_message = _STATUS_MESSAGES.get(status) or phrase(status)
    server = status >= 500
    message = SERVER_FAULT_MESSAGE if server else _FAULT_MESSAGES.get(status, status_message)
    return {
        "status_code": status,
        "status_message": status_message,
        "message": message,
        "is_error": True,
        "errors": [],
    }


def _invalid(errors: dict[str, list[str]]) -> web.Response:
    return _error(417, "payloadValidationErrors", errors)


class _Refusal(Exception):
    def __init__(self, response: web.Response) -> None:
        self.response = response


OrderHandler = Callable[[web.Request, data.Order], Awaitable[web.Response]]


def _order_route(
    handler: OrderHandler, *, details: bool = False
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Check the token, find the order, then hand it over."""

    async def route(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {STATIC_TOKEN}":
            return _error(401, "unauthenticated")
        uuid = request.match_info["uuid"]
        if uuid == data.FAILING_UUID:
            return _error(510, SERVER_FAULT_MESSAGE, [f"Execution failed for order {uuid}."])
        order = request.app[STATE].orders.get(uuid)
        if order is None:
            # The page shows this second 404 shape on the details route, for order-like uuids
            # (an injected 404 there answers it too).
            if details and uuid.startswith("ODR"):
                return json_response(_page_404(), 404)
            return _error(404, "orderNotFound")
        try:
            return await handler(request, order)
        except _Refusal as refusal:
            return refusal.response

    return route


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.text() or "{}")
    except json.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        raise _Refusal(_invalid({"body": ["The request body must be a JSON object."]}))
    return body


def _cents(value: float) -> int:
    return round(value * 100)


def _is_amount(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


async def _details(request: web.Request, order: data.Order) -> web.Response:
    return _success("orderRetrievedSuccessfully", copy.deepcopy(order))


async def _status(request: web.Request, order: data.Order) -> web.Response:
    status = {
        "uuid": order["orderUuid"],
        "status": order["status"],
        "orderAmount": order["orderSummary"]["grandTotal"],
        "refundedAmount": order["paymentHistory"]["refunded"] or 0,
    }
    return _success("orderStatusRetrievedSuccessfully", status)


def _set_status(order: data.Order, status: str) -> None:
    order["status"] = status
    order["translationKey"] = data.TRANSLATION_KEYS[status]


def _accepted(request: web.Request, message: str, order: data.Order) -> web.Response:
    payload = {"orderUuid": order["orderUuid"], "status": order["status"]}
    return _success(message, None if request.app[STATE].writes_without_data else payload, 202)


async def _cancel(request: web.Request, order: data.Order) -> web.Response:
    body = await _body(request)
    note = body.get("cancellationNote")
    if not isinstance(note, str) or not note.strip():
        return _invalid({"cancellationNote": ["The cancellation note field is required."]})
    status = order["status"]
    if status in data.PAID_STATUSES:
        return _error(400, "orderStatusAlreadyPaid")
    if status not in _CANCELLABLE:
        return _error(400, "orderAlready" + status.capitalize())
    _set_status(order, "CANCELLED")
    order["paymentLink"] = None
    request.app[STATE].cancellation_notes[order["orderUuid"]] = note
    return _accepted(request, "cancelledOrderSuccessfully", order)


def _refund_products(body: dict[str, Any], order: data.Order) -> dict[str, int]:
    """The products named in a refund, as cents per product id; refuses a malformed list."""
    products = body.get("products")
    if products is None:
        return {}
    if not isinstance(products, list):
        raise _Refusal(_invalid({"products": ["The products must be an array."]}))
    known = {str(p["productId"]) for p in order["productList"]}
    errors: dict[str, list[str]] = {}
    wanted: dict[str, int] = {}
    for i, product in enumerate(products):
        item = product if isinstance(product, dict) else {}
        product_id: Any = item.get("id")
        amount: Any = item.get("amount")
        if not isinstance(product_id, str) or product_id not in known:
            errors[f"products.{i}.id"] = [f"The selected products.{i}.id is invalid."]
        elif not _is_amount(amount):
            errors[f"products.{i}.amount"] = [f"The products.{i}.amount must be greater than 0."]
        else:
            wanted[product_id] = wanted.get(product_id, 0) + _cents(amount)
    if errors:
        raise _Refusal(_invalid(errors))
    return wanted


async def _refund(request: web.Request, order: data.Order) -> web.Response:
    body = await _body(request)
    errors: dict[str, list[str]] = {}
    if body.get("type") not in ("regular", "invoiced"):
        errors["type"] = ["The selected type is invalid."]
    grand_total: Any = body.get("grandTotal")
    if not _is_amount(grand_total):
        errors["grandTotal"] = ["The grand total must be a number greater than 0."]
    if errors:
        return _invalid(errors)
    wanted = _refund_products(body, order)
    status = order["status"]
    if status == "REFUNDED":
        return _error(400, "orderAlreadyRefunded")
    if status not in data.PAID_STATUSES:
        return _error(400, "orderIsNotPaid")

    history = order["paymentHistory"]
    total = _cents(grand_total)
    if wanted and sum(wanted.values()) != total:
        return _invalid({"grandTotal": ["The grand total must equal the sum of the products."]})
    remaining = _cents(history["amount"]) - _cents(history["refunded"] or 0)
    if total > remaining:
        limit = f"{remaining / 100:.2f}"
        return _invalid({"grandTotal": [f"The grand total may not be greater than {limit}."]})
    refunded_by_product = request.app[STATE].product_refunds.setdefault(order["orderUuid"], {})
    for i, (product_id, cents) in enumerate(wanted.items()):
        product = next(p for p in order["productList"] if p["productId"] == product_id)
        left = _cents(product["amount"]) - refunded_by_product.get(product_id, 0)
        if cents > left:
            message = f"The products.{i}.amount may not be greater than {left / 100:.2f}."
            return _invalid({f"products.{i}.amount": [message]})
    for product_id, cents in wanted.items():
        refunded_by_product[product_id] = refunded_by_product.get(product_id, 0) + cents

    partial = total < remaining
    amount = data.money(total / 100)
    history["refunded"] = data.money((_cents(history["refunded"] or 0) + total) / 100)
    history["refunds"].append(
        {"at": str(int(time.time())), "amount": amount, "isRefunded": True, "isPartial": partial}
    )
    _set_status(order, "PARTIAL REFUNDED" if partial else "REFUNDED")
    return _accepted(request, "orderRefundedSuccessfully", order)


async def _resend(request: web.Request, order: data.Order) -> web.Response:
    body = await _body(request)
    if "email" in body:
        email = body["email"]
        if not isinstance(email, str) or "@" not in email:
            return _invalid({"email": ["The email must be a valid email address."]})
        target, channel = {"email": email}, "email"
    else:
        errors: dict[str, list[str]] = {}
        country_code: Any = body.get("countryCode")
        msisdn: Any = body.get("msisdn")
        if not isinstance(country_code, str) or not _COUNTRY_CODE.match(country_code):
            errors["countryCode"] = ["The country code field is required when email is absent."]
        if not isinstance(msisdn, str) or not _MSISDN.match(msisdn):
            errors["msisdn"] = ["The msisdn field is required when email is absent."]
        if errors:
            return _invalid(errors)
        target, channel = {"countryCode": country_code, "msisdn": msisdn}, "sms"
    if order["status"] in ("CANCELLED", "EXPIRED"):
        return _error(400, "orderAlready" + order["status"].capitalize())
    order["sendOrderBy"][channel] = True
    request.app[STATE].resends.append((order["orderUuid"], target))
    return _accepted(request, "orderResentSuccessfully", order)
