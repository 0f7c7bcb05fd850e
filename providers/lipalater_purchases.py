"""Lipa Later core v2 purchases (seed 001): one purchase per financed item, grouped by order_id.

Quirks kept here and nowhere else:
- OAuth2 client credentials: ``POST /api/v2/oauth/token``, form-encoded, scope "read write";
  the token is cached for its ``expires_in`` (a number, or a numeric string: "7198") and
  fetched again once on a 401. Or a static token.
- One purchase is one financed item and ``order_id`` is the merchant's order. The API cannot
  list an order's purchases, so an order's key names them ("113~<id>,<id>") and order reads
  need no other state; ``orderByNumber`` uses an in-process index that ``placeOrder`` fills
  (lost on restart), and also takes a purchase id as the number.
- Create sends what the page's example sends, not what its table says: ``order_id`` and
  ``item_value`` as strings ("113", "50000"), ``item_description`` (the table spells it
  ``item_decription``), ``item_topup``/``topup_ref`` as "". Answers hold ``item_value`` as a
  number (50000.0) and ``facility_plan`` as 0.
- Update is ``PUT /api/v2/purchases`` with ``items[{id, facility_status}]`` in the body, as
  the page's example sends it (its heading puts the id in the path). Cancel is a DELETE per
  purchase: an order's cancel can partly fail, so it reads the purchases first and sends a
  DELETE only to those not cancelled yet, and asking again finishes what was left. A DELETE's
  2xx must be the page's answer (``data: {message}``), a 204 or empty: anything else leaves
  that purchase's outcome unknown.
- Errors are ``{type, title, status, detail}``; validation errors carry ``details`` (field ->
  messages) instead. The token endpoint answers OAuth's ``{error, error_description}``.
- No currency is sent or answered: the API serves Kenya, so KES unless configured.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from providers import lipalater_purchases_map as m
from providers.auth import Token, TokenCache
from providers.base import BaseProvider, Batch, Capability, settled
from providers.errors import (
    BadResponse,
    InvalidRequest,
    NotFound,
    ProviderError,
    Rejected,
    ServerError,
    StatusError,
)
from providers.http import MAY_HAVE_APPLIED, HttpClient, Upstream, UpstreamResponse
from providers.lipalater_purchases_request import purchases_request
from providers.model import (
    ItemOutcome,
    NewOrder,
    Order,
    OrderItem,
    OrderRef,
    ProviderName,
)
from providers.settings import ProviderSettings
from providers.values import decimal, given_text

T = TypeVar("T")

API = "/api/v2"
TOKEN = f"{API}/oauth/token"
PURCHASES = f"{API}/purchases"

Record = dict[str, Any]
Fetched = tuple[Record, str] | None  # (purchase, its order_id) or not found


# The settings Lipa Later purchases reads besides the common ones (providers/settings.py).
SETTINGS = frozenset({"client_id", "client_secret", "scope", "order_index_size"})


def from_settings(settings: ProviderSettings, http: HttpClient) -> LipaLaterPurchases:
    if not settings.token:
        settings.require("client_id", "client_secret")
    return LipaLaterPurchases(settings, http.upstream(settings.upstream))


@dataclass(slots=True)
class _Placed:
    purchase_ids: list[str]
    customer_id: str | None


class OrderIndex:
    """order_id -> the purchases this process placed for it (bounded, oldest dropped first)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.orders: OrderedDict[str, _Placed] = OrderedDict()
        self.order_of: dict[str, str] = {}  # purchase id -> order_id

    def add(self, order_id: str, purchase_ids: list[str], customer_id: str | None) -> None:
        placed = self.orders.pop(order_id, None) or _Placed([], customer_id)
        placed.purchase_ids = list(dict.fromkeys(placed.purchase_ids + purchase_ids))
        placed.customer_id = customer_id or placed.customer_id
        self.orders[order_id] = placed
        self.order_of.update(dict.fromkeys(purchase_ids, order_id))
        while len(self.orders) > self.size:
            _, dropped = self.orders.popitem(last=False)
            for pid in dropped.purchase_ids:
                self.order_of.pop(pid, None)

    def key_of(self, order_id: str) -> str | None:
        placed = self.orders.get(order_id)
        return None if placed is None else m.order_key(order_id, placed.purchase_ids)

    def customer_of(self, order_id: str) -> str | None:
        placed = self.orders.get(order_id)
        return None if placed is None else placed.customer_id


class LipaLaterPurchases(BaseProvider):
    name = ProviderName.LIPALATER_PURCHASES
    capabilities = frozenset(
        {
            Capability.READ_ORDER,
            Capability.PLACE_ORDER,
            Capability.CANCEL_ORDER,
            Capability.UPDATE_ITEM_STATUS,
        }
    )

    def __init__(self, settings: ProviderSettings, upstream: Upstream) -> None:
        self.settings = settings
        self.up = upstream
        self.currency = (settings.currency or "KES").upper()
        self._static = settings.token
        self._client_id = settings.get("client_id")
        self._client_secret = settings.secret("client_secret")
        self._scope = settings.get("scope", "read write")
        self._tokens = TokenCache(self._fetch_token, provider=self.name.value)
        self.index = OrderIndex(settings.number("order_index_size", 10_000))

    def public_settings(self) -> dict[str, Any]:
        return self.settings.public() | {"currency": self.currency}

    # -- transport ----------------------------------------------------------------------

    async def _fetch_token(self) -> Token:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._client_id or "",
            "client_secret": self._client_secret or "",
            "scope": self._scope or "read write",
        }
        response = await self.up.request(
            "POST", TOKEN, data=form, headers={"Accept": "application/json"}
        )
        if response.status >= 400:
            raise self._error(response)
        body = response.json()
        token = given_text(body.get("access_token")) if isinstance(body, dict) else None
        if token is None:
            raise BadResponse(self.name.value, "token answer without access_token")
        expires = decimal(body.get("expires_in"))  # 7198, or "7198" as some servers send it
        seconds = float(expires) if expires is not None and expires > 0 else None
        return TokenCache.expiring_in(token, seconds)

    async def _call(self, method: str, path: str, json: Any = None) -> UpstreamResponse:
        # The page's curls send Content-Type: application/json on every call, GETs included.
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        response = await self._tokens.send(
            lambda token: self.up.request(
                method, path, json=json, headers=headers | {"Authorization": f"Bearer {token}"}
            ),
            static=self._static,
        )
        if response.status >= 400:
            raise self._error(response)
        return response

    def _error(self, response: UpstreamResponse) -> StatusError:
        try:
            body = response.json()
        except BadResponse:
            body = None
        message, code, field = m.problem(body)
        return response.error(message or f"HTTP {response.status}", code=code, field=field)

    def _data(self, response: UpstreamResponse, kind: type[T]) -> tuple[T, str | None]:
        """The envelope's ``data`` (of ``kind``) and its ``order_id``; anything else is bad."""
        body = response.json()
        data = body.get("data") if isinstance(body, dict) else None
        records = data if isinstance(data, list) else [data]
        # An empty list answers nothing: a PUT's `data: []` was an internal error, a POST's an
        # order of no purchases recorded as placed.
        if (
            not isinstance(data, kind)
            or not records
            or not all(isinstance(r, dict) and r.get("id") for r in records)
        ):
            raise response.bad(f"unexpected purchases answer ({response.status})")
        order_id = body.get("order_id") if isinstance(body, dict) else None
        return data, None if order_id is None else str(order_id)

    # -- reads -------------------------------------------------------------------------

    async def _get(self, purchase_id: str) -> Fetched:
        if not _is_purchase_id(purchase_id):
            return None  # not a purchase id: nothing to ask, and nothing put in the path
        try:
            response = await self._call("GET", f"{PURCHASES}/{purchase_id}")
        except NotFound:
            return None
        record, order_id = self._data(response, dict)
        return record, order_id or self.index.order_of.get(purchase_id, "")

    async def _get_many(self, purchase_ids: Sequence[str]) -> dict[str, Fetched | Exception]:
        """Each purchase once, all at the same time: the API has no batch read."""
        unique = list(dict.fromkeys(purchase_ids))
        return dict(zip(unique, await settled(self._get(p) for p in unique), strict=True))

    def _item_order_key(self, order_id: str, purchase_id: str) -> str:
        """The key of the order a purchase read on its own belongs to, as far as we know it."""
        if not order_id:
            return ""
        known = self.index.key_of(order_id)
        if known is not None and purchase_id in self.index.orders[order_id].purchase_ids:
            return known
        return m.order_key(order_id, [purchase_id])

    async def items_by_key(self, keys: Sequence[str]) -> Batch[OrderItem]:
        fetched = await self._get_many(keys)
        answers: Batch[OrderItem] = []
        for key in keys:
            found = fetched[key]
            if found is None or isinstance(found, Exception):
                answers.append(found)
            else:
                record, order_id = found
                order_key = self._item_order_key(order_id, key)
                answers.append(m.item(record, order_key, self.currency))
        return answers

    async def orders_by_key(self, keys: Sequence[str]) -> Batch[Order]:
        parsed = {k: _parse_order_key(k) for k in keys}
        fetched = await self._get_many([p for v in parsed.values() if v for p in v[1]])
        answers: Batch[Order] = []
        for key in keys:
            entry = parsed[key]
            if entry is None:
                answers.append(None)
                continue
            order_id, ids = entry
            failed = next((f for i in ids if isinstance(f := fetched[i], Exception)), None)
            if failed is not None:
                answers.append(failed)
                continue
            # A purchase of another order named in a forged key is not part of this one.
            found = [f for i in ids if isinstance(f := fetched[i], tuple)]
            records = [record for record, of in found if of in ("", order_id)]
            answers.append(
                m.order(key, order_id, records, self.currency, self.index.customer_of(order_id))
                if records
                else None
            )
        return answers

    async def items_by_order(self, order_keys: Sequence[str]) -> Batch[list[OrderItem]]:
        orders = await self.orders_by_key(order_keys)
        return [o if o is None or isinstance(o, Exception) else list(o.items or ()) for o in orders]

    async def orders_by_ref(self, refs: Sequence[OrderRef]) -> Batch[Order]:
        """By the merchant's order_id (placed through this process) or by a purchase id."""
        numbers = [r.number for r in refs]
        keys: dict[str, str] = {}
        for number in numbers:
            order_id = number if number in self.index.orders else self.index.order_of.get(number)
            if order_id is not None:
                keys[number] = self.index.key_of(order_id) or ""
        unknown = [n for n in numbers if n not in keys]
        known_orders, fetched = await asyncio.gather(
            self.orders_by_key(list(dict.fromkeys(keys.values()))), self._get_many(unknown)
        )
        by_key = dict(zip(dict.fromkeys(keys.values()), known_orders, strict=True))
        answers: Batch[Order] = []
        for number in numbers:
            if number in keys:
                answers.append(by_key[keys[number]])
                continue
            found = fetched[number]
            if isinstance(found, Exception):
                answers.append(found)
            elif found is None:
                answers.append(
                    NotFound(
                        self.name.value,
                        f"no order or purchase {number!r}: this API cannot look orders up by "
                        "number, so only orders placed through this gateway since it started, "
                        "or a purchase id, can be found",
                        http_status=404,
                    )
                )
            else:
                record, order_id = found
                key = m.order_key(order_id, [number])
                answers.append(m.order(key, order_id, [record], self.currency))
        return answers

    # -- writes ------------------------------------------------------------------------

    async def place_order(self, order: NewOrder) -> Order:
        body, lines = purchases_request(order, self.currency)
        try:
            response = await self._call("POST", PURCHASES, json=body)
        except StatusError as exc:
            exc.field = m.input_field(exc.field, lines)
            raise
        records, order_id = self._data(response, list)
        order_id = order_id or body["order_id"]
        ids = [str(r["id"]) for r in records]
        self.index.add(order_id, ids, order.customer_id)
        key = m.order_key(order_id, ids)
        return m.order(key, order_id, records, self.currency, order.customer_id)

    def _invalid(self, message: str, *field: str) -> InvalidRequest:
        return InvalidRequest(self.name.value, message, field=list(field))

    async def update_item_status(self, item_key: str, status: str) -> OrderItem:
        status = status.strip()
        if not status:
            raise self._invalid("status (a facility_status) is required", "status")
        if not _is_purchase_id(item_key):
            raise NotFound(self.name.value, f"no purchase {item_key!r}", http_status=404)
        body = {"items": [{"id": item_key, "facility_status": status}]}
        try:
            response = await self._call("PUT", PURCHASES, json=body)
        except StatusError as exc:
            if exc.field:
                exc.field = ["input", "status" if exc.field[-1] == "facility_status" else "itemId"]
            raise
        records, order_id = self._data(response, list)
        record = next((r for r in records if r["id"] == item_key), records[0])
        order_id = order_id or self.index.order_of.get(item_key, "")
        return m.item(record, self._item_order_key(order_id, item_key), self.currency)

    async def cancel_order(self, order_key: str, reason: str | None) -> list[ItemOutcome]:
        """DELETE every purchase of the order still open, at once; say per purchase what failed.

        A cancel can partly fail (a DELETE each), so the purchases are read first: one already
        cancelled (by an earlier cancel of the order) counts as done and is sent nothing, and
        asking again after a partial failure finishes the order instead of answering a refusal
        ("already cancelled") for every purchase the first call did cancel. Reading is what the
        page supports: its GET shows each purchase's ``facility_status``, and it shows no answer
        of the DELETE but success, so nothing documents how a second DELETE is refused. A read
        that fails fails the cancel before anything is sent.

        ``reason`` is not sent: the DELETE takes no body. If every DELETE sent failed for a
        reason other than a refusal (auth, 5xx, transport), that error is raised instead.
        """
        parsed = _parse_order_key(order_key)
        if parsed is None:
            raise NotFound(self.name.value, "no such order", http_status=404)
        ids = parsed[1]
        fetched = await self._get_many(ids)
        unread = next((f for f in fetched.values() if isinstance(f, Exception)), None)
        if unread is not None:
            raise unread
        open_ids = [p for p in ids if not _is_cancelled(fetched[p])]
        sent = await settled(self._cancel(p) for p in open_ids)
        results = dict(zip(open_ids, sent, strict=True))
        failures = [r for r in sent if isinstance(r, Exception)]
        if (
            failures
            and len(failures) == len(open_ids)
            and not any(isinstance(f, NotFound | Rejected) for f in failures)
        ):
            raise failures[0]
        return [self._cancelled(p, results.get(p)) for p in ids]

    async def _cancel(self, purchase_id: str) -> None:
        """DELETE one purchase. The page answers ``{apiVersion, status, data: {message}}``
        ("Item with ID ... was successfully cancelled", naming another purchase than the one in
        its path, so the id is not compared); a 204 or an empty body is taken too, and so is
        ``data`` that is this purchase. Anything else under a 2xx (``{}``, ``[]``) is no answer
        to the cancel: ``BadResponse``, that purchase's outcome unknown."""
        response = await self._call("DELETE", f"{PURCHASES}/{purchase_id}")
        if response.status == 204 or not response.body.strip():
            return
        if _confirms_cancel(response.json(), purchase_id):
            return
        raise response.bad(f"unexpected answer to a purchase's cancel ({response.status})")

    def _cancelled(self, purchase_id: str, result: object) -> ItemOutcome:
        """What one purchase's cancel came to (``None``: it was cancelled already). A failure
        that is no refusal may have left it open or cancelled it: asked again, the cancel reads
        it and sends a DELETE only if it is still open, so its code says to ask again."""
        if not isinstance(result, Exception):
            return ItemOutcome(purchase_id, ok=True)
        code = (
            "NOT_FOUND"
            if isinstance(result, NotFound)
            else "REJECTED_BY_PROVIDER"
            if isinstance(result, Rejected)
            else "OUTCOME_UNKNOWN"
        )
        text = str(result.message if isinstance(result, ProviderError) else result)
        if isinstance(result, ServerError | BadResponse) and result.retryable:
            # answered, so maybe applied (a redirect, not retryable, applied nothing)
            text += MAY_HAVE_APPLIED
        if code == "OUTCOME_UNKNOWN":
            text += "; cancelling the order again cancels this purchase if it is still open"
        return ItemOutcome(purchase_id, ok=False, code=code, message=f"{self.name.value}: {text}")


def _confirms_cancel(body: Any, purchase_id: str) -> bool:
    """Whether a DELETE's 2xx body is the page's answer: ``data`` holding a ``message``, or
    this purchase's record."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        return False
    if "id" in data:
        return given_text(data["id"]) == purchase_id
    message = data.get("message")
    return isinstance(message, str) and bool(message.strip())


def _is_cancelled(fetched: Fetched | Exception) -> bool:
    """Whether a purchase read before a cancel is cancelled already; one the provider does not
    know is sent its DELETE, whose 404 says so."""
    return isinstance(fetched, tuple) and m.cancelled(fetched[0])


def _is_purchase_id(value: str) -> bool:
    """Whether ``value`` has a purchase id's shape, and so may go into ``/purchases/{id}``:
    letters, digits, ``_`` and ``-`` (no ``.``, ``/``, ``%``, ``?`` or ``#`` to move the route).
    A full match: the pattern's ``$`` takes a trailing newline, which the URL parser drops."""
    return m.PURCHASE_ID.fullmatch(value) is not None


def _parse_order_key(key: str) -> tuple[str, list[str]] | None:
    """``(order_id, purchase ids)`` of an order key whose every id has a purchase id's shape;
    ``None`` for any other (a forged key names no order, and nothing is sent)."""
    parsed = m.parse_order_key(key)
    if parsed is None or not all(map(_is_purchase_id, parsed[1])):
        return None
    return parsed
