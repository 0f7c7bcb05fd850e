"""Front Payment, FPGO Connect (seed 002): read, cancel and refund orders.

Quirks kept here (and, for payloads, in ``providers/frontpayment_payload.py``) and nowhere else:
- A static ``Authorization: Bearer <token>`` issued by Front Payment; there is no login, so a
  401 is final (nothing to refresh). ``base_url`` is everything before ``/api/v1/connect/``
  (a base that already ends in it is accepted too).
- Every answer is an envelope: ``{status_code, status_message, message, is_data, data}`` on
  success, ``{..., is_error, errors}`` on errors; ``message`` is a code ("orderNotFound",
  "orderStatusAlreadyPaid", "payloadValidationErrors") or, in the page's second 404 shape, a
  sentence ("Order Not Found", with ``is_data: false, data: null``). 417 carries per-field
  messages in ``errors``; 510 "Execution Exception Occurred" is the provider failing.
- A failure is an HTTP status >= 400, or under a 2xx an envelope with ``is_error`` set or a
  ``status_code`` >= 400. ``is_data`` only says whether ``data`` holds anything: a 2xx with
  ``is_data: false`` is a success without data (a write's answer needs none; a details read
  without data is that order not found). A write's 2xx must be the success envelope
  (``status_code`` 2xx, ``message`` its code): a bare ``{}`` is no proof the write was made.
- No batch read: a batch is one ``GET orders/details/{uuid}`` per key, concurrently.
- Order and item keys: the order's uuid ("ODR986760186"); an item is "<uuid>/<productId>",
  since a refund names products by productId.
- Refunds send ``type`` from the order's ``type`` (an invoice order "invoiced", else "regular";
  see ``frontpayment_payload.refund_type``), never from its status, which moves on after a
  first refund; a whole-order refund sends what is left (paid less refunded) with
  ``products: []``. Amounts go as JSON numbers, in øre at most: an input amount finer than
  that is refused before anything is sent, never rounded.
- Dates, 0/1 booleans, statuses and amounts: see ``frontpayment_payload``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from providers import frontpayment_payload as payload
from providers.base import BaseProvider, Batch, Capability, settled
from providers.errors import (
    BadResponse,
    InvalidRequest,
    NotFound,
    Rejected,
    StatusError,
)
from providers.http import HttpClient, Upstream, UpstreamResponse
from providers.model import (
    Address,
    ItemOutcome,
    Order,
    OrderItem,
    OrderRef,
    ProviderName,
    RefundRequest,
)
from providers.settings import ProviderSettings, SettingsError
from providers.values import MAX_AMOUNT, exact_in, shown

API = "/api/v1/connect"
# What an order uuid may look like before it is put in a path ("ODR986760186"): no ``.``,
# ``/``, ``%``, ``?`` or ``#`` that could move the route, and ``\Z``, not ``$``, which would let
# a trailing newline through (the URL parser drops it, so another order would be asked).
_UUID = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z")
_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

Record = dict[str, Any]


# The settings Front Payment reads besides the common ones (providers/settings.py): none.
SETTINGS: frozenset[str] = frozenset()


def from_settings(settings: ProviderSettings, http: HttpClient) -> FrontPayment:
    if not settings.token:
        raise SettingsError("[providers.frontpayment] needs token (issued by Front Payment)")
    return FrontPayment(settings, http.upstream(settings.upstream_below(API)))


class FrontPayment(BaseProvider):
    name = ProviderName.FRONTPAYMENT
    capabilities = frozenset(
        {Capability.READ_ORDER, Capability.CANCEL_ORDER, Capability.REFUND_ORDER}
    )

    def __init__(self, settings: ProviderSettings, upstream: Upstream) -> None:
        self.settings = settings
        self.up = upstream
        self.currency = (settings.currency or payload.DEFAULT_CURRENCY).upper()
        self._token = settings.token  # registered as a secret by ProviderSettings.parse

    def public_settings(self) -> dict[str, Any]:
        return self.settings.public() | {"currency": self.currency}

    # -- transport ----------------------------------------------------------------------

    async def _envelope(
        self, method: str, path: str, body: Record | None = None
    ) -> tuple[UpstreamResponse, Record]:
        """One request and its answer's envelope, a success one; anything else is raised as
        the tree's error (a body that is not an envelope: ``BadResponse``)."""
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        response = await self.up.request(method, f"{API}/{path}", json=body, headers=headers)
        if response.status >= 400:
            try:
                refusal = response.json()
            except BadResponse:
                refusal = None  # an error page that is not JSON still has its status
            raise self._error(response, refusal)
        envelope = response.json()  # BadResponse for a success body that is not JSON
        if not isinstance(envelope, dict):
            raise self._unexpected(response, path, "not an envelope")
        if envelope.get("is_error") or _failure_code(envelope.get("status_code")):
            raise self._error(response, envelope)  # an error envelope under a 2xx status
        return response, envelope

    async def _read(self, path: str) -> Any:
        """A read's ``data``; ``None`` for ``is_data: false``, a success without data (no such
        order). Without data otherwise (``{}``), the answer is malformed, not "no such order"."""
        response, envelope = await self._envelope("GET", path)
        if envelope.get("is_data") is False:
            return None
        if envelope.get("data") is None:
            raise self._unexpected(response, path, "no data")
        return envelope["data"]

    async def _write(self, action: str, uuid: str, body: Record) -> None:
        """``POST orders/{action}/{uuid}``; its 2xx must be the page's success envelope (a
        ``status_code`` of 2xx and a ``message``, "cancelledOrderSuccessfully"), whose data, if
        it names an order, names this one. Anything else under a 2xx (``{}``, another order's
        data) says nothing of what was done: ``BadResponse``, which for a write that was
        answered means it may have been applied (resolvers/mutations.py says so)."""
        path = f"orders/{action}/{uuid}"
        response, envelope = await self._envelope("POST", path, body)
        if not _success_envelope(envelope):
            raise self._unexpected(response, path, "not the success envelope of a write")
        data = None if envelope.get("is_data") is False else envelope.get("data")
        if isinstance(data, dict) and data.get("orderUuid") not in (None, uuid):
            raise self._unexpected(response, path, "the data of another order")

    def _unexpected(self, response: UpstreamResponse, path: str, what: str) -> BadResponse:
        return response.bad(f"unexpected body from {path.split('/', 1)[0]}: {what}")

    def _error(self, response: UpstreamResponse, body: Any) -> StatusError:
        """Front Payment's error envelopes (and anything else) as the error tree."""
        status = response.status
        message, code, field = f"HTTP {status}", None, None
        if isinstance(body, dict):
            if status < 400 and isinstance(body.get("status_code"), int):
                status = body["status_code"] if body["status_code"] >= 400 else 502
            text = body.get("message") or body.get("status_message") or body.get("detail")
            if isinstance(text, str) and text:
                message = text
                code = text if _CODE.match(text) else None
            errors = body.get("errors")
            if isinstance(errors, dict) and errors:
                field = [str(next(iter(errors)))]
                details = "; ".join(
                    f"{k}: {' '.join(map(shown, _as_list(v)))}" for k, v in errors.items()
                )
                message = f"{message}: {details}"
            elif isinstance(errors, list) and errors:
                message = f"{message}: {'; '.join(map(shown, errors))}"
        return response.error(message, status=status, code=code, field=field, body=body)

    async def _details(self, uuid: str) -> Record | None:
        """The order's ``data``, or ``None`` when Front Payment does not know it."""
        if not _UUID.match(uuid):
            return None  # not a Front Payment uuid: nothing to ask
        try:
            data = await self._read(f"orders/details/{uuid}")
        except NotFound:
            return None
        if data is None:
            return None  # a success that has no order to show (``is_data: false``)
        if not isinstance(data, dict) or not data.get("orderUuid"):
            raise BadResponse(self.name.value, "order details without an orderUuid")
        return data

    async def _order(self, uuid: str) -> Order | None:
        data = await self._details(uuid)
        return None if data is None else payload.order(data, self.currency)

    async def _existing(self, uuid: str) -> Record:
        data = await self._details(uuid)
        if data is None:
            raise NotFound(self.name.value, f"no order {uuid!r}", http_status=404)
        return data

    # -- reads -------------------------------------------------------------------------

    async def orders_by_key(self, keys: Sequence[str]) -> Batch[Order]:
        return list(await settled(self._order(k) for k in keys))

    async def orders_by_ref(self, refs: Sequence[OrderRef]) -> Batch[Order]:
        return await self.orders_by_key([r.number for r in refs])

    async def items_by_key(self, keys: Sequence[str]) -> Batch[OrderItem]:
        wanted = [payload.split_item_key(k) for k in keys]
        uuids = list(dict.fromkeys(uuid for uuid, _ in wanted))
        orders = dict(zip(uuids, await self.orders_by_key(uuids), strict=True))
        found: Batch[OrderItem] = []
        for key, (uuid, _) in zip(keys, wanted, strict=True):
            o = orders[uuid]
            if isinstance(o, Order):
                found.append(next((i for i in o.items or () if i.key == key), None))
            else:
                found.append(o)
        return found

    async def addresses_by_key(self, keys: Sequence[str]) -> Batch[Address]:
        """The customer's address, by the key an order gave it ("<uuid>/customer")."""
        uuids = [k.removesuffix("/customer") for k in keys]
        found: Batch[Address] = []
        for o in await self.orders_by_key(uuids):
            if isinstance(o, Order):
                found.append(o.customer.address if o.customer else None)
            else:
                found.append(o)
        return found

    # -- writes ------------------------------------------------------------------------

    async def cancel_order(self, order_key: str, reason: str | None) -> list[ItemOutcome]:
        if not reason:
            raise InvalidRequest(
                self.name.value,
                "Front Payment needs a reason to cancel an order (its cancellationNote)",
                field=["reason"],
            )
        if not _UUID.match(order_key):
            raise NotFound(self.name.value, f"no order {order_key!r}", http_status=404)
        # 202 cancelledOrderSuccessfully; 400 orderStatusAlreadyPaid is raised as Rejected.
        try:
            await self._write("cancel", order_key, {"cancellationNote": reason})
        except Rejected as exc:
            exc.field = _input_field(exc.field)
            raise
        return []

    async def refund_order(self, order_key: str, refund: RefundRequest) -> None:
        """Whole (nothing named: what is left), an amount, or per product (item amounts)."""
        products = self._refund_lines(order_key, refund)
        if refund.amount is not None:
            self._check_amount(refund.amount, "amount", ["amount"])
        data = await self._existing(order_key)
        known = {str(p.get("productId")) for p in payload.products(data)}
        for i, (product_id, _) in enumerate(products):
            if product_id not in known:
                raise self._invalid(f"order {order_key} has no product {product_id!r}", _item(i))
        if products:
            total = sum((amount for _, amount in products), Decimal(0))
        elif refund.amount is not None:
            total = refund.amount
        else:
            total = payload.left_to_refund(data)
            if total <= 0:
                raise self._invalid(f"nothing is left to refund on order {order_key}", ["orderId"])
            if total > MAX_AMOUNT:  # the provider's own figures, no amount it can have been paid
                raise BadResponse(
                    self.name.value,
                    f"order {order_key}'s payment history leaves more than {MAX_AMOUNT:,} to "
                    "refund: not an amount it can have been paid; nothing was sent",
                    retryable=False,  # the provider's figures will say the same next time
                )
        body = {
            "type": payload.refund_type(data),
            "grandTotal": payload.number(total),
            "products": [{"id": pid, "amount": payload.number(a)} for pid, a in products],
        }
        try:
            await self._write("refund", order_key, body)
        except Rejected as exc:
            exc.field = _input_field(exc.field)
            raise

    def _refund_lines(self, order_key: str, refund: RefundRequest) -> list[tuple[str, Decimal]]:
        """The (productId, amount) lines of a per-product refund, checked before any call."""
        lines: list[tuple[str, Decimal]] = []
        for i, (key, amount) in enumerate(refund.items):
            uuid, product_id = payload.split_item_key(key)
            if uuid != order_key or not product_id:
                raise self._invalid(f"item {i} is not an item of order {order_key}", _item(i))
            self._check_amount(amount, f"item {i}: amount", [*_item(i)[:-1], "amount"])
            lines.append((product_id, amount))
        if lines and refund.amount is not None:
            total = sum((a for _, a in lines), Decimal(0))
            if total != refund.amount:
                message = f"amount {refund.amount} is not the sum of the items' amounts {total}"
                raise self._invalid(message, ["amount"])
        return lines

    def _check_amount(self, amount: Decimal, name: str, field: list[str]) -> None:
        """An amount Front Payment can take: above 0 and exact in øre (never rounded here)."""
        if amount <= 0:
            raise self._invalid(f"{name} must be greater than 0", field)
        if not exact_in(amount, 2):
            raise self._invalid(f"{name} {amount} has more decimals than øre (0.01)", field)

    def _invalid(self, message: str, field: list[str]) -> InvalidRequest:
        return InvalidRequest(self.name.value, message, field=field)


_INPUT_NAMES = {"grandTotal": "amount", "products": "items", "cancellationNote": "reason"}


def _item(index: int) -> list[str]:
    return ["items", str(index), "itemId"]


def _input_field(field: list[str] | None) -> list[str] | None:
    """A refusal's field in the refund payload, as the mutation's input names it."""
    if not field:
        return field
    name = field[0]
    if name in _INPUT_NAMES:
        return ["input", _INPUT_NAMES[name]]
    parts = name.split(".")
    if len(parts) == 3 and parts[0] == "products":
        return ["input", "items", parts[1], "itemId" if parts[2] == "id" else "amount"]
    return ["input", name]


def _failure_code(status_code: Any) -> bool:
    """Whether an envelope's own ``status_code`` says it failed (an int >= 400)."""
    return isinstance(status_code, int) and not isinstance(status_code, bool) and status_code >= 400


def _success_envelope(envelope: Record) -> bool:
    """Whether a 2xx body is the page's success envelope: ``status_code`` a 2xx (a number, as
    the page types it) and ``message`` its code."""
    code, message = envelope.get("status_code"), envelope.get("message")
    return (
        isinstance(code, int)
        and not isinstance(code, bool)
        and 200 <= code < 300
        and isinstance(message, str)
        and bool(message.strip())
    )


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
