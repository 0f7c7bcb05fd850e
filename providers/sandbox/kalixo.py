"""Kalixo v1 sandbox: JWT-style login and refresh, place-order and retrieve-order.

Routes (full paths; the gateway's base_url is everything before them):

- ``POST /v1/auth/login`` ``{email, password}`` -> 201 tokens;
- ``POST /v1/auth/refresh`` with ``Authorization: Bearer <refreshToken>`` -> 201 new tokens;
- ``POST /v1/orders/place-order`` -> 201 ``{"orderId": "<string>", "products": [...]}``;
- ``GET /v1/orders/retrieve-order?id=<n>`` -> 200 ``{"orderId": <number>, "orderStatus",
  "products"}``, exactly the page's fields. The page also says the route "accepts a JSON payload
  in the request body", so the id may come as ``{"id": 59400}`` (or ``"59400"``) in the body
  instead; there is no lookup by ``externalOrderCode``, which no answer carries either.

Errors are ``{"statusCode": "api_error", "message": ..., "error": ...}``, an injected fault's
too (``Faults.error_body`` "provider"): "Internal server error" for a 500, as NestJS says,
else the status phrase, with the phrase as ``error``. A placed order is
"requested" until ``processing_after_s``, "processing" until ``completed_after_s``, then ends in
its outcome (completed, or failed/error for the sandbox's trigger products); PINs show only once
completed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from providers.sandbox.faults import Faults, json_response, phrase, sandbox_app
from providers.sandbox.kalixo_data import (
    CATALOGUE,
    COMPLETED,
    NEXT_ORDER_ID,
    PROCESSING,
    REQUESTED,
    Order,
    Product,
    make_order,
    seed_orders,
)

CREDENTIALS: dict[str, str] = {"email": "sandbox@kalixo.test", "password": "sandbox-pass"}
# Accepted as an access token on the order routes, never expires (not a refresh token).
STATIC_TOKEN = "kalixo-sandbox-static-token"

ACCESS = "access"
REFRESH = "refresh"

Clock = Callable[[], float]

_ERRORS: dict[int, type[web.HTTPException]] = {
    400: web.HTTPBadRequest,
    401: web.HTTPUnauthorized,
    404: web.HTTPNotFound,
}


def _envelope(status: int, message: str, error: str | None = None) -> dict[str, str]:
    """Kalixo's error envelope; ``error`` defaults to the status phrase ("Bad Request")."""
    return {"statusCode": "api_error", "message": message, "error": error or phrase(status)}


def api_error(status: int, message: str, error: str | None = None) -> web.HTTPException:
    body = _envelope(status, message, error)
    return _ERRORS[status](text=json.dumps(body), content_type="application/json")


def fault_body(status: int, path: str) -> dict[str, str]:
    """The body of an injected error of ``status``: Kalixo's envelope, on every route."""
    return _envelope(status, "Internal server error" if status == 500 else phrase(status))


def unauthorized(reason: str) -> web.HTTPException:
    return api_error(401, "Unauthorized", reason)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class Grant:
    kind: str  # ACCESS or REFRESH
    subject: str
    expires_at: float


@dataclass
class KalixoState:
    """Orders, issued tokens and the lifecycle timing of one Kalixo sandbox."""

    rng: random.Random
    clock: Clock
    secret: bytes
    orders: dict[int, Order]
    access_ttl_s: float = 14400.0
    refresh_ttl_s: float = 28800.0
    processing_after_s: float = 0.0
    completed_after_s: float = 0.0
    next_order_id: int = NEXT_ORDER_ID
    grants: dict[str, Grant] = field(default_factory=dict)
    ids_by_code: dict[str, int] = field(init=False)
    issued: int = 0

    def __post_init__(self) -> None:
        self.ids_by_code = {o.external_code: o.order_id for o in self.orders.values()}

    # Tokens

    def issue_tokens(self, subject: str) -> dict[str, Any]:
        now = self.clock()
        return {
            "accessToken": self._token(subject, ACCESS, now, self.access_ttl_s),
            "refreshToken": self._token(subject, REFRESH, now, self.refresh_ttl_s),
            "expiresIn": int(self.access_ttl_s),
            "refreshExpiresIn": int(self.refresh_ttl_s),
        }

    def _token(self, subject: str, kind: str, now: float, ttl: float) -> str:
        self.issued += 1
        claims = {
            "sub": subject,
            "type": kind,
            "jti": self.issued,
            "iat": int(now),
            "exp": int(now + ttl),
        }
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        signing_input = f"{header}.{_b64(json.dumps(claims).encode())}"
        signature = hmac.new(self.secret, signing_input.encode(), hashlib.sha256).digest()
        token = f"{signing_input}.{_b64(signature)}"
        self.grants[token] = Grant(kind, subject, now + ttl)
        return token

    def check(self, authorization: str | None, kind: str) -> str:
        """Who holds ``authorization`` if it bears a live ``kind`` token; else raise 401."""
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise unauthorized("Missing bearer token")
        if kind == ACCESS and token == STATIC_TOKEN:
            return "static"
        grant = self.grants.get(token)
        if grant is None or grant.kind != kind:
            raise unauthorized("Invalid token")
        if self.clock() >= grant.expires_at:
            raise unauthorized("Token expired")
        return grant.subject

    # Orders

    def place(self, external_code: str, wanted: list[tuple[int, int, int]]) -> Order:
        order_id = self.next_order_id
        self.next_order_id += 1
        order = make_order(self.rng, order_id, external_code, wanted, created_at=self.clock())
        self.orders[order_id] = order
        self.ids_by_code[external_code] = order_id
        return order

    def status(self, order: Order) -> str:
        if order.created_at is None:
            return order.outcome
        elapsed = self.clock() - order.created_at
        if elapsed >= self.completed_after_s:
            return order.outcome
        return PROCESSING if elapsed >= self.processing_after_s else REQUESTED


STATE = web.AppKey("state", KalixoState)


def render_products(order: Order, status: str) -> list[dict[str, Any]]:
    shown = status == COMPLETED
    return [
        {
            "price": line.price,
            "productId": line.product_id,
            "quantity": line.quantity,
            "pin": [{"PIN": pin} for pin in line.pins] if shown else [],
        }
        for line in order.lines
    ]


async def _json_body(request: web.Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        raise api_error(400, "Invalid JSON body") from None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_line(index: int, item: object) -> tuple[int, int, int]:
    where = f"orderProducts.{index}"
    if not isinstance(item, dict):
        raise api_error(400, f"{where} must be an object")
    for name in ("productId", "price", "quantity"):
        if not _is_int(item.get(name)):
            raise api_error(400, f"{where}.{name} must be an integer number")
    # The page types sku and currency as integer but its example sends strings: take both.
    for name in ("sku", "currency"):
        value = item.get(name)
        if not (isinstance(value, str) or _is_int(value)):
            raise api_error(400, f"{where}.{name} must be a string")
    if item["quantity"] < 1:
        raise api_error(400, f"{where}.quantity must not be less than 1")
    product = CATALOGUE.get(item["productId"])
    if product is None:
        raise api_error(400, f"Product {item['productId']} not found")
    if not _sku_of(product, item["sku"]):
        raise api_error(400, f"{where}.sku {item['sku']} is not product {product.product_id}'s sku")
    if item["price"] != product.price:
        # Minor units: 3299 for 32.99 GBP. A client sending major units (32) is refused here.
        raise api_error(
            400, f"{where}.price must be {product.price}, product {product.product_id}'s price"
        )
    return item["productId"], item["price"], item["quantity"]


def _sku_of(product: Product, sku: str | int) -> bool:
    """Whether ``sku`` names ``product``: its string, or (the page types sku as integer) the
    number that ends it (4251604177278 for "GB-EN-4251604177278")."""
    if isinstance(sku, str):
        return sku == product.sku
    return str(sku) == product.sku.rsplit("-", 1)[-1]


def parse_order(body: object) -> tuple[str, list[tuple[int, int, int]]]:
    """The externalOrderCode and (productId, price, quantity) lines of a place-order body.

    Each line's sku and price must be its product's in the catalogue (prices in minor units).
    The order's ``price`` is not checked against its lines: the page's own example sends 4398
    for lines of 3299 + 839.
    """
    if not isinstance(body, dict):
        raise api_error(400, "Request body must be an object")
    code = body.get("externalOrderCode")
    if not isinstance(code, str) or not code:
        raise api_error(400, "externalOrderCode must be a non-empty string")
    if not _is_int(body.get("price")):
        raise api_error(400, "price must be an integer number")
    if not isinstance(body.get("currency"), str):
        raise api_error(400, "currency must be a string")
    items = body.get("orderProducts")
    if not isinstance(items, list) or not items:
        raise api_error(400, "orderProducts must be a non-empty array")
    return code, [_parse_line(i, item) for i, item in enumerate(items)]


async def login(request: web.Request) -> web.Response:
    body = await _json_body(request)
    email = body.get("email") if isinstance(body, dict) else None
    password = body.get("password") if isinstance(body, dict) else None
    if not isinstance(email, str) or not isinstance(password, str):
        raise api_error(400, "email and password are required")
    if email != CREDENTIALS["email"] or password != CREDENTIALS["password"]:
        raise unauthorized("Invalid email or password")
    return json_response(request.app[STATE].issue_tokens(email), 201)


async def refresh(request: web.Request) -> web.Response:
    state = request.app[STATE]
    subject = state.check(request.headers.get("Authorization"), REFRESH)
    return json_response(state.issue_tokens(subject), 201)


async def place_order(request: web.Request) -> web.Response:
    state = request.app[STATE]
    state.check(request.headers.get("Authorization"), ACCESS)
    code, wanted = parse_order(await _json_body(request))
    if code in state.ids_by_code:
        raise api_error(400, "externalOrderCode already exists")
    order = state.place(code, wanted)
    products = render_products(order, state.status(order))
    # orderId is a string here and a number in retrieve-order, as the page shows.
    return json_response({"orderId": str(order.order_id), "products": products}, 201)


def _id_text(value: object) -> str:
    """An order id as the query spells it: the body may send it as a number or a string."""
    if _is_int(value):
        return str(value)
    if isinstance(value, str):
        return value
    raise api_error(400, "id must be a number")


async def requested_id(request: web.Request) -> int:
    """The order id of a retrieve-order: ``?id=`` as the page's example sends it, or ``id`` in
    a JSON body, as the page's text allows. Both given, they must agree."""
    given: list[str] = []
    if "id" in request.query:
        given.append(request.query["id"])
    if (await request.text()).strip():
        body = await _json_body(request)
        if not isinstance(body, dict):
            raise api_error(400, "Request body must be an object")
        if body.get("id") is not None:
            given.append(_id_text(body["id"]))
    if not given:
        raise api_error(400, "id is required")
    if not all(raw.isascii() and raw.isdigit() for raw in given):
        raise api_error(400, "id must be a number")
    ids = {int(raw) for raw in given}
    if len(ids) > 1:
        raise api_error(400, "id in the query and in the body differ")
    return ids.pop()


async def retrieve_order(request: web.Request) -> web.Response:
    state = request.app[STATE]
    state.check(request.headers.get("Authorization"), ACCESS)
    order = state.orders.get(await requested_id(request))
    if order is None:
        raise api_error(404, "Order not found")
    status = state.status(order)
    # The page's answer, field for field: no currency and no externalOrderCode.
    return json_response(
        {
            "orderId": order.order_id,
            "orderStatus": status,
            "products": render_products(order, status),
        }
    )


def create_app(
    *,
    faults: Faults | None = None,
    seed: int = 0,
    access_ttl_s: float = 14400.0,
    refresh_ttl_s: float = 28800.0,
    processing_after_s: float = 0.0,
    completed_after_s: float = 0.0,
    clock: Clock = time.time,
) -> web.Application:
    """The Kalixo sandbox; ``clock`` drives token expiry and the order lifecycle."""
    app = sandbox_app(faults, seed, error_body=fault_body)
    rng = random.Random(seed)
    app[STATE] = KalixoState(
        rng=rng,
        clock=clock,
        secret=f"kalixo-sandbox-{seed}".encode(),
        orders=seed_orders(rng),
        access_ttl_s=access_ttl_s,
        refresh_ttl_s=refresh_ttl_s,
        processing_after_s=processing_after_s,
        completed_after_s=completed_after_s,
    )
    app.router.add_post("/v1/auth/login", login)
    app.router.add_post("/v1/auth/refresh", refresh)
    app.router.add_post("/v1/orders/place-order", place_order)
    app.router.add_get("/v1/orders/retrieve-order", retrieve_order)
    return app
