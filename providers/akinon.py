"""Akinon integration API (seed 004): orders, order items, cancellation plans, addresses.

Quirks kept here and nowhere else:
- Auth is a login for a key sent as ``Authorization: Token <key>`` (the official SDK), logging
  in again once on a 401; or a static bearer token, which is sent in both spellings the page
  shows (``Authentication: Bearer`` on its reads, ``Authorization: Bearer`` on reject).
- Every request carries ``Content-Type: application/json``: the page lists 415 for a missing
  one, and its curls send it on GETs too.
- Lists are ``page`` (from 1) and ``limit``, following ``next``; batches use ``__in`` filters
  (seen in the provider's own code, not on this page), so a batch checks that the filter was
  honoured and falls back to one call per key where it was not.
- Amounts are decimal strings, currency codes lower case ("629.00", "usd"); statuses are the
  page's 100..900 codes.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar

from providers.auth import TokenCache
from providers.base import BaseProvider, Batch, Capability
from providers.errors import BadResponse, NotFound, StatusError
from providers.http import HttpClient, Upstream, UpstreamResponse
from providers.lru import Lru
from providers.model import (
    Address,
    AddressFilter,
    CancellationPlan,
    CancellationPlanFilter,
    Money,
    Order,
    OrderFilter,
    OrderItem,
    OrderRef,
    OrderStatus,
    Page,
    PaymentStatus,
    ProviderName,
    Tracking,
    map_enum,
)
from providers.settings import ProviderSettings
from providers.values import as_str, decimal

API = "/api/i1"

# The page's table: "Approve Waiting > 100, Approved > 200, ... Rejected > 900".
STATUS = {
    100: OrderStatus.PENDING,
    200: OrderStatus.APPROVED,
    300: OrderStatus.PROCESSING,
    400: OrderStatus.PACKAGED,
    500: OrderStatus.SHIPPED,
    600: OrderStatus.DELIVERED,
    700: OrderStatus.CANCELLATION_REQUESTED,
    800: OrderStatus.CANCELLED,
    900: OrderStatus.REJECTED,
}
STATUS_CODE = {status: code for code, status in STATUS.items()}

Record = dict[str, Any]
T = TypeVar("T")
_CURRENCY_MEMORY = 50_000  # orders whose currency is remembered (about 5 MB at most)


def from_settings(settings: ProviderSettings, http: HttpClient) -> Akinon:
    if not settings.token:
        settings.require("username", "password")
    return Akinon(settings, http.upstream(settings.upstream))


class Akinon(BaseProvider):
    name = ProviderName.AKINON
    capabilities = frozenset(
        {
            Capability.READ_ORDER,
            Capability.LIST_ORDERS,
            Capability.REJECT_ORDER_ITEM,
            Capability.CANCELLATION_PLANS,
            Capability.CUSTOMER_ADDRESSES,
        }
    )

    def __init__(self, settings: ProviderSettings, upstream: Upstream) -> None:
        self.settings = settings
        self.up = upstream
        self.page_size = int(settings.values.get("page_size", 100))
        self._static = settings.token
        self._username = settings.get("username")
        self._password = settings.secret("password")
        self._tokens = TokenCache(self._login)
        # Paths whose ``__in`` filter the provider ignored: batch those one key at a time.
        self._no_in: set[str] = set()
        # Order id -> currency, from every order read. A cancellation plan carries amounts but
        # no currency: it takes its order's. An order's currency never changes.
        self._currency_of: Lru[str, str] = Lru(_CURRENCY_MEMORY)
        # A record that names no currency is in the configured one (US dollars unless set).
        self._default_currency = (settings.currency or "USD").upper()

    def public_settings(self) -> dict[str, Any]:
        return self.settings.public()

    # -- transport ----------------------------------------------------------------------

    async def _login(self) -> Any:
        response = await self.up.request(
            "POST",
            f"{API}/auth/login/",
            json={"username": self._username, "password": self._password},
        )
        body = response.json()
        if response.status != 200 or not isinstance(body, dict) or "key" not in body:
            raise self._error(response)
        return TokenCache.expiring_in(str(body["key"]), None)

    def _headers(self, token: str) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._static:
            value = f"Bearer {token}"
            return headers | {"Authorization": value, "Authentication": value}
        return headers | {"Authorization": f"Token {token}"}

    async def _call(
        self, method: str, path: str, params: dict[str, str] | None = None
    ) -> UpstreamResponse:
        # The SDK's way: a 401 to a login key means log in again, once.
        response = await self._tokens.send(
            lambda token: self.up.request(
                method, path, params=params, headers=self._headers(token)
            ),
            static=self._static,
        )
        if response.status >= 400:
            raise self._error(response)
        return response

    def _error(self, response: UpstreamResponse) -> StatusError:
        """Akinon's error bodies: ``{detail}``, ``{non_field_errors: [...]}`` or per field."""
        try:
            body = response.json()
        except BadResponse:
            body = None
        message, code, field = f"HTTP {response.status}", None, None
        if isinstance(body, dict):
            code = str(body["code"]) if body.get("code") is not None else None
            if "detail" in body:
                message = str(body["detail"])
            elif "non_field_errors" in body:
                message = "; ".join(map(str, _as_list(body["non_field_errors"])))
            else:
                for key, value in body.items():
                    if key != "code":
                        field, message = [key], f"{key}: {'; '.join(map(str, _as_list(value)))}"
                        break
        return response.error(message, code=code, field=field)

    async def _get_page(self, path: str, params: dict[str, str] | None) -> Record:
        body = (await self._call("GET", path, params)).json()
        if not isinstance(body, dict) or not isinstance(body.get("results"), list):
            raise BadResponse(self.name.value, f"unexpected list body from {_short(path)}")
        return body

    async def _list(
        self, path: str, params: dict[str, str], offset: int, limit: int
    ) -> tuple[list[Record], int]:
        """Records ``offset .. offset+limit`` and the total count, in as few pages as can be."""
        size = max(1, min(limit, self.page_size))
        skip = offset % size
        query: dict[str, str] | None = params | {
            "page": str(offset // size + 1),
            "limit": str(size),
        }
        url = path
        results: list[Record] = []
        try:
            while True:
                body = await self._get_page(url, query)
                results.extend(body["results"])
                if len(results) - skip >= limit or not body.get("next"):
                    break
                url, query = str(body["next"]), None
        except NotFound:
            if offset == 0:
                raise
            # Past the last page ("Invalid page."): an empty page, and the count from page 1.
            body = await self._get_page(path, params | {"page": "1", "limit": "1"})
            return [], int(body.get("count", 0))
        return results[skip : skip + limit], int(body.get("count", len(results)))

    async def _all(self, path: str, params: dict[str, str], read: Callable[[Record], T]) -> list[T]:
        """Every record matching ``params``, following ``next``, each one through ``read``.

        A page is read into the domain on the event loop's next turn, while the request for the
        next page is on its way (W3's 50 orders have two pages of items), not after it.
        """
        results: list[T] = []
        unread: deque[list[Record]] = deque()
        failed: list[Exception] = []

        def read_unread() -> None:
            while unread and not failed:
                try:
                    results.extend(map(read, unread.popleft()))
                except Exception as exc:  # noqa: BLE001 - raised below, in this task
                    failed.append(exc)

        body = await self._get_page(path, params | {"limit": str(self.page_size)})
        while link := body.get("next"):
            unread.append(body["results"])
            asyncio.get_running_loop().call_soon(read_unread)
            body = await self._get_page(str(link), None)
            if failed:
                raise failed[0]
        unread.append(body["results"])
        read_unread()  # whatever the loop has not read yet, in order, and the last page
        if failed:
            raise failed[0]
        return results

    async def _where_in(
        self,
        path: str,
        field: str,
        keys: Sequence[str],
        one_param: str,
        read: Callable[[Record], T],
    ) -> list[T]:
        """Records whose ``field`` is one of ``keys``, through ``read``: one ``__in`` query, or
        one per key.

        Akinon refuses a whole filter over one malformed uuid (400), so keys that cannot exist
        are dropped first: they answer "not found" without failing their neighbours.
        """
        if field in ("id", "order"):
            keys = [k for k in keys if _is_uuid(k)]
        if not keys:
            return []
        wanted = set(keys)

        def honoured(record: Record) -> T:
            if str(record.get(field)) not in wanted:
                raise _FilterIgnored
            return read(record)

        if path not in self._no_in:
            try:
                return await self._all(
                    path, {f"{one_param}__in": ",".join(dict.fromkeys(keys))}, honoured
                )
            except _FilterIgnored:  # it answered other records
                self._no_in.add(path)
        found: list[T] = []
        for key in dict.fromkeys(keys):
            found.extend(await self._all(path, {one_param: key}, read))
        return found

    # -- reads -------------------------------------------------------------------------

    async def orders_by_key(self, keys: Sequence[str]) -> Batch[Order]:
        found = await self._where_in(f"{API}/orders/", "id", keys, "id", self._order)
        by_key = {o.key: o for o in found}
        return [by_key.get(k) for k in keys]

    async def orders_by_ref(self, refs: Sequence[OrderRef]) -> Batch[Order]:
        numbers = [r.number for r in refs]
        found = await self._where_in(f"{API}/orders/", "number", numbers, "number", self._order)
        by_number = {o.number: o for o in found}
        return [by_number.get(n) for n in numbers]

    async def list_orders(self, flt: OrderFilter, offset: int, limit: int) -> Page[Order]:
        params = _order_params(flt)
        if params is None:  # a status with no Akinon code: nothing can match
            return Page([], 0, offset, False)
        records, count = await self._list(f"{API}/orders/", params, offset, limit)
        orders = [self._order(r) for r in records]
        return Page(orders, count, offset, offset + len(orders) < count)

    async def items_by_order(self, order_keys: Sequence[str]) -> Batch[list[OrderItem]]:
        path = f"{API}/order-items/"
        grouped: dict[str, list[OrderItem]] = {k: [] for k in order_keys}
        for item in await self._where_in(path, "order", order_keys, "order", self._item):
            grouped.setdefault(item.order_key, []).append(item)
        return [grouped[k] for k in order_keys]

    async def items_by_key(self, keys: Sequence[str]) -> Batch[OrderItem]:
        found = await self._where_in(f"{API}/order-items/", "id", keys, "id", self._item)
        by_key = {i.key: i for i in found}
        return [by_key.get(k) for k in keys]

    async def addresses_by_key(self, keys: Sequence[str]) -> Batch[Address]:
        path = f"{API}/customer-addresses/"
        by_key = {a.key: a for a in await self._where_in(path, "id", keys, "id", self._address)}
        return [by_key.get(k) for k in keys]

    async def plans_by_order(self, order_keys: Sequence[str]) -> Batch[list[CancellationPlan]]:
        path = f"{API}/cancellation-plans/"
        records = await self._where_in(path, "order", order_keys, "order", _record)
        grouped: dict[str, list[CancellationPlan]] = {k: [] for k in order_keys}
        for plan in await self._plans(records):
            grouped.setdefault(plan.order_key, []).append(plan)
        return [grouped[k] for k in order_keys]

    async def plans_by_key(self, keys: Sequence[str]) -> Batch[CancellationPlan]:
        records = await self._where_in(f"{API}/cancellation-plans/", "id", keys, "id", _record)
        by_key = {p.key: p for p in await self._plans(records)}
        return [by_key.get(k) for k in keys]

    async def _plans(self, records: list[Record]) -> list[CancellationPlan]:
        """Plans in their orders' currencies; orders not read yet are read in one call."""
        unknown = {str(r.get("order")) for r in records} - self._currency_of.keys()
        if unknown:  # reading an order records its currency
            await self._where_in(f"{API}/orders/", "id", sorted(unknown), "id", self._order)
        return [self._plan(r) for r in records]

    async def list_cancellation_plans(
        self, flt: CancellationPlanFilter, offset: int, limit: int
    ) -> Page[CancellationPlan]:
        params = _drop_none(
            {
                "order": flt.order_key,
                "order__number": flt.order_number,
                "status": flt.status,
                "plan_type": flt.plan_type,
            }
        )
        records, count = await self._list(f"{API}/cancellation-plans/", params, offset, limit)
        plans = await self._plans(records)
        return Page(plans, count, offset, offset + len(plans) < count)

    async def list_addresses(self, flt: AddressFilter, offset: int, limit: int) -> Page[Address]:
        params = _drop_none(
            {
                "email": flt.email,
                "phone_number": flt.phone,
                "first_name": flt.first_name,
                "last_name": flt.last_name,
                "postcode": flt.postcode,
                "is_active": None if flt.is_active is None else str(flt.is_active).lower(),
            }
        )
        records, count = await self._list(f"{API}/customer-addresses/", params, offset, limit)
        addresses = [self._address(r) for r in records]
        return Page(addresses, count, offset, offset + len(addresses) < count)

    # -- writes ------------------------------------------------------------------------

    async def reject_order_item(self, item_key: str) -> None:
        # 204 No Content on success; a refusal is a 400/406 that _call raises as Rejected.
        await self._call("POST", f"{API}/order-items/{item_key}/reject/")

    # -- payload -> domain -------------------------------------------------------------

    def _currency(self, named: Any) -> str:
        return str(named).upper() if named else self._default_currency

    def _order(self, r: Record) -> Order:
        currency = self._currency(r.get("currency"))
        key = str(r["id"])
        self._currency_of.keep(key, currency)
        total = Money.of(r.get("amount"), currency)
        refunded = Money.of(r.get("refund_amount"), currency)
        return Order(
            provider=self.name,
            key=key,
            number=str(r.get("number")),
            status=map_enum(STATUS, r.get("status"), OrderStatus.UNKNOWN),
            provider_status=as_str(r.get("status")),
            payment_status=_payment_status(total, refunded),
            placed_at=_datetime(r.get("date_placed")),
            currency=currency,
            total=total,
            discount=Money.of(r.get("discount_amount"), currency),
            shipping=Money.of(r.get("shipping_amount"), currency),
            refunded=refunded,
            shipping_address_key=as_str(r.get("shipping_address")),
            billing_address_key=as_str(r.get("billing_address")),
            invoice_number=as_str(r.get("invoice_number")),
            extra={
                "cancel_status": r.get("cancel_status"),
                "tracking_number": r.get("tracking_number"),
                "shipping_company": r.get("shipping_company"),
            },
            raw=r,
        )

    def _item(self, r: Record) -> OrderItem:
        currency = self._currency(r.get("price_currency"))
        price = Money.of(r.get("price"), currency)
        return OrderItem(
            provider=self.name,
            key=str(r["id"]),
            order_key=str(r.get("order")),
            sku=as_str(r.get("sku")),
            quantity=1,  # an Akinon order item is one unit
            unit_price=price,
            total=price,
            discount=Money.of(r.get("discount_amount"), currency),
            tax_rate=decimal(r.get("tax_rate")),
            status=map_enum(STATUS, r.get("status"), OrderStatus.UNKNOWN),
            provider_status=as_str(r.get("status")),
            tracking=Tracking(
                number=as_str(r.get("tracking_number")),
                company=as_str(r.get("shipping_company")),
                shipped_at=_datetime(r.get("shipped_date")),
                delivered_at=_datetime(r.get("delivered_date")),
                estimated_delivery=_datetime(r.get("estimated_delivery_date")),
            ),
            raw=r,
        )

    def _plan(self, r: Record) -> CancellationPlan:
        currency = self._currency_of.get(str(r.get("order")), self._default_currency)
        return CancellationPlan(
            provider=self.name,
            key=str(r["id"]),
            order_key=str(r.get("order")),
            item_keys=[str(i) for i in r.get("order_items") or []],
            plan_type=as_str(r.get("plan_type")),
            status=as_str(r.get("status")),
            refund=Money.of(r.get("refund_amount"), currency),
            shipping_refund=Money.of(r.get("shipping_refund_amount"), currency),
            discount_refund=Money.of(r.get("discount_refund_amount"), currency),
            invoice_number=as_str(r.get("invoice_number")),
            raw=r,
        )

    def _address(self, r: Record) -> Address:
        return Address(
            provider=self.name,
            key=str(r["id"]),
            first_name=as_str(r.get("first_name")),
            last_name=as_str(r.get("last_name")),
            email=as_str(r.get("email")),
            phone=as_str(r.get("phone_number")),
            line=as_str(r.get("line")),
            postcode=as_str(r.get("postcode")),
            city=as_str(r.get("city")),
            district=as_str(r.get("district")),
            township=as_str(r.get("township")),
            country=as_str(r.get("country")),
            company_name=as_str(r.get("company_name")),
            tax_office=as_str(r.get("tax_office")),
            tax_number=as_str(r.get("tax_no")),
            identity_number=as_str(r.get("identity_number")),
            is_active=r.get("is_active"),
            notes=as_str(r.get("notes")),
            raw=r,
        )


class _FilterIgnored(Exception):
    """An ``__in`` query answered a record it did not ask for: the filter was not applied."""


def _record(record: Record) -> Record:
    return record


def _order_params(flt: OrderFilter) -> dict[str, str] | None:
    params = _drop_none(
        {
            "number": flt.number,
            "number__icontains": flt.number_contains,
            "date_placed__gte": flt.placed_after.isoformat() if flt.placed_after else None,
            "date_placed__lte": flt.placed_before.isoformat() if flt.placed_before else None,
            "amount__gte": None if flt.min_amount is None else str(flt.min_amount),
            "amount__lte": None if flt.max_amount is None else str(flt.max_amount),
            "currency": flt.currency.lower() if flt.currency else None,
        }
    )
    if flt.statuses:
        codes = [str(STATUS_CODE[s]) for s in flt.statuses if s in STATUS_CODE]
        if not codes:
            return None
        if len(codes) == 1:
            params["status"] = codes[0]
        else:
            params["status__in"] = ",".join(codes)
    return params


def _payment_status(total: Money | None, refunded: Money | None) -> PaymentStatus:
    """Akinon orders are paid when placed; refunds are the only payment news they carry."""
    if refunded is None or total is None or refunded.amount <= 0:
        return PaymentStatus.PAID
    if refunded.amount >= total.amount:
        return PaymentStatus.REFUNDED
    return PaymentStatus.PARTIALLY_REFUNDED


@lru_cache(maxsize=4096)  # the same keys come back request after request
def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _drop_none(params: dict[str, str | None]) -> dict[str, str]:
    return {k: v for k, v in params.items() if v is not None}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _datetime(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _short(path: str) -> str:
    return path.split("?", 1)[0]
