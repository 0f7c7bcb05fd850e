"""Placing a Kalixo order once, however often it is asked for and whatever answer is lost.

Kalixo keeps ``externalOrderCode`` unique per order, which makes it the idempotency key:

- a create refused with "externalOrderCode already exists" answers the order that holds the
  reference, when it holds the same products (another order under that reference is the
  caller's conflict, said as a refusal, never passed off as the order asked for);
- a create whose answer was lost (a timeout, a connection dropped after sending) may have
  landed: the reference is looked up first, and only when it is not there is the create sent
  once more (Kalixo refuses a second order under the reference, so this cannot buy twice).
  When the lookup itself fails, or the second create fails too and the lookup still finds
  nothing, :class:`OutcomeUnknown` says so.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from providers import errors as pe
from providers.errors import (
    InvalidRequest,
    OutcomeUnknown,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    Rejected,
)
from providers.model import NewOrder, Order

if TYPE_CHECKING:
    from providers.kalixo import Kalixo

log = logging.getLogger("commerce_graph.kalixo")

Record = dict[str, Any]
_CURRENCY = re.compile(r"[A-Z]{3}")
# ISO 4217 currencies whose minor unit is not the hundredth (every other one is).
EXPONENTS = {
    **dict.fromkeys(("BIF", "CLP", "ISK", "JPY", "KRW", "PYG", "UGX", "VND", "XAF", "XOF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}


def exponent(currency: str) -> int:
    """How many decimals a currency's minor unit has: 2 for GBP (3299 pence is 32.99)."""
    return EXPONENTS.get(currency.upper(), 2)


async def place(k: Kalixo, new: NewOrder) -> Order:
    body = order_body(k, new)
    ref: str = body["externalOrderCode"]
    try:
        return await _create(k, body)
    except (ProviderTimeout, ProviderUnavailable) as lost:
        if not _maybe_sent(lost):
            raise
        log.warning("kalixo create answer lost; looking its reference up", extra=_where(k))
        cause = lost.message
    found = await _lookup(k, ref, cause)
    if found is None:
        try:
            return await _create(k, body)
        except (ProviderTimeout, ProviderUnavailable) as again:
            found = await _lookup(k, ref, again.message)
            if found is None:
                raise _unknown(k, ref, again.message) from None
    return _same(k, found, body)


def _maybe_sent(exc: ProviderError) -> bool:
    """Whether a create that failed this way may still have reached Kalixo."""
    # NotSent (connect refused, circuit open): the shared client knows nothing left the gateway.
    return not isinstance(exc, pe.NotSent)


async def _create(k: Kalixo, body: Record) -> Order:
    """One place-order; a duplicate reference answers the order that already holds it."""
    try:
        return await k.create(body)
    except Rejected as refused:
        if not _duplicate(refused):
            raise
        try:
            found = await k.find_order_by_reference(body["externalOrderCode"])
        except ProviderError:
            found = None
        if found is None:
            raise  # Kalixo's own refusal says it best
        same = _same(k, found, body, refused)
        log.info("kalixo reference already placed; answering that order", extra=_where(k))
        return same


async def _lookup(k: Kalixo, ref: str, cause: str) -> Order | None:
    try:
        return await k.find_order_by_reference(ref)
    except ProviderError:
        raise _unknown(k, ref, cause) from None


def _unknown(k: Kalixo, ref: str, cause: str) -> OutcomeUnknown:
    return OutcomeUnknown(
        k.name.value,
        f"the order {ref!r} was sent but its answer was lost ({cause}) and it could not be "
        "found yet: its outcome is unknown. Read it later, or place it again with the same "
        "externalReference (Kalixo will not place it twice)",
    )


def _duplicate(refused: Rejected) -> bool:
    text = refused.message.lower()
    return "already exists" in text and "externalordercode" in text


def _same(k: Kalixo, found: Order, body: Record, refused: Rejected | None = None) -> Order:
    """``found`` if it is the order ``body`` asks for; a refusal if the reference is taken."""
    wanted = Counter((int(p["productId"]), int(p["quantity"])) for p in body["orderProducts"])
    held = Counter((_int(i.product_id), i.quantity) for i in found.items or ())
    if not held or held == wanted:
        return found
    raise Rejected(
        k.name.value,
        f"externalOrderCode {body['externalOrderCode']!r} already names order {found.key}, "
        "which holds other products",
        http_status=refused.http_status if refused else None,
        code=refused.code if refused else None,
        request_id=refused.request_id if refused else None,
        field=["externalReference"],
    )


def order_body(k: Kalixo, new: NewOrder) -> Record:
    """The place-order body, as the page's example sends it; bad input raises InvalidRequest."""
    name = k.name.value
    ref = (new.external_reference or "").strip()
    if not ref:
        raise InvalidRequest(
            name,
            "Kalixo needs an externalReference (its externalOrderCode)",
            field=["externalReference"],
        )
    currency = (new.currency or k.settings.currency or "").strip().upper()
    if not _CURRENCY.fullmatch(currency):
        raise InvalidRequest(name, "Kalixo needs a currency (ISO 4217 code)", field=["currency"])
    exp = exponent(currency)
    if not new.items:
        raise InvalidRequest(name, "an order needs at least one item", field=["items"])
    lines: list[Record] = []
    total = 0
    for i, item in enumerate(new.items):
        where = ["items", str(i)]
        product_id = (item.product_id or "").strip()
        if not (product_id.isascii() and product_id.isdigit()):
            raise InvalidRequest(
                name, "Kalixo needs a numeric productId", field=[*where, "productId"]
            )
        if not item.sku:
            raise InvalidRequest(name, "Kalixo needs each item's sku", field=[*where, "sku"])
        if item.quantity < 1:
            raise InvalidRequest(name, "quantity must be at least 1", field=[*where, "quantity"])
        price = _minor(name, item.unit_price, currency, exp, [*where, "unitPrice"])
        total += price * item.quantity
        lines.append(
            {
                "productId": int(product_id),
                "price": price,
                # The page types sku and currency as integer, but its example sends strings.
                "sku": item.sku,
                "currency": currency,
                "quantity": item.quantity,
            }
        )
    if new.total is not None and _minor(name, new.total, currency, exp, ["total"]) != total:
        raise InvalidRequest(name, "total does not equal the sum of the lines", field=["total"])
    return {
        "externalOrderCode": ref,
        "price": total,
        "currency": currency,
        "orderProducts": lines,
    }


def _minor(name: str, amount: Decimal | None, currency: str, exp: int, field: list[str]) -> int:
    """Major units to Kalixo's integer minor units (32.99 GBP -> 3299), exactly or not at all."""
    if amount is None:
        raise InvalidRequest(name, f"Kalixo needs {field[-1]}", field=field)
    minor = amount.scaleb(exp)
    if minor < 0 or minor != minor.to_integral_value():
        raise InvalidRequest(
            name, f"{amount} is not a whole number of {currency} minor units", field=field
        )
    return int(minor)


def _int(value: str | None) -> int | None:
    try:
        return None if value is None else int(value)
    except ValueError:
        return None


def _where(k: Kalixo) -> dict[str, Any]:
    return {"provider": k.name.value}
