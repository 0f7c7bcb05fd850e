"""Lipa Later open platform (seed 000): buy-now-pay-later orders, schedules and contracts.

Quirks kept here and nowhere else:
- A platform token from ``GET /open/op/platform/token/`` with ``Basic base64(api_key:api_secret)``
  lives 300 s: it is cached, renewed ``token_margin_s`` (30 s) before it runs out, fetched
  again once on an "invalid token" answer, and shared by concurrent requests (one fetch).
  A static ``token`` setting skips the flow.
- Every request (the token request too) carries ``Noncestr``, ``Timestamp`` and ``Sign``; the
  algorithm is not public, so it is one replaceable function (providers/lipalater_sign.py)
  keyed by ``app_secret``. The body is serialised here so the signed bytes are the sent bytes.
- Every answer is the envelope ``{code, msg, data, success}`` (HTTP 200 on the page; any 2xx is
  read the same). ``code`` is 0 in every example of the orders page and 200 on other pages of
  theirs: success is read from ``success`` only, so either is accepted. Only ``success: false``
  is a refusal; a ``success`` that is neither true nor false is a bad answer, so a write
  answered so may have been applied. "Data does not exist" is not found.
- A detail answer must name the order asked for (its ``orderNo``, and its ``memberId`` when it
  gives one); placeOrder's read-back of a new order that fails so answers the create's answer.
- acceptContract and rejectContract are GETs that change the order: they are sent with
  ``safe=False``, so the shared client never resends one that may have arrived (a 5xx, a reset).
- Orders are addressed by member and number (``/order/{memberId}/detail/{orderNo}``), so the
  order key is ``"memberId/orderNo"`` and reading by number needs the customer id.
- No batch reads: a batch is one detail call per distinct order, all at once.
- Confirm and cancel list their "params" and their curls show no body: they go as a JSON body
  (an inference). cancelOrder's ``orderNo`` is a JSON integer, as its table types it (no request
  example shows it).
- The create table calls ``salePrice`` the "total sales price of goods" and the sandbox treats
  it as the line total (price x quantity); reads carry no unit price, so it is the line's
  ``totalFee`` over ``productNum``.
- Amounts are numbers in the configured currency (KES unless ``currency`` says otherwise;
  "KSH" is KES); ``countryId`` for Kenya is 10001 (another of their pages says 1001), so it is
  the ``country_id`` setting. The create body's amounts are typed integer (whole shillings): a
  unit price with cents is refused before sending, never rounded.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import tzinfo
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import orjson

from providers import lipalater_map as m
from providers.auth import TokenCache
from providers.base import BaseProvider, Batch, Capability, read_back, settled
from providers.errors import (
    AuthFailed,
    BadResponse,
    InvalidRequest,
    NotFound,
    Rejected,
    ServerError,
    StatusError,
    with_message,
)
from providers.http import HttpClient, Upstream, UpstreamResponse
from providers.lipalater_sign import Signer, sign
from providers.model import (
    CreditStatus,
    ItemOutcome,
    NewOrder,
    Order,
    OrderItem,
    OrderRef,
    ProviderName,
    RepaymentSchedule,
)
from providers.redact import SECRETS
from providers.settings import ProviderSettings, SettingsError
from providers.values import decimal, exact_in, given_text, shown

T = TypeVar("T")
API = "/open/op"
DEFAULT_COUNTRY_ID = 10001
NOT_FOUND = "data does not exist"
# How the provider begins a refusal of a parameter ("Parameter error: loanProductId").
PARAMETER_ERROR = "parameter error"
# The parameters of a "Parameter error: <name>" refusal that a mutation's input names alike.
_INPUT_PARAMETERS = frozenset({"installPlanId", "reason"})
# Refusals of our credentials, not of the request: a token problem is retried once.
INVALID_TOKEN = "invalid token"
# An envelope's ``success``, which the page shows as a JSON boolean: the text of one is taken too.
_BOOLEANS = {"true": True, "false": False}
AUTH_REFUSALS = frozenset({INVALID_TOKEN, "invalid sign", "no credentials"})
# Member ids and order numbers go into the path: keep them to characters that need no escaping,
# and never a dot segment ("." or "..", which the URL parser resolves: ``../detail/1`` would
# leave ``/order/{memberId}``). ``\Z``, not ``$``: a trailing newline is dropped by the parser.
_PATH_SAFE = re.compile(r"\A(?!\.+\Z)[A-Za-z0-9._~-]{1,64}\Z")


# The settings Lipa Later reads besides the common ones (providers/settings.py).
SETTINGS = frozenset(
    {"api_key", "api_secret", "app_secret", "country_id", "timezone", "token_margin_s"}
)


def _zone(settings: ProviderSettings) -> tzinfo:
    """The ``timezone`` Lipa Later's naive timestamps are in (UTC unless set)."""
    name = str(settings.values.get("timezone", "UTC"))
    try:
        return ZoneInfo(name)
    except (ValueError, LookupError):  # ZoneInfoNotFoundError is a KeyError
        raise SettingsError(
            f"[providers.lipalater] timezone {name!r} is no IANA time zone"
        ) from None


def from_settings(settings: ProviderSettings, http: HttpClient) -> LipaLater:
    if not settings.token:
        settings.require("api_key", "api_secret")
    if not settings.values.get("app_secret"):
        raise SettingsError("[providers.lipalater] needs app_secret (the Sign key)")
    return LipaLater(settings, http.upstream(settings.upstream))


class LipaLater(BaseProvider):
    name = ProviderName.LIPALATER
    capabilities = frozenset(
        {
            Capability.READ_ORDER,
            Capability.PLACE_ORDER,
            Capability.CONFIRM_ORDER,
            Capability.CANCEL_ORDER,
            Capability.CONTRACT,
            Capability.REPAYMENT_SCHEDULE,
            Capability.CREDIT_STATUS,
        }
    )

    def __init__(
        self, settings: ProviderSettings, upstream: Upstream, signer: Signer = sign
    ) -> None:
        self.settings = settings
        self.up = upstream
        self.signer = signer
        self.currency = m.currency_code(settings.currency) or "KES"
        self.country_id = settings.number("country_id", DEFAULT_COUNTRY_ID)
        self.zone: tzinfo = _zone(settings)
        self._static = settings.token
        self._app_secret = settings.secret("app_secret") or ""
        api_key, api_secret = settings.secret("api_key"), settings.secret("api_secret")
        self._basic = SECRETS.basic(api_key, api_secret)
        self._tokens = TokenCache(
            self._fetch_token,
            provider=self.name.value,
            margin_s=settings.number("token_margin_s", 30, float),
        )
        # The path before /open/op/ that the provider sees, which is what gets signed.
        self._prefix = urlsplit(settings.base_url).path.rstrip("/")

    def public_settings(self) -> dict[str, Any]:
        return self.settings.public() | {"country_id": self.country_id, "currency": self.currency}

    # -- transport ----------------------------------------------------------------------

    async def _send(
        self,
        method: str,
        path: str,
        authorization: str,
        params: dict[str, str] | None,
        body: bytes | None,
        safe: bool | None = None,
    ) -> UpstreamResponse:
        text = body.decode() if body else ""

        def signed() -> dict[str, str]:
            # Called by the shared client for every attempt: a retry carries a fresh signature.
            timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
            return {
                "Authorization": authorization,
                "Content-Type": "application/json",
                "Noncestr": nonce,
                "Timestamp": timestamp,
                "Sign": self.signer(
                    self._app_secret,
                    method,
                    self._prefix + path,
                    (params or {}).items(),
                    timestamp,
                    nonce,
                    text,
                ),
            }

        return await self.up.request(
            method, path, params=params, data=body, headers=signed, safe=safe, masked=("Sign",)
        )

    async def _fetch_token(self) -> Any:
        response = await self._send(
            "GET", f"{API}/platform/token/", f"Basic {self._basic}", None, None
        )
        data = self._data(response, refusal=False)
        token = given_text(data.get("accessToken")) if isinstance(data, dict) else None
        if token is None:
            raise response.bad("token answer without accessToken")
        seconds = decimal(data.get("expiresSeconds"))
        return TokenCache.expiring_in(token, float(seconds or 300))

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
        refusal: bool = False,
        safe: bool | None = None,
    ) -> Any:
        """The ``data`` of a successful answer; ``refusal``: a "no" is the caller's (Rejected);
        ``safe=False``: a GET that changes state, never resent after it may have arrived."""
        body = orjson.dumps(json) if json is not None else None
        token = self._static or await self._tokens.get()
        response = await self._send(method, path, f"Bearer {token}", params, body, safe)
        try:
            return self._data(response, refusal=refusal)
        except AuthFailed as exc:
            if self._static or exc.message.strip().lower() != INVALID_TOKEN:
                raise
        self._tokens.invalidate(token)  # expired or revoked early: fetch a new one, once
        token = await self._tokens.get()  # "invalid token" was a refusal: nothing was applied
        response = await self._send(method, path, f"Bearer {token}", params, body, safe)
        return self._data(response, refusal=refusal)

    def _data(self, response: UpstreamResponse, *, refusal: bool) -> Any:
        """The ``data`` of an envelope that says ``success: true``. Any 2xx holds an envelope
        (a write that landed may answer 201 or 202); only ``success: false`` is the provider
        saying no. Anything else (``success`` null, 1, "ok", missing) says neither, so it is a
        ``BadResponse``, never a refusal: a write answered so may have been applied."""
        if not 200 <= response.status < 300:
            raise self._error(response, None, refusal=refusal)
        body = response.json()
        enveloped = isinstance(body, dict) and "success" in body
        success = body["success"] if enveloped else None
        said = success if isinstance(success, bool) else _BOOLEANS.get(str(success).lower())
        if said is None:
            what = f"success {success!r}" if enveloped else "unexpected body"
            raise response.bad(
                f"{what} in a {response.status} answer: neither success nor a refusal"
            )
        if said:
            return body.get("data")
        raise self._error(response, body, refusal=refusal)

    def _error(
        self, response: UpstreamResponse, body: dict[str, Any] | None, *, refusal: bool
    ) -> StatusError:
        """The envelope ``{code, msg, success: false}`` (or a bare HTTP error) as the tree."""
        if body is None:  # not the envelope: a gateway or proxy in front of the provider
            try:
                parsed = response.json()
            except BadResponse:
                parsed = None
            detail = parsed.get("msg") or parsed.get("detail") if isinstance(parsed, dict) else None
            return response.error(shown(detail or f"HTTP {response.status}"))
        message = shown(body.get("msg") or "request refused")
        kwargs: dict[str, Any] = {
            "http_status": response.status,
            "code": None if body.get("code") is None else shown(body["code"]),
            "request_id": response.request_id,
        }
        lowered = message.strip().lower()
        error: StatusError
        if lowered == NOT_FOUND:
            error = NotFound(self.name.value, message, **kwargs)
        elif lowered in AUTH_REFUSALS:
            error = AuthFailed(self.name.value, message, **kwargs)
        elif refusal or lowered.startswith(PARAMETER_ERROR):
            # A parameter the provider refused is the request's, not the provider failing: not
            # worth retrying (a read's repaymentSchedule(loanProductId: -1), say). One the
            # caller named ("Parameter error: installPlanId") is that input's userError.
            named = message.partition(":")[2].strip()
            field = ["input", named] if named in _INPUT_PARAMETERS else None
            error = Rejected(self.name.value, message, field=field, **kwargs)
        else:
            return ServerError(self.name.value, message, **kwargs)
        response.refused()  # a refusal under a 200 applied nothing
        return error

    # -- keys ---------------------------------------------------------------------------

    def _split(self, key: str) -> tuple[str, str]:
        """``(memberId, orderNo)`` of an order key, both safe to put in a path; a key of
        another shape (a forged id) is the caller's mistake, and nothing is sent."""
        member, _, number = key.partition("/")
        if not (_PATH_SAFE.match(member) and _PATH_SAFE.match(number)):
            raise InvalidRequest(
                self.name.value, f"{key!r} is not a Lipa Later order key", field=["orderId"]
            )
        return member, number

    def _path_part(self, value: str, field: str) -> str:
        if not _PATH_SAFE.match(value):
            raise InvalidRequest(
                self.name.value, f"{field} {value!r} is not a Lipa Later id", field=[field]
            )
        return value

    # -- reads --------------------------------------------------------------------------

    async def _detail(self, member: str, number: str) -> Order | None:
        """The order ``number`` of ``member``, or None. An answer naming another order (its
        ``orderNo``, or a ``memberId`` it gives) is the provider's fault, never that order:
        placeOrder would keep it as the order it placed, a read would show it under this id."""
        try:
            data = await self._call("GET", f"{API}/order/{member}/detail/{number}")
        except NotFound:
            return None
        record = _record(self, data, "detail")
        given_number, given_member = record.get("orderNo"), record.get("memberId")
        if not _is(given_number, number) or (
            given_member not in (None, "") and not _is(given_member, member)
        ):
            raise BadResponse(
                self.name.value,
                f"asked for order {number} of customer {member}, the detail answer names order "
                f"{given_number!r} of customer {given_member!r}",
            )
        return self._order(record, member)

    async def _order_by_key(self, key: str) -> Order | None:
        return await self._detail(*self._split(key))

    async def _order_by_ref(self, ref: OrderRef) -> Order | None:
        if not ref.customer_id:
            raise InvalidRequest(
                self.name.value,
                "Lipa Later finds an order by number only with its customerId (memberId)",
                field=["customerId"],
            )
        member = self._path_part(ref.customer_id, "customerId")
        return await self._detail(member, self._path_part(ref.number, "number"))

    async def orders_by_key(self, keys: Sequence[str]) -> Batch[Order]:
        return await _each(keys, self._order_by_key)

    async def orders_by_ref(self, refs: Sequence[OrderRef]) -> Batch[Order]:
        return await _each(refs, self._order_by_ref)

    async def items_by_order(self, order_keys: Sequence[str]) -> Batch[list[OrderItem]]:
        orders = await self.orders_by_key(order_keys)
        return [o.items if isinstance(o, Order) else o for o in orders]

    async def items_by_key(self, keys: Sequence[str]) -> Batch[OrderItem]:
        """Item keys are ``memberId/orderNo/position``: one detail call per distinct order."""
        parts = [key.rpartition("/") for key in keys]
        order_keys = list(dict.fromkeys(p[0] for p in parts))
        orders = dict(zip(order_keys, await self.orders_by_key(order_keys), strict=True))
        answer: Batch[OrderItem] = []
        for order_key, _, position in parts:
            found = orders[order_key]
            if not isinstance(found, Order):
                answer.append(found)
                continue
            items = found.items or []
            # ASCII digits only: str.isdigit() takes "²", which int() refuses.
            index = int(position) if position.isascii() and position.isdigit() else len(items)
            answer.append(items[index] if index < len(items) else None)
        return answer

    async def repayment_schedule(
        self, order_key: str, loan_product_id: int, country_id: int | None
    ) -> RepaymentSchedule:
        _, number = self._split(order_key)
        params = {
            "countryId": str(self.country_id if country_id is None else country_id),
            "orderNo": number,
            "loanProductId": str(loan_product_id),
        }
        data = await self._call("GET", f"{API}/order/calculateSchedule/", params=params)
        return m.schedule(_record(self, data, "calculateSchedule"), self.currency)

    async def credit_status(self, order_key: str) -> CreditStatus:
        member, number = self._split(order_key)
        data = await self._call("GET", f"{API}/order/{member}/checkCreditStatus/{number}")
        return m.credit(_record(self, data, "checkCreditStatus"), self.currency, self.zone)

    # -- writes -------------------------------------------------------------------------

    async def place_order(self, order: NewOrder) -> Order:
        member = self._path_part(_required(order.customer_id, "customerId"), "customerId")
        body = self._create_body(order)
        data = await self._call("POST", f"{API}/order/{member}/create", json=body, refusal=True)
        created = _record(self, data, "create")
        number = str(created.get("orderNo") or "")
        if not _PATH_SAFE.match(number):
            raise BadResponse(self.name.value, "create answer without a usable orderNo")
        # The create answer has no statuses or fees: read the order back. A read-back that
        # fails (one naming another order too, ``_detail``) answers what create said.
        placed = self._order(created, member)
        return await read_back(placed, self._detail(member, number), "as the create said")

    def _create_body(self, order: NewOrder) -> dict[str, Any]:
        if order.currency and m.currency_code(order.currency) != self.currency:
            raise InvalidRequest(
                self.name.value,
                f"Lipa Later prices this store in {self.currency}, not {order.currency}",
                field=["currency"],
            )
        products, total = [], Decimal(0)
        for i, item in enumerate(order.items):
            where = ["items", str(i)]
            product_no = item.sku or item.product_id
            if not product_no:
                raise InvalidRequest(
                    self.name.value, "each item needs a sku or productId", field=[*where, "sku"]
                )
            if item.unit_price is None:
                raise InvalidRequest(
                    self.name.value, "each item needs a unitPrice", field=[*where, "unitPrice"]
                )
            if not exact_in(item.unit_price, 0):
                # The page types price, salePrice and actTotalFee as integers (whole
                # shillings): a price with cents cannot be sent, and is never rounded.
                raise InvalidRequest(
                    self.name.value,
                    f"Lipa Later takes whole amounts; unitPrice {item.unit_price} has a fraction",
                    field=[*where, "unitPrice"],
                )
            line = item.unit_price * item.quantity
            total += line
            products.append(
                {
                    "actTotalFee": m.whole(line),
                    "brand": item.brand or "",
                    "price": m.whole(item.unit_price),
                    "productLogo": item.image_url or "",
                    "productName": item.name or "",
                    "productNo": product_no,
                    "productNum": item.quantity,
                    "salePrice": m.whole(line),
                    "skuDesc": item.description or "",
                }
            )
        return {
            "actTotalFee": m.whole(total),
            "outOrderNo": _required(order.external_reference, "externalReference"),
            "productList": products,
            "storeId": _required(order.store_id, "storeId"),
        }

    async def confirm_order(self, order_key: str, install_plan_id: str) -> Order:
        member, number = self._split(order_key)
        # The table types installPlanId as string (the answer as a number): sent as given.
        try:
            data = await self._call(
                "POST",
                f"{API}/order/{member}/confirm/{number}/",
                json={"installPlanId": install_plan_id},
                refusal=True,
            )
        except NotFound as exc:
            if exc.message.strip().lower() != NOT_FOUND:
                raise
            # "Data does not exist" names nothing, and this call names two things: a support
            # agent read an unknown plan as a missing order.
            suspects = f" (order {number} of customer {member}, or its installPlanId)"
            raise with_message(exc, exc.message + suspects) from exc
        return self._order(_record(self, data, "confirm"), member)

    async def cancel_order(self, order_key: str, reason: str | None) -> list[ItemOutcome]:
        member, number = self._split(order_key)
        body = {"orderNo": _integer_if_plain(number), "reason": _required(reason, "reason")}
        await self._call("POST", f"{API}/order/{member}/cancelOrder", json=body, refusal=True)
        return []

    # The contract calls are GETs that change the order: not safe to send twice (a resent
    # accept after a lost answer is refused "Contract has been accepted", a reject may apply
    # twice), so the shared client treats them as writes.

    async def accept_contract(self, order_key: str) -> None:
        member, number = self._split(order_key)
        path = f"{API}/order/{member}/acceptContract/{number}"
        await self._call("GET", path, refusal=True, safe=False)

    async def reject_contract(self, order_key: str) -> None:
        member, number = self._split(order_key)
        path = f"{API}/order/{member}/rejectContract/{number}"
        await self._call("GET", path, refusal=True, safe=False)

    # -- payload -> domain --------------------------------------------------------------

    def _order(self, data: Any, member: str) -> Order:
        return m.order(_record(self, data, "order"), self.currency, self.zone, member)


def _required(value: str | None, field: str) -> str:
    if not value:
        raise InvalidRequest(
            ProviderName.LIPALATER.value, f"Lipa Later needs {field}", field=[field]
        )
    return value


def _integer_if_plain(number: str) -> int | str:
    """cancelOrder's ``orderNo``, which its table types integer and no request example shows:
    a JSON integer. A number an integer would change or cannot hold (a letter, a leading zero,
    past a Java long) goes as the text it was read as."""
    if number.isascii() and number.isdigit():
        value = int(number)  # at most 64 digits (``_split``)
        if str(value) == number and value < 2**63:
            return value
    return number


def _is(value: object, asked: str) -> bool:
    """Whether an answer's ``orderNo`` or ``memberId`` is the one asked for: its text, or a
    JSON integer of it (the page's tables type orderNo integer; its examples send strings)."""
    return isinstance(value, str | int) and not isinstance(value, bool) and str(value) == asked


def _record(provider: LipaLater, data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise BadResponse(provider.name.value, f"{what} answer without a data object")
    return data


async def _each(keys: Sequence[T], fetch: Callable[[T], Awaitable[Any]]) -> list[Any]:
    """One call per distinct key, all at once; a failed key is its exception, not the batch's."""
    distinct = list(dict.fromkeys(keys))
    by_key = dict(zip(distinct, await settled(map(fetch, distinct)), strict=True))
    return [by_key[k] for k in keys]
