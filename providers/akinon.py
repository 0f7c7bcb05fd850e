"""Akinon integration API (seed 004): orders, order items, cancellation plans, addresses.

Quirks kept here and nowhere else:
- Auth is a login for a key sent as ``Authorization: Token <key>`` (the official SDK), logging
  in again once on a 401; or a static bearer token, which is sent in both spellings the page
  shows (``Authentication: Bearer`` on its reads, ``Authorization: Bearer`` on reject).
- Every request carries ``Content-Type: application/json``: the page lists 415 for a missing
  one, and its curls send it on GETs too.
- Lists are ``page`` (from 1) and ``limit``, following ``next``. A deployment cuts a ``limit``
  above its DRF ``max_page_size`` without a word: a short page shows the cap, which is kept and
  numbers later pages (``_page_at``). Batches use ``__in`` filters
  (seen in the provider's own code, not on this page), so a batch checks that the filter was
  honoured and falls back to one call per key where it was not, with the page's own one-value
  filter where it has one; those answers are checked too (``_where_in``).
- A refused login (400 ``{non_field_errors: [...]}``) is the gateway's credentials failing:
  ``AuthFailed``, never the caller's ``Rejected``.
- Amounts are decimal strings, currency codes lower case ("629.00", "usd"); statuses are the
  page's 100..900 codes.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple, TypeVar

from providers.auth import TokenCache
from providers.base import BaseProvider, Batch, Capability
from providers.errors import (
    AuthFailed,
    BadResponse,
    InvalidRequest,
    NotFound,
    RateLimited,
    StatusError,
    UnsupportedOperation,
)
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
from providers.values import as_str, count, decimal, given_id, shown

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
# How long a deployment is believed to ignore an ``__in`` filter once seen to (``_where_in``):
# a deployment that does costs one batch call more every five minutes; one answer that was
# wrong once costs batching five minutes at most, not the life of the process.
NO_IN_MEMORY_S = 300.0
_ORDER_MEMORY = 50_000  # orders whose currency and number are remembered (about 20 MB at most)


class _Seen(NamedTuple):
    """What is kept of an order once read: it never changes."""

    currency: str
    number: str


@dataclass(frozen=True)
class _Lookup:
    """One way to read records by one of their fields, in batches.

    ``field`` is matched in the answers; ``<field>__in`` is the batch filter (an inference, see
    PROVIDERS.md); ``single`` the one-value filter asked once per key when a deployment ignores
    the batch one: the page's own where it lists one, else ``id`` (a guess, checked like the
    rest). ``by_number``: ``single`` takes the order's number, not its id (the page lists
    ``order__number`` for order items, and no ``order``).
    """

    what: str
    path: str
    field: str
    single: str
    is_uuid: bool
    by_number: bool = False

    @property
    def batch(self) -> str:
        return f"{self.field}__in"

    def canonical(self, key: str) -> str | None:
        """``key`` as Akinon compares and answers it, or None if no record can have it.

        Akinon reads a uuid in any spelling ``uuid.UUID`` takes (upper case, braces) and
        answers it in lower case; it strips text (Django's forms do) and skips an empty
        filter, which would answer every record; it refuses a NUL (400).
        """
        if self.is_uuid:
            return _canonical_uuid(key)
        text = key.strip()
        return text if text and "\x00" not in text else None


ORDERS_BY_ID = _Lookup("orders", f"{API}/orders/", "id", "id", is_uuid=True)
ORDERS_BY_NUMBER = _Lookup("orders", f"{API}/orders/", "number", "number", is_uuid=False)
ITEMS_BY_ORDER = _Lookup(
    "order items", f"{API}/order-items/", "order", "order__number", is_uuid=True, by_number=True
)
ITEMS_BY_ID = _Lookup("order items", f"{API}/order-items/", "id", "id", is_uuid=True)
PLANS = f"{API}/cancellation-plans/"
PLANS_BY_ORDER = _Lookup("cancellation plans", PLANS, "order", "order", is_uuid=True)
PLANS_BY_ID = _Lookup("cancellation plans", PLANS, "id", "id", is_uuid=True)
ADDRESSES_BY_ID = _Lookup(
    "customer addresses", f"{API}/customer-addresses/", "id", "id", is_uuid=True
)


# The page's order and item fields that have no typed field, in ``details`` as Akinon sent
# them (decimals as text). The free-form ``extra_field`` is left in ``raw``.
ORDER_DETAILS = (
    "cancel_status",
    "tracking_number",
    "shipping_company",
    "shipping_refund_amount",
    "discount_refund_amount",
    "shipping_tax_rate",
    "invoice_date",
    "e_archive_url",
    "cargo_company",
    "has_gift_box",
    "gift_box_note",
    "language_code",
    "notes",
    "delivery_range",
    "shipping_option_slug",
    "shipping_interest_amount",
)
ITEM_DETAILS = ("cancel_status", "retail_price", "invoice_number", "invoice_date", "e_archive_url")

# The settings Akinon reads besides the common ones (providers/settings.py).
SETTINGS = frozenset({"username", "password", "page_size"})


def from_settings(settings: ProviderSettings, http: HttpClient) -> Akinon:
    if not settings.token:
        settings.require("username", "password")
    return Akinon(settings, http.upstream(settings.upstream_below(API)))


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
        self.page_size = settings.number("page_size", 100)
        self._static = settings.token
        self._username = settings.get("username")
        self._password = settings.secret("password")
        self._tokens = TokenCache(self._login, provider=self.name.value)
        # (path, ``<field>__in``) the provider was seen to ignore, and until when (monotonic
        # seconds) that is believed: those keys go one at a time (``_where_in``).
        self._no_in: dict[tuple[str, str], float] = {}
        # List path -> the most records this deployment was seen to put on a page (its DRF
        # max_page_size), when that is less than a ``limit`` asked for (``_page_at``).
        self._page_caps: dict[str, int] = {}
        # Order id -> its currency and number, from every order read. A cancellation plan
        # carries amounts but no currency: it takes its order's; an order's items are asked by
        # its number where ``order__in`` is ignored.
        self._seen: Lru[str, _Seen] = Lru(_ORDER_MEMORY)
        # A record that names no currency is in the configured one (US dollars unless set).
        self._default_currency = (settings.currency or "USD").upper()

    def public_settings(self) -> dict[str, Any]:
        return self.settings.public() | {"currency": self._default_currency}

    # -- transport ----------------------------------------------------------------------

    async def _login(self) -> Any:
        response = await self.up.request(
            "POST",
            f"{API}/auth/login/",
            json={"username": self._username, "password": self._password},
        )
        if response.status >= 400:  # before reading the body: a proxy's 502 is an HTML page
            raise self._login_error(response)
        body = response.json()
        if not isinstance(body, dict) or not body.get("key"):
            raise response.bad(f"a {response.status} login answer without a key")
        return TokenCache.expiring_in(str(body["key"]), None)

    def _login_error(self, response: UpstreamResponse) -> StatusError:
        """A login's refusal, in any 4xx (Akinon's is 400 ``{non_field_errors, code}``), is the
        configured username and password failing: ``AuthFailed``, not the caller's fault.
        Being throttled (429) or a server failing (5xx) keeps its own class."""
        error = self._error(response)
        if isinstance(error, RateLimited) or response.status >= 500:
            return error
        return AuthFailed(
            self.name.value,
            f"login refused: {error.message}",
            http_status=response.status,
            code=error.code,
            request_id=response.request_id,
        )

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
            code = shown(body["code"]) if body.get("code") is not None else None
            if "detail" in body:
                message = shown(body["detail"])
            elif "non_field_errors" in body:
                message = "; ".join(map(shown, _as_list(body["non_field_errors"])))
            else:
                for key, value in body.items():
                    if key != "code":
                        field, message = [key], f"{key}: {'; '.join(map(shown, _as_list(value)))}"
                        break
        return response.error(message, code=code, field=field)

    async def _get_page(self, path: str, params: dict[str, str] | None) -> Record:
        body = (await self._call("GET", path, params)).json()
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("results"), list)
            or not all(isinstance(r, dict) for r in body["results"])
            or type(body.get("count", 0)) is not int
        ):
            raise BadResponse(self.name.value, f"unexpected list body from {_short(path)}")
        return body

    def _read_all(self, read: Callable[[Record], T], records: list[Record]) -> list[T]:
        """``records`` through ``read``; a record it cannot read (an amount of "x", no id) is
        the provider's bad answer (PROVIDER_ERROR) rather than an internal error. Every read of
        records goes through here (``_all`` for the batches, the lists directly)."""
        try:
            return list(map(read, records))
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise BadResponse(
                self.name.value, f"a record it could not read ({type(exc).__name__})"
            ) from None

    async def _list(
        self,
        path: str,
        params: dict[str, str],
        offset: int,
        limit: int,
        check: Callable[[Record], object] | None = None,
    ) -> tuple[list[Record], int]:
        """Records ``offset .. offset+limit`` and the total count, in as few pages as can be.

        ``check`` sees every record answered (it raises for one the query should not have).
        """

        async def page(url: str, query: dict[str, str] | None) -> Record:
            body = await self._get_page(url, query)
            if check is not None:
                for record in body["results"]:
                    check(record)
            return body

        try:
            body, skip = await self._page_at(path, params, offset, limit, page)
            results: list[Record] = list(body["results"])
            seen: set[str] = set()
            while len(results) - skip < limit and (link := self._next(body, seen)):
                body = await page(link, None)
                results.extend(body["results"])
        except NotFound:
            if offset == 0:
                raise
            # Past the last page ("Invalid page."): an empty page, and the count from page 1.
            body = await page(path, params | {"page": "1", "limit": "1"})
            return [], self._total(body, 0)
        return results[skip : skip + limit], self._total(body, len(results))

    def _total(self, body: Record, default: int) -> int:
        """A list's ``count`` (an int, ``_get_page`` saw to that), or ``default`` without one.
        It is served as the connection's ``totalCount``, an Int: a count that cannot be one
        (3,000,000,000, -1) is the provider's bad answer, named, never an internal error."""
        total = count(body.get("count", default), self.name.value, "count", least=0)
        return default if total is None else total

    async def _page_at(
        self,
        path: str,
        params: dict[str, str],
        offset: int,
        limit: int,
        page: Callable[[str, dict[str, str] | None], Awaitable[Record]],
    ) -> tuple[Record, int]:
        """The page holding record ``offset``, and where in it that record is.

        Pages are numbered by the size asked for, but a deployment answers at most its DRF
        ``max_page_size`` without a word (``_page_cap``). A page showing a smaller cap teaches
        it for ``path``, for good; a page past the first, numbered by the size that was not
        honoured, holds other records and is asked again, numbered by the cap.
        """
        while True:
            size = max(1, min(limit, self.page_size, self._page_caps.get(path, limit)))
            number = offset // size + 1
            body = await page(path, params | {"page": str(number), "limit": str(size)})
            cap = _page_cap(body, number, size)
            if cap is not None:
                self._page_caps[path] = cap
            # Page 1 holds records 0.. whatever its size, and its ``next`` carries on from them.
            if cap is None or number == 1:
                return body, offset % size

    def _next(self, body: Record, seen: set[str]) -> str | None:
        """The page's ``next`` link, to follow; a link already followed, or one after a page of
        no records, is no way on (a ``next`` naming its own page made 14,000 calls for one
        query, until the provider changed)."""
        link = body.get("next")
        if not link:
            return None
        if not isinstance(link, str):
            raise BadResponse(self.name.value, "a next link that is no URL")
        if link in seen or not body["results"]:
            raise BadResponse(self.name.value, f"a next link that goes nowhere from {_short(link)}")
        seen.add(link)
        return link

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
                    results.extend(self._read_all(read, unread.popleft()))
                except Exception as exc:  # noqa: BLE001 - raised below, in this task
                    failed.append(exc)

        body = await self._get_page(path, params | {"limit": str(self.page_size)})
        seen: set[str] = set()
        while link := self._next(body, seen):
            unread.append(body["results"])
            asyncio.get_running_loop().call_soon(read_unread)
            body = await self._get_page(link, None)
            if failed:
                raise failed[0]
        unread.append(body["results"])
        read_unread()  # whatever the loop has not read yet, in order, and the last page
        if failed:
            raise failed[0]
        return results

    async def _where_in(
        self, lookup: _Lookup, keys: Sequence[str], read: Callable[[Record], T]
    ) -> list[list[T]]:
        """For each of ``keys``, the records whose ``lookup.field`` is that key, through ``read``.

        Keys are compared in the form Akinon answers (``_Lookup.canonical``): an upper-case or
        braced uuid finds the record Akinon answers in lower case, and a key no record can have
        (a malformed uuid, which would make Akinon refuse the whole filter) finds nothing
        without a call. The keys go in one ``__in`` query, except a key a comma-separated list
        cannot carry (it holds a comma), which is asked on its own. Every record answered must
        be one asked for: one that is not means the deployment ignored the filter (DRF skips
        filters it does not have), and every key is then asked on its own, with answers
        checked the same way. A deployment that ignores the one-value filter too cannot
        answer: ``FilterIgnored``, never records not asked for. Only when the one-value
        answers are right is the ``__in`` filter taken to be ignored, and for
        ``NO_IN_MEMORY_S``: one wrong answer (a proxy's, a deployment's bad minute) does not
        switch batching off for the life of the process. A record without a usable
        ``lookup.field`` is a bad answer (``BadResponse``), not a filter ignored.
        """
        canonical = [lookup.canonical(k) for k in keys]
        found: dict[str, list[T]] = {c: [] for c in canonical if c is not None}

        def among(wanted: Collection[str]) -> Callable[[Record], tuple[str, T]]:
            def matching(record: Record) -> tuple[str, T]:
                value = given_id(record.get(lookup.field))
                key = None if value is None else lookup.canonical(value)
                if key is None:
                    raise BadResponse(
                        self.name.value, f"{lookup.what} answered without a usable {lookup.field}"
                    )
                if key not in wanted:
                    raise _FilterIgnored
                return key, read(record)

            return matching

        alone = list(found)
        if not self._ignores(lookup):
            alone = [k for k in found if "," in k]  # a comma-separated list cannot carry these
        skip = set(alone)
        # in one order whoever asks: the same keys are the same URL, a read the operation shares
        listed = sorted(k for k in found if k not in skip)
        ignored = False  # the batch filter seen ignored now (not remembered from before)
        if listed:
            query = {lookup.batch: ",".join(listed)}
            try:
                pairs = await self._all(lookup.path, query, among(set(listed)))
            except _FilterIgnored:
                ignored = True
                alone = list(found)
            else:
                for key, record in pairs:
                    found[key].append(record)
        confirmed = False
        for key, value in (await self._single_values(lookup, alone)).items():
            try:
                pairs = await self._all(lookup.path, {lookup.single: value}, among({key}))
            except _FilterIgnored:
                raise FilterIgnored(
                    f"reading {lookup.what} by {lookup.field}: this Akinon ignores both "
                    f"{lookup.batch} and {lookup.single} on {lookup.path}"
                ) from None
            found[key].extend(record for _, record in pairs)
            confirmed = True
        if ignored and confirmed:
            # The one-value filter answered right where the batch one did not: believed for a
            # while (not renewed by the calls it makes), then the batch filter is tried again.
            self._no_in[(lookup.path, lookup.batch)] = time.monotonic() + NO_IN_MEMORY_S
        return [[] if c is None else found[c] for c in canonical]

    def _ignores(self, lookup: _Lookup) -> bool:
        """Whether this deployment was lately seen to ignore ``lookup``'s ``__in`` filter."""
        until = self._no_in.get((lookup.path, lookup.batch))
        if until is None:
            return False
        if until > time.monotonic():
            return True
        del self._no_in[(lookup.path, lookup.batch)]
        return False

    async def _single_values(self, lookup: _Lookup, keys: list[str]) -> dict[str, str]:
        """Each key's value for ``lookup.single``: the key, or its order's number (the orders
        not read yet are read first, in one batch; a key with no order has no records)."""
        if not lookup.by_number:
            return {key: key for key in keys}
        await self._read_orders(keys)
        numbers = {
            k: ORDERS_BY_NUMBER.canonical(self._seen[k].number) for k in keys if k in self._seen
        }
        return {key: number for key, number in numbers.items() if number is not None}

    async def _read_orders(self, keys: Collection[str]) -> None:
        """Read the orders of ``keys`` not read yet: reading one remembers it (``_seen``)."""
        unknown = sorted(set(keys) - self._seen.keys())
        if unknown:
            await self._where_in(ORDERS_BY_ID, unknown, self._order)

    # -- reads -------------------------------------------------------------------------

    async def orders_by_key(self, keys: Sequence[str]) -> Batch[Order]:
        return [_one(found) for found in await self._where_in(ORDERS_BY_ID, keys, self._order)]

    async def orders_by_ref(self, refs: Sequence[OrderRef]) -> Batch[Order]:
        numbers = [r.number for r in refs]
        found = await self._where_in(ORDERS_BY_NUMBER, numbers, self._order)
        return [_one(orders) for orders in found]

    async def list_orders(self, flt: OrderFilter, offset: int, limit: int) -> Page[Order]:
        params = _order_params(flt)
        if params is None:  # a status with no Akinon code: nothing can match
            return Page([], 0, offset, False)
        check = None
        if "status__in" in params:  # an inference: the page lists only ``status``
            check = _statuses_in(set(params["status__in"].split(",")))
        records, total = await self._list(f"{API}/orders/", params, offset, limit, check)
        orders = self._read_all(self._order, records)
        return Page(orders, total, offset, offset + len(orders) < total)

    async def items_by_order(self, order_keys: Sequence[str]) -> Batch[list[OrderItem]]:
        return [items for items in await self._where_in(ITEMS_BY_ORDER, order_keys, self._item)]

    async def items_by_key(self, keys: Sequence[str]) -> Batch[OrderItem]:
        return [_one(found) for found in await self._where_in(ITEMS_BY_ID, keys, self._item)]

    async def addresses_by_key(self, keys: Sequence[str]) -> Batch[Address]:
        found = await self._where_in(ADDRESSES_BY_ID, keys, self._address)
        return [_one(addresses) for addresses in found]

    async def plans_by_order(self, order_keys: Sequence[str]) -> Batch[list[CancellationPlan]]:
        groups = await self._where_in(PLANS_BY_ORDER, order_keys, _record)
        plans = iter(await self._plans([r for group in groups for r in group]))
        return [[next(plans) for _ in group] for group in groups]

    async def plans_by_key(
        self, keys: Sequence[str], *, amounts: bool = True
    ) -> Batch[CancellationPlan]:
        groups = await self._where_in(PLANS_BY_ID, keys, _record)
        plans = iter(await self._plans([group[0] for group in groups if group], amounts))
        return [next(plans) if group else None for group in groups]

    async def _plans(self, records: list[Record], amounts: bool = True) -> list[CancellationPlan]:
        """Plans in their orders' currencies; orders not read yet are read in one call. Without
        ``amounts`` no order is read (a plan names no currency of its own) and the plans carry
        none: an amount in a currency guessed would be wrong for some."""
        if not amounts:
            return self._read_all(self._plan_without_amounts, records)
        await self._read_orders({str(r.get("order")) for r in records})
        return self._read_all(self._plan, records)

    async def list_cancellation_plans(
        self, flt: CancellationPlanFilter, offset: int, limit: int, *, amounts: bool = True
    ) -> Page[CancellationPlan]:
        params = _drop_none(
            {
                "order": flt.order_key,
                "order__number": flt.order_number,
                "status": flt.status,
                "plan_type": flt.plan_type,
            }
        )
        records, total = await self._list(f"{API}/cancellation-plans/", params, offset, limit)
        plans = await self._plans(records, amounts)
        return Page(plans, total, offset, offset + len(plans) < total)

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
        records, total = await self._list(f"{API}/customer-addresses/", params, offset, limit)
        addresses = self._read_all(self._address, records)
        return Page(addresses, total, offset, offset + len(addresses) < total)

    # -- writes ------------------------------------------------------------------------

    async def reject_order_item(self, item_key: str) -> None:
        # The key is the caller's (a global id anyone can forge) and goes into the path: only
        # a uuid, in the form Akinon answers it, is sent; anything else names no item, as it
        # does for the reads, and nothing is sent (``../``, ``?``, ``#`` would move the route).
        item = _canonical_uuid(item_key)
        if item is None:
            raise NotFound(self.name.value, f"no order item {item_key!r}")
        # 204 No Content on success; a refusal is a 400/406 that _call raises as Rejected.
        response = await self._call("POST", f"{API}/order-items/{item}/reject/")
        if response.status != 204 and response.body.strip():
            # The page answers nothing else: a 2xx with a body (``{}``, ``[]``, a cut-off
            # JSON) is no proof the item was rejected, and the reject may have been applied.
            raise response.bad(
                f"a {response.status} answer with a body to a reject (the page answers 204 "
                "No Content)"
            )

    # -- payload -> domain -------------------------------------------------------------

    def _currency(self, named: Any) -> str:
        return str(named).upper() if named else self._default_currency

    def _order(self, r: Record) -> Order:
        currency = self._currency(r.get("currency"))
        key, number = str(r["id"]), str(r.get("number"))
        self._seen.keep(key, _Seen(currency, number))
        total = Money.of(r.get("amount"), currency)
        refunded = _refunded(r, currency)
        return Order(
            provider=self.name,
            key=key,
            number=number,
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
            raw=r,
            raw_details=ORDER_DETAILS,
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
            raw_details=ITEM_DETAILS,
        )

    def _plan(self, r: Record) -> CancellationPlan:
        seen = self._seen.get(str(r.get("order")))
        currency = seen.currency if seen else self._default_currency
        plan = self._plan_without_amounts(r)
        plan.refund = Money.of(r.get("refund_amount"), currency)
        plan.shipping_refund = Money.of(r.get("shipping_refund_amount"), currency)
        plan.discount_refund = Money.of(r.get("discount_refund_amount"), currency)
        return plan

    def _plan_without_amounts(self, r: Record) -> CancellationPlan:
        return CancellationPlan(
            provider=self.name,
            key=str(r["id"]),
            order_key=str(r.get("order")),
            item_keys=[str(i) for i in r.get("order_items") or []],
            plan_type=as_str(r.get("plan_type")),
            status=as_str(r.get("status")),
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
    """A query answered a record its filter excludes: the filter was not applied."""


class FilterIgnored(UnsupportedOperation):
    """This deployment ignores a filter the request needs, so it cannot be answered right.

    DRF skips query parameters its filterset lacks and answers every record; what the gateway
    would return from that is wrong, so it says what cannot be done instead.
    """

    def __init__(self, operation: str) -> None:
        super().__init__(ProviderName.AKINON.value, operation)


def _record(record: Record) -> Record:
    return record


def _one(found: list[T]) -> T | None:
    return found[0] if found else None


def _statuses_in(codes: Collection[str]) -> Callable[[Record], None]:
    """A check that an order listed under ``status__in`` is in one of ``codes``."""

    def check(record: Record) -> None:
        if str(record.get("status")) not in codes:
            raise FilterIgnored(
                "filtering orders by several statuses: this Akinon ignores status__in (it "
                f"answered an order in status {record.get('status')}); filter by one status"
            )

    return check


def _order_params(flt: OrderFilter) -> dict[str, str] | None:
    params = _drop_none(
        {
            "number": flt.number,
            "number__icontains": flt.number_contains,
            "date_placed__gte": flt.placed_after.isoformat() if flt.placed_after else None,
            "date_placed__lt": flt.placed_before.isoformat() if flt.placed_before else None,
            "amount__gte": None if flt.min_amount is None else str(flt.min_amount),
            "amount__lte": None if flt.max_amount is None else str(flt.max_amount),
            "currency": flt.currency.lower() if flt.currency else None,
        }
    )
    if flt.statuses:
        if OrderStatus.UNKNOWN in flt.statuses:
            # An order reads UNKNOWN when its code is in no table: no code to ask Akinon for.
            raise InvalidRequest(
                ProviderName.AKINON.value,
                "status UNKNOWN cannot be filtered on at Akinon (it filters by its own status "
                "codes; an UNKNOWN order's code is in its providerStatus)",
                field=["filter", "status"],
            )
        codes = list(dict.fromkeys(str(STATUS_CODE[s]) for s in flt.statuses if s in STATUS_CODE))
        if not codes:
            return None
        if len(codes) == 1:
            params["status"] = codes[0]
        else:
            params["status__in"] = ",".join(codes)
    return params


def _page_cap(body: Record, number: int, size: int) -> int | None:
    """The page size this deployment caps at, if page ``number`` (of ``size`` records each)
    shows one below ``size``; None if the page is as asked for.

    A page with fewer records than asked for is the last one, unless the size was cut: one
    naming a ``next`` page is full at the cap; the last page (no ``next``) is cut if the
    pages before it, at ``size`` each, would not leave it ending at ``count``, and then the
    ``count`` says how many each of those held. Any size up to the cap is honoured, so a
    ``count`` that does not divide evenly (records added meanwhile) falls back to this page's.
    """
    held = len(body["results"])
    if not 0 < held < size:
        return None
    if body.get("next"):
        return held
    total = body.get("count")  # an int when given (``_get_page``)
    if total is None:
        return None
    if number == 1 or (number - 1) * size + held == total:
        return None
    cap, rest = divmod(total - held, number - 1)
    return cap if rest == 0 and held <= cap < size else held


def _refunded(r: Record, currency: str) -> Money | None:
    """The money returned to the customer: Akinon refunds an order's shipping
    (``shipping_refund_amount``) apart from the rest (``refund_amount``). Its
    ``discount_refund_amount`` is not added: it is the discount given back off the refund,
    which ``refund_amount`` is already net of (a fully cancelled order's two refunds add up to
    its ``amount``)."""
    rest = Money.of(r.get("refund_amount"), currency)
    shipping = Money.of(r.get("shipping_refund_amount"), currency)
    if rest is None or shipping is None or not shipping.amount:
        return rest or shipping
    return Money(rest.amount + shipping.amount, rest.currency)


def _payment_status(total: Money | None, refunded: Money | None) -> PaymentStatus:
    """Akinon orders are paid when placed; refunds (``_refunded``) are the only payment news
    they carry."""
    if refunded is None or total is None or refunded.amount <= 0:
        return PaymentStatus.PAID
    if refunded.amount >= total.amount:
        return PaymentStatus.REFUNDED
    return PaymentStatus.PARTIALLY_REFUNDED


@lru_cache(maxsize=4096)  # the same keys come back request after request
def _canonical_uuid(value: str) -> str | None:
    """The uuid as Akinon answers it (lower case, hyphenated), or None if it is not one."""
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        return None


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
