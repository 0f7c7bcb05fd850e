"""Kalixo v1 (seed 003): place-order and retrieve-order, digital codes (PINs) inline.

Quirks kept here and nowhere else:
- Auth is ``POST /v1/auth/login`` ``{email, password}`` for an access token (about 4 h) and a
  refresh token (about 8 h). A stale access token is renewed with ``POST /v1/auth/refresh``
  (the refresh token as Bearer), falling back to a new login; a 401 on a call renews once. A
  static ``token`` skips all of it.
- Prices are integers in minor units (3299 GBP is 32.99). The page types ``sku`` and
  ``currency`` as integers but its example sends strings, so strings are sent.
- Neither answer names a currency: every Kalixo order is in the configured ``currency`` (GBP
  unless set), and placing refuses any other, so an order reads back in the currency it was
  placed in.
- ``orderId`` is a string from place-order and a number from retrieve-order. The order key is
  the id as a string; an item's key is ``"<orderId>/<line index>"`` (lines have no id).
- Neither answer carries ``externalOrderCode`` and the page has no lookup by it. An order's
  ``externalReference`` is what this gateway knows: the code it sent in the place-order whose
  answer named that order (kept in memory), else null. ``externalOrderCode`` is unique per
  order (the natural idempotency key), so a create whose answer was lost (a 5xx too) is sent
  once more under the same code: placed, or refused as a duplicate, which says the first one
  landed; and one whose outcome stayed unknown is sent again when asked for again under its key
  (:mod:`providers.kalixo_place`).
- place-order answers no status: an order whose every unit already has its PIN is completed
  (PINs are issued only then; ``providerStatus`` stays null, as Kalixo said none). Any other
  is read once for the status Kalixo gives it (:mod:`providers.kalixo_place`).
- PINs are secrets: they live only in :class:`~providers.model.DigitalCode` (whose repr hides
  them); ``raw`` payloads are scrubbed here already, and no log line or error carries one.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Sequence
from decimal import Decimal
from http import HTTPStatus
from typing import Any

import orjson

from providers.auth import Token, TokenCache
from providers.base import BaseProvider, Batch, Capability, settled
from providers.errors import BadResponse, NotFound, ProviderError
from providers.http import HttpClient, Upstream, UpstreamResponse
from providers.kalixo_place import EARLIER, MAX_ID_DIGITS, exponent, place
from providers.lru import Lru
from providers.model import (
    DigitalCode,
    Money,
    NewOrder,
    Order,
    OrderItem,
    OrderRef,
    OrderStatus,
    ProviderName,
    map_enum,
)
from providers.redact import SECRETS, scrub
from providers.settings import ProviderSettings
from providers.values import as_str, count, given_id, minor_units, shown

API = "/v1"
PLACE = f"{API}/orders/place-order"
RETRIEVE = f"{API}/orders/retrieve-order"

STATUS = {
    "requested": OrderStatus.PENDING,
    "processing": OrderStatus.PROCESSING,
    "completed": OrderStatus.COMPLETED,
    "cancelled": OrderStatus.CANCELLED,
    "failed": OrderStatus.FAILED,
    "error": OrderStatus.FAILED,  # provider_status keeps "error"
}

DEFAULT_CURRENCY = "GBP"
# Token lifetimes the provider states, for an answer that does not say.
ACCESS_TTL_S = 4 * 3600.0
REFRESH_TTL_S = 8 * 3600.0
TOKEN_MARGIN_S = 30.0
# Orders placed through this gateway whose externalOrderCode it remembers, both ways.
REFERENCE_MEMORY = 50_000

Record = dict[str, Any]


# The settings Kalixo reads besides the common ones (providers/settings.py).
SETTINGS = frozenset({"email", "password"})


def from_settings(settings: ProviderSettings, http: HttpClient) -> Kalixo:
    if not settings.token:
        settings.require("email", "password")
    return Kalixo(settings, http.upstream(settings.upstream))


class Kalixo(BaseProvider):
    name = ProviderName.KALIXO
    capabilities = frozenset({Capability.READ_ORDER, Capability.PLACE_ORDER})
    # externalOrderCode is unique: a second create under one code is refused, never placed.
    creates_idempotent_by_reference = True

    def __init__(self, settings: ProviderSettings, upstream: Upstream) -> None:
        self.settings = settings
        self.up = upstream
        self._static = settings.token
        self._email = settings.get("email")
        self._password = settings.secret("password")
        self._tokens = TokenCache(
            self._fetch_token, provider=self.name.value, margin_s=TOKEN_MARGIN_S
        )
        self._refresh: Token | None = None
        # Neither answer names a currency: every order is in this one, and only it is placed.
        self.currency = (settings.currency or DEFAULT_CURRENCY).strip().upper()
        # What place-order answers taught: order key <-> the externalOrderCode sent for it.
        # Kalixo answers neither the code nor a lookup by it; this is all the gateway knows.
        self._reference_of: Lru[str, str] = Lru(REFERENCE_MEMORY)
        self._key_of: Lru[str, str] = Lru(REFERENCE_MEMORY)

    def public_settings(self) -> dict[str, Any]:
        return self.settings.public() | {"currency": self.currency}  # GBP unless configured

    # -- auth --------------------------------------------------------------------------

    async def _fetch_token(self) -> Token:
        """Renew with the refresh token while it lives; log in when it is gone or refused."""
        refresh = self._refresh
        if refresh is not None and refresh.expires_at - TOKEN_MARGIN_S > time.monotonic():
            response = await self.up.request(
                "POST", f"{API}/auth/refresh", headers=_bearer(refresh.value)
            )
            if response.status < 400:
                return self._issued(response)
            if response.status not in (400, 401, 403):
                raise self._error(response)
            self._keep_refresh(None)  # refused: a new login below
        response = await self.up.request(
            "POST", f"{API}/auth/login", json={"email": self._email, "password": self._password}
        )
        return self._issued(response)

    def _issued(self, response: UpstreamResponse) -> Token:
        """The access token of a login or refresh answer; keeps its refresh token."""
        if response.status >= 400:
            raise self._error(response)
        body = response.json()
        access = _first(body, "accessToken", "access_token", "token")
        if not isinstance(access, str) or not access:
            raise BadResponse(self.name.value, "auth answer without an access token")
        refresh = _first(body, "refreshToken", "refresh_token")
        if isinstance(refresh, str) and refresh:
            ttl = _ttl(_first(body, "refreshExpiresIn", "refresh_expires_in"), refresh)
            self._keep_refresh(TokenCache.expiring_in(refresh, ttl or REFRESH_TTL_S))
        ttl = _ttl(_first(body, "expiresIn", "expires_in"), access)
        return TokenCache.expiring_in(access, ttl or ACCESS_TTL_S)

    def _keep_refresh(self, refresh: Token | None) -> None:
        """The refresh token to renew with next (``None``: log in), registered as a secret;
        the one it replaces is used up (each refresh answers a new one) and forgotten, as a
        token cache forgets old access tokens: every value registered costs every log line
        and message a little more to mask, and a gateway up for months renews thousands."""
        old, self._refresh = self._refresh, refresh
        if refresh is not None:
            SECRETS.add(refresh.value)
        if old is not None and (refresh is None or old.value != refresh.value):
            SECRETS.discard(old.value)

    # -- transport ---------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
    ) -> UpstreamResponse:
        response = await self._tokens.send(
            lambda token: self.up.request(
                method, path, params=params, json=json, headers=_bearer(token)
            ),
            static=self._static,
        )
        if response.status >= 400:
            raise self._error(response)
        return response

    def _error(self, response: UpstreamResponse) -> ProviderError:
        """Kalixo's envelope: ``{"statusCode": "api_error", "message": ..., "error": ...}``."""
        try:
            body = response.json()
        except BadResponse:
            body = None
        enveloped = isinstance(body, dict) and ("message" in body or "statusCode" in body)
        if response.status == 404 and not enveloped:
            # A route that does not exist (a wrong base_url), not an order that does not.
            return response.bad("HTTP 404 without Kalixo's error body: is base_url right?")
        message, code = f"HTTP {response.status}", None
        if isinstance(body, dict) and enveloped:
            code = as_str(body.get("statusCode"))
            raw = body.get("message")
            text = "; ".join(map(shown, raw)) if isinstance(raw, list) else as_str(raw)
            detail = as_str(body.get("error"))
            phrase = _phrase(response.status)
            parts = [p for p in (text, detail) if p and p != phrase] or [text or phrase]
            message = ": ".join(dict.fromkeys(p for p in parts if p))
        return response.error(message, code=code)

    async def retrieve(self, params: dict[str, str]) -> Record | None:
        """One retrieve-order answer; ``None`` when Kalixo says there is no such order."""
        try:
            response = await self._call("GET", RETRIEVE, params=params)
        except NotFound:
            return None
        body = response.json()
        if not isinstance(body, dict) or body.get("orderId") is None:
            raise response.bad("retrieve-order answered a body without orderId")
        return body

    # -- reads -------------------------------------------------------------------------

    async def order_by_id(self, key: str) -> Order | None:
        """The order Kalixo holds under ``key``; ``None`` when there is none."""
        if not (key.isascii() and key.isdigit() and len(key) <= MAX_ID_DIGITS):
            # Kalixo ids are numbers: nothing else can name an order, and a 5,000-digit one
            # was a 500 from Kalixo, retried until the breaker opened for every caller.
            return None
        record = await self.retrieve({"id": key})
        if record is None or as_str(record.get("orderId")) != key:
            return None
        return self.order(record)

    async def orders_by_key(self, keys: Sequence[str]) -> Batch[Order]:
        # No batch read on this API: one retrieve-order per key, concurrently.
        return await settled(self.order_by_id(k) for k in keys)

    async def orders_by_ref(self, refs: Sequence[OrderRef]) -> Batch[Order]:
        return await settled(self.order_by_id(r.number) for r in refs)

    async def items_by_order(self, order_keys: Sequence[str]) -> Batch[list[OrderItem]]:
        orders = await self.orders_by_key(order_keys)
        return [o.items if isinstance(o, Order) else o for o in orders]

    async def items_by_key(self, keys: Sequence[str]) -> Batch[OrderItem]:
        order_keys = list(dict.fromkeys(k.partition("/")[0] for k in keys))
        found = dict(zip(order_keys, await self.orders_by_key(order_keys), strict=True))
        answers: Batch[OrderItem] = []
        for key in keys:
            order = found[key.partition("/")[0]]
            if isinstance(order, Order):
                answers.append(next((i for i in order.items or () if i.key == key), None))
            else:
                answers.append(order)
        return answers

    async def known_order(self, reference: str) -> Order | None:
        """The order this gateway placed under ``reference``, read again; ``None`` when no
        place-order answer named one (Kalixo cannot be asked for an order by its code)."""
        key = self._key_of.find(reference)
        return None if key is None else await self.order_by_id(key)

    # -- writes ------------------------------------------------------------------------

    async def place_order(self, order: NewOrder) -> Order:
        return await place(self, order)

    async def place_order_again(self, order: NewOrder) -> Order:
        return await place(self, order, earlier=EARLIER)

    async def create(self, body: Record) -> Order:
        """One place-order call; the order from its answer."""
        response = await self._call("POST", PLACE, json=body)
        answer = response.json()
        key = given_id(answer.get("orderId")) if isinstance(answer, dict) else None
        if key is None:
            raise response.bad("place-order answered a body without orderId")
        reference = body["externalOrderCode"]
        self._reference_of.keep(key, reference)
        self._key_of.keep(reference, key)
        return self.order(answer)

    # -- payload -> domain -------------------------------------------------------------

    def order(self, r: Record) -> Order:
        key = str(r["orderId"])
        cur = self.currency
        items = [
            self._item(key, i, p, cur)
            for i, p in enumerate(_list(r.get("products")))
            if isinstance(p, dict)
        ]
        raw_status = r.get("orderStatus")
        if raw_status is None:
            # place-order's answer: PINs are issued only once the order is completed; short of
            # them the status is not known yet (providers.kalixo_place reads it).
            status = (
                OrderStatus.COMPLETED
                if items and all(map(_all_codes, items))
                else OrderStatus.PENDING
            )
        else:
            status = map_enum(STATUS, raw_status, OrderStatus.UNKNOWN)
        totals = [i.total.amount for i in items if i.total is not None]
        return Order(
            provider=self.name,
            key=key,
            number=key,
            external_reference=self._reference_of.find(key),  # Kalixo answers no code
            status=status,
            provider_status=as_str(raw_status),
            currency=cur,
            total=Money.of(sum(totals, Decimal(0)), cur) if len(totals) == len(items) else None,
            items=items,
            raw=scrub(r),  # no PIN is kept anywhere but in DigitalCode
        )

    def _item(self, order_key: str, index: int, p: Record, currency: str) -> OrderItem:
        quantity = count(p.get("quantity"), self.name.value, "products[].quantity")
        quantity = 1 if quantity is None else quantity
        price = minor_units(p.get("price"), self.name.value, "products[].price")
        exp = exponent(currency)
        unit = None if price is None else Decimal(price).scaleb(-exp)
        pins = p.get("pin", p.get("pins"))
        return OrderItem(
            provider=self.name,
            key=f"{order_key}/{index}",
            order_key=order_key,
            sku=as_str(p.get("sku")),
            product_id=as_str(p.get("productId")),
            name=as_str(p.get("name")),
            quantity=quantity,
            unit_price=Money.of(unit, currency),
            total=None if unit is None else Money.of(unit * quantity, currency),
            codes=None if pins is None else _codes(pins),
            raw=scrub(p),
        )


def _all_codes(item: OrderItem) -> bool:
    return item.codes is not None and len(item.codes) >= item.quantity


def _codes(pins: Any) -> list[DigitalCode]:
    """``[{"PIN": "..."}]`` as the page shows; a bare string or other spellings are taken too."""
    codes = []
    for entry in _list(pins):
        if isinstance(entry, dict):
            value = next((entry[k] for k in ("PIN", "pin", "code") if entry.get(k)), None)
            serial = as_str(entry.get("serial") or entry.get("serialNumber"))
        else:
            value, serial = entry, None
        if value is not None and value != "":
            codes.append(DigitalCode(code=str(value), serial=serial))
    return codes


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


def _first(body: Any, *names: str) -> Any:
    if not isinstance(body, dict):
        return None
    return next((body[n] for n in names if body.get(n) is not None), None)


def _ttl(expires_in: Any, jwt: str) -> float | None:
    """Seconds a token lives: the answer's ``expiresIn``, else the JWT's own ``exp`` claim."""
    try:
        if expires_in is not None:
            return float(expires_in)
        payload = jwt.split(".")[1]
        claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"]) - time.time()
    except (ValueError, TypeError, KeyError, IndexError, orjson.JSONDecodeError):
        return None


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
