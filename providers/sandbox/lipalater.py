"""Lipa Later open platform sandbox (seed page 000): signed buy-now-pay-later orders.

Every answer is HTTP 200 with the envelope ``{code, msg, data, success}``; refusals are
``{code: 500, msg, data: null, success: false}``. An injected fault (``Faults.error_body``
"provider") is that refusal under the status the knob asks for: for a 401 "invalid token"
("No credentials" from the token route), for a 404 "Data does not exist", else the status
phrase (a 500's under a status below 400). Every order success says ``code: 0``, as every
example on the page does; the token answer (not on the page) says ``code: 200``, as other pages
of theirs do, so a client must read ``success``.

Create refuses a body that lacks a field the page's tables mark required (``Parameter error:
<field>``); present but blank, as in the page's own example (``""`` and ``0``), is accepted.

Every request but the token request carries ``Authorization: Bearer <token>`` and is signed
(headers ``Noncestr``, ``Timestamp``, ``Sign``); see :func:`expected_sign`. A signature is good
for ``SIGN_WINDOW_S`` either side of its Timestamp and once: a Noncestr seen within the window
is refused as a bad signature ("invalid sign"), so a replayed request changes nothing. A request
is checked, and its Noncestr spent, as it arrives, before any fault knob answers it.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import math
import random
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import wraps
from typing import Any, TypeVar

from aiohttp import web

from providers.sandbox import lipalater_data as d
from providers.sandbox.faults import Faults, json_response, phrase, sandbox_app

Handler = Callable[[web.Request], Awaitable[web.Response]]
T = TypeVar("T")

CREDENTIALS: dict[str, str] = {
    "api_key": "sandbox-lipalater-api-key",
    "api_secret": "sandbox-lipalater-api-secret",
    "app_secret": "sandbox-lipalater-app-secret",
}
STATIC_TOKEN = "sandbox-lipalater-static-token"
SIGN_WINDOW_S = 300
TOKEN_TTL_S = 300.0

MSG_SUCCESS = "success"
SUCCESS_CODE = 0  # every success example on the orders page
TOKEN_SUCCESS_CODE = 200  # the token endpoint is not on the page; 200 as other pages show
MSG_NO_CREDENTIALS = "No credentials"
MSG_INVALID_TOKEN = "invalid token"
MSG_INVALID_SIGN = "invalid sign"
MSG_NOT_FOUND = "Data does not exist"
PARAM_ERROR = "Parameter error: {}"
# Why an order in this status refuses an operation that needs another status.
STATE_REFUSALS = {
    d.CREATED: "Order has not been confirmed",
    d.CONFIRMED: "Order has been confirmed",
    d.COMPLETED: "Contract has been accepted",
    d.CLOSED: "Contract has been rejected",
    d.CANCELLED: "Order has been cancelled",
}

BASE = "/open/op"
ORDER = BASE + "/order/"  # every route under it is signed
TOKEN_PATH = BASE + "/platform/token/"


@dataclass
class LipaLaterState:
    """Orders by number, live tokens and the deterministic id source."""

    orders: dict[str, d.Order]
    token_ttl_s: float
    ids: random.Random
    next_order_no: int = d.FIRST_ORDER_NO + d.SEED_ORDER_COUNT
    tokens: dict[str, float] = field(default_factory=dict)  # token -> time.monotonic() expiry
    # Noncestr -> the Unix time until which a request carrying it could still be in the window.
    nonces: OrderedDict[str, float] = field(default_factory=OrderedDict)

    def find(self, member_id: str, order_no: object) -> d.Order | None:
        order = self.orders.get(str(order_no))
        return order if order is not None and order.member_id == member_id else None

    def new_id(self) -> str:
        return str(uuid.UUID(int=self.ids.getrandbits(128), version=4))

    def first_use(self, nonce: str, until: float) -> bool:
        """Remember ``nonce`` until ``until``; False if it is remembered already (a replay)."""
        now = time.time()
        while self.nonces and next(iter(self.nonces.values())) < now:
            self.nonces.popitem(last=False)
        if self.nonces.get(nonce, 0.0) >= now:
            return False
        self.nonces[nonce] = until
        return True


STATE = web.AppKey("state", LipaLaterState)
# Whether a request to a signed route carried a good, unused signature (see _check_sign).
SIGN_OK = web.RequestKey("sign_ok", bool)


def expected_sign(
    app_secret: str, method: str, target: str, timestamp: str, nonce: str, body: str
) -> str:
    """base64(HMAC-SHA256(app_secret, "METHOD\ntarget\nTimestamp\nNoncestr\nbody")).

    The open platform does not publish its algorithm; this is the documented default
    (PROVIDERS.md, README "Lipa Later"), written here from that definition and not imported
    from the connector, so a connector that drifts from it fails the tests.
    """
    message = f"{method.upper()}\n{target}\n{timestamp}\n{nonce}\n{body}"
    return base64.b64encode(hmac.digest(app_secret.encode(), message.encode(), "sha256")).decode()


def _target(request: web.Request) -> str:
    """The path, then "?k=v&k=v" sorted by name (not URL-encoded) when there is a query."""
    if not request.query:
        return request.path
    return request.path + "?" + "&".join(f"{k}={v}" for k, v in sorted(request.query.items()))


def _ok(data: Any, code: int | None = None) -> web.Response:
    code = SUCCESS_CODE if code is None else code  # read per answer: tests may change it
    return json_response({"code": code, "msg": MSG_SUCCESS, "data": data, "success": True})


def _refusal(msg: str) -> dict[str, Any]:
    return {"code": 500, "msg": msg, "data": None, "success": False}


def _fail(msg: str) -> web.Response:
    return json_response(_refusal(msg))


_FAULT_MESSAGES = {401: MSG_INVALID_TOKEN, 404: MSG_NOT_FOUND}


def fault_body(status: int, path: str) -> dict[str, Any]:
    """The body of an injected error of ``status``: the platform's refusal, on every route."""
    if status == 401 and path == TOKEN_PATH:
        return _refusal(MSG_NO_CREDENTIALS)
    return _refusal(_FAULT_MESSAGES.get(status) or phrase(status if status >= 400 else 500))


def _now() -> str:
    return datetime.now(UTC).strftime(d.TIME_FORMAT)


def _same(given: str, expected: str) -> bool:
    # Compare bytes: compare_digest refuses non-ASCII str, and headers may carry any latin-1.
    return hmac.compare_digest(given.encode(), expected.encode())


def _basic_ok(header: str) -> bool:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        key, sep, secret = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return (
        bool(sep)
        and _same(key, CREDENTIALS["api_key"])
        and _same(secret, CREDENTIALS["api_secret"])
    )


def _bearer_ok(request: web.Request) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return False
    if _same(token, STATIC_TOKEN):
        return True
    expiry = request.app[STATE].tokens.get(token)
    return expiry is not None and time.monotonic() < expiry


def _sign_ok(request: web.Request, body: str) -> bool:
    """A good Sign within the window, whose Noncestr is spent by it (see _check_sign)."""
    timestamp = request.headers.get("Timestamp", "")
    nonce = request.headers.get("Noncestr", "")
    sign = request.headers.get("Sign", "")
    if not (timestamp.isascii() and timestamp.isdigit() and nonce and sign):
        return False
    if abs(time.time() - int(timestamp)) > SIGN_WINDOW_S:
        return False
    want = expected_sign(
        CREDENTIALS["app_secret"], request.method, _target(request), timestamp, nonce, body
    )
    if not _same(sign, want):
        return False
    return request.app[STATE].first_use(nonce, until=int(timestamp) + SIGN_WINDOW_S)


@web.middleware
async def _check_sign(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Check a signed route's signature as the request arrives, before the fault knobs
    (``sandbox_app``'s middleware): its Noncestr is spent even when a fault answers it, as at a
    provider that fails after it let the request in, so a retry that resent it is refused."""
    if request.path.startswith(ORDER):
        request[SIGN_OK] = _sign_ok(request, await request.text())
    return await handler(request)


def _signed(handler: Handler) -> Handler:
    """Refuse a request without a live bearer token ("invalid token") or a good signature."""

    @wraps(handler)
    async def guarded(request: web.Request) -> web.Response:
        if not _bearer_ok(request):
            return _fail(MSG_INVALID_TOKEN)
        if not request.get(SIGN_OK, False):
            return _fail(MSG_INVALID_SIGN)
        return await handler(request)

    return guarded


async def _json_object(request: web.Request) -> dict[str, Any] | None:
    """The body as a JSON object ({} when empty), or None when it is not one."""
    text = await request.text()
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _text(value: object) -> str:
    # The page types outOrderNo and orderNo as integer in its tables but sends strings.
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ValueError(value)


def _count(value: object) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise ValueError(value)


def _whole_cents(value: object) -> int:
    """Cents of an amount of the create body, which the page types integer (its examples send
    ``0``): whole shillings, as a number or a string of digits; one with a fraction ("100.555",
    100.5) is refused, never rounded."""
    return _count(value) * 100


class BadParam(ValueError):
    """A missing or mistyped parameter, by its page name."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _named(name: str, parse: Callable[[object], T], value: object) -> T:
    try:
        return parse(value)
    except ValueError:
        raise BadParam(name) from None


def _product(item: object) -> d.Product:
    """One ``productList`` entry; every field of the page's table is required (a missing one,
    or None, is refused by its name; ``""`` and ``0`` are values)."""
    if not isinstance(item, dict):
        raise BadParam("productList")
    text = {
        name: _named(name, _text, item.get(name))
        for name in ("productNo", "productName", "brand", "productLogo", "skuDesc")
    }
    # The table spells it "saleprice", the example "salePrice": either will do.
    sale = item.get("salePrice", item.get("saleprice"))
    return d.Product(
        product_no=text["productNo"],
        product_name=text["productName"],
        brand=text["brand"],
        product_logo=text["productLogo"],
        sku_desc=text["skuDesc"],
        price_cents=_named("price", _whole_cents, item.get("price")),
        product_num=_named("productNum", _count, item.get("productNum")),
        sale_price_cents=_named("salePrice", _whole_cents, sale),
        act_total_sent_cents=_named("actTotalFee", _whole_cents, item.get("actTotalFee")),
    )


async def _token(request: web.Request) -> web.Response:
    if not _basic_ok(request.headers.get("Authorization", "")):
        return _fail(MSG_NO_CREDENTIALS)
    state = request.app[STATE]
    now = time.monotonic()
    state.tokens = {t: expiry for t, expiry in state.tokens.items() if expiry > now}
    token = uuid.UUID(int=state.ids.getrandbits(128)).hex
    state.tokens[token] = now + state.token_ttl_s
    return _ok(
        {
            "accessToken": token,
            "tokenType": "Bearer",
            "expiresSeconds": math.ceil(state.token_ttl_s),
            "createdAt": _now(),
        },
        code=TOKEN_SUCCESS_CODE,
    )


@_signed
async def _create(request: web.Request) -> web.Response:
    body = await _json_object(request)
    if body is None:
        return _fail(PARAM_ERROR.format("body"))
    products = body.get("productList")
    if not isinstance(products, list) or not products:
        return _fail(PARAM_ERROR.format("productList"))
    try:
        # The Order Object table types actTotalFee string, the example sends 0: either will do,
        # whole as the products' amounts it totals.
        act_total = _named("actTotalFee", _whole_cents, body.get("actTotalFee"))
        parsed = [_product(item) for item in products]
        out_order_no = _named("outOrderNo", _text, body.get("outOrderNo"))
        store_id = _named("storeId", _text, body.get("storeId"))
    except BadParam as exc:
        return _fail(PARAM_ERROR.format(exc.name))
    state = request.app[STATE]
    now = _now()
    order = d.Order(
        order_no=str(state.next_order_no),
        member_id=request.match_info["memberId"],
        out_order_no=out_order_no,
        store_id=store_id,
        products=parsed,
        create_time=now,
        update_time=now,
        act_total_sent_cents=act_total,
    )
    state.next_order_no += 1
    state.orders[order.order_no] = order
    return _ok(order.summary())


@_signed
async def _detail(request: web.Request) -> web.Response:
    order = request.app[STATE].find(request.match_info["memberId"], request.match_info["orderNo"])
    return _fail(MSG_NOT_FOUND) if order is None else _ok(order.detail())


@_signed
async def _schedule(request: web.Request) -> web.Response:
    query = request.query
    try:
        country_id = _named("countryId", _count, query.get("countryId"))
        order_no = _named("orderNo", _text, query.get("orderNo"))
        loan_product_id = _named("loanProductId", _count, query.get("loanProductId"))
    except BadParam as exc:
        return _fail(PARAM_ERROR.format(exc.name))
    order = request.app[STATE].orders.get(order_no)
    product = d.LOAN_PRODUCTS.get(loan_product_id)
    if order is None or product is None or country_id not in d.COUNTRY_IDS:
        return _fail(MSG_NOT_FOUND)
    return _ok(d.schedule(order, product))


@_signed
async def _confirm(request: web.Request) -> web.Response:
    order = request.app[STATE].find(request.match_info["memberId"], request.match_info["orderNo"])
    if order is None:
        return _fail(MSG_NOT_FOUND)
    if order.status != d.CREATED:
        return _fail(STATE_REFUSALS[order.status])
    body = await _json_object(request)
    if body is None:
        return _fail(PARAM_ERROR.format("body"))
    # The page types installPlanId as string in its table and number in the answer; the
    # curl sends no body, so the query string is accepted too.
    try:
        plan_id = _named(
            "installPlanId", _count, body.get("installPlanId", request.query.get("installPlanId"))
        )
    except BadParam as exc:
        return _fail(PARAM_ERROR.format(exc.name))
    if plan_id not in d.LOAN_PRODUCTS:
        return _fail(MSG_NOT_FOUND)
    order.confirm(plan_id, _now())
    return _ok(order.detail())


@_signed
async def _cancel(request: web.Request) -> web.Response:
    body = await _json_object(request)
    if body is None:
        return _fail(PARAM_ERROR.format("body"))
    reason = body.get("reason", request.query.get("reason"))
    try:
        order_no = _named("orderNo", _text, body.get("orderNo", request.query.get("orderNo")))
    except BadParam as exc:
        return _fail(PARAM_ERROR.format(exc.name))
    if not isinstance(reason, str) or not reason:
        return _fail(PARAM_ERROR.format("reason"))
    order = request.app[STATE].find(request.match_info["memberId"], order_no)
    if order is None:
        return _fail(MSG_NOT_FOUND)
    if order.status not in (d.CREATED, d.CONFIRMED):
        return _fail(STATE_REFUSALS[order.status])
    order.cancel(reason, _now())
    return _ok("")


def _contract(accept: bool) -> Handler:
    @_signed
    async def handler(request: web.Request) -> web.Response:
        state = request.app[STATE]
        order = state.find(request.match_info["memberId"], request.match_info["orderNo"])
        if order is None:
            return _fail(MSG_NOT_FOUND)
        if order.status != d.CONFIRMED:
            return _fail(STATE_REFUSALS[order.status])
        if accept:
            order.accept_contract(_now())
        else:
            order.reject_contract(_now())
        return _ok({})

    return handler


def create_app(
    *, faults: Faults | None = None, seed: int = 0, token_ttl_s: float = TOKEN_TTL_S
) -> web.Application:
    """The sandbox, seeded with ``d.SEED_ORDER_COUNT`` orders (see lipalater_data)."""
    app = sandbox_app(faults, seed, error_body=fault_body)
    state = LipaLaterState(
        orders=d.seed_orders(seed),
        token_ttl_s=token_ttl_s,
        ids=random.Random(f"lipalater-ids-{seed}"),
    )
    app[STATE] = state

    async def request_id(request: web.Request, response: web.StreamResponse) -> None:
        response.headers["X-Request-ID"] = state.new_id()

    app.on_response_prepare.append(request_id)
    app.middlewares.insert(0, _check_sign)
    order = BASE + "/order/{memberId}"
    app.router.add_get(TOKEN_PATH, _token)
    app.router.add_post(order + "/create", _create)
    app.router.add_get(order + "/detail/{orderNo}", _detail)
    app.router.add_get(BASE + "/order/calculateSchedule/", _schedule)
    app.router.add_post(order + "/confirm/{orderNo}/", _confirm)
    app.router.add_post(order + "/cancelOrder", _cancel)
    app.router.add_get(order + "/checkCreditStatus/{orderNo}", _detail)
    app.router.add_get(order + "/acceptContract/{orderNo}", _contract(accept=True))
    app.router.add_get(order + "/rejectContract/{orderNo}", _contract(accept=False))
    return app
