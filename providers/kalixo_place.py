"""Placing a Kalixo order once, however often it is asked for and whatever answer is lost.

Kalixo keeps ``externalOrderCode`` unique per order (PROVIDERS.md: the natural idempotency
key), but answers it nowhere and cannot be asked for an order by it. So:

- a create refused with "externalOrderCode already exists" answers the order this gateway
  placed under the code (its id learnt from that place-order's answer) when it holds the same
  products; another order under the code is the caller's conflict, and a code the gateway never
  saw answered is Kalixo's refusal, said as such;
- a create whose answer was lost (a timeout, a connection dropped after sending, a 5xx) may
  have landed: the same body is sent once more, which cannot buy twice. Placed: that is the
  order (the first never landed). Refused as a duplicate: the first landed, but its id was in
  the lost answer, so :class:`OutcomeUnknown` says so; lost or refused again,
  :class:`OutcomeUnknown` too;
- a create whose outcome stayed unknown is sent again when it is asked for again under the same
  key (``Kalixo.place_order_again``, from :mod:`providers.place_once`): every send of it is
  then one more, answered as above, so the order is placed if no send landed and never twice.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from providers import errors as pe
from providers.base import read_back
from providers.errors import (
    InvalidRequest,
    OutcomeUnknown,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
    Rejected,
    ServerError,
)
from providers.model import NewOrder, Order, OrderStatus
from providers.values import exact_in

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
# Kalixo's ids (orders, products) are integers: at most 18 digits always fit in 64 bits.
MAX_ID_DIGITS = 18
# Said whenever the gateway cannot name the order a code holds.
NO_LOOKUP = "Kalixo cannot be asked for an order by its externalOrderCode"
# Why a create sent again under a key whose outcome is unknown may already have landed.
EARLIER = "an earlier placeOrder under this key sent it and its outcome is unknown"


def exponent(currency: str) -> int:
    """How many decimals a currency's minor unit has: 2 for GBP (3299 pence is 32.99)."""
    return EXPONENTS.get(currency.upper(), 2)


async def place(k: Kalixo, new: NewOrder, earlier: str | None = None) -> Order:
    """Place ``new``; ``earlier``: why a send of it before this call may have landed (a
    placeOrder whose outcome is unknown, asked for again), so that this send is one more."""
    body = order_body(k, new)  # the reference is read (and trimmed) here, once
    return await _settled(k, await _placed(k, body, earlier))


async def _settled(k: Kalixo, placed: Order) -> Order:
    """The placed order with the status Kalixo gives it.

    place-order answers no status. Every unit holding its PIN settles it (PINs are issued only
    once the order is completed); anything less may be requested, processing, failed or in
    error, so the order is read once. A read that fails answers the order as placed (PENDING,
    no providerStatus): it exists, and an error would invite the caller to place it again.
    """
    if placed.provider_status is not None or placed.status is OrderStatus.COMPLETED:
        return placed
    return await read_back(placed, k.order_by_id(placed.key), "as PENDING")


async def _placed(k: Kalixo, body: Record, earlier: str | None = None) -> Order:
    """The order place-order answers, sent once more if that answer was lost.

    A 5xx counts as a lost answer: Kalixo may have placed the order before failing, and only
    sending the same body again (its code kept unique) can tell whether it did. ``earlier``: a
    send before this call may have landed, so this one is already the send once more.
    """
    if earlier is None:
        try:
            return await _create(k, body)
        except (ProviderTimeout, ProviderUnavailable, ServerError) as lost:
            if not _maybe_sent(lost):
                raise
            earlier = f"its answer was lost ({lost.message})"
        log.warning(
            "kalixo create answer lost; sending it once more under its externalOrderCode",
            extra=_where(k),
        )
    try:
        return await _create(k, body, lost=earlier)
    except OutcomeUnknown:
        raise
    except ProviderError as again:
        # A refusal too: the first send may have landed and taken what the second needed
        # ("Insufficient stock"), so a refusal now says nothing of the first.
        raise _unknown(k, body["externalOrderCode"], earlier, again) from None


def _maybe_sent(exc: ProviderError) -> bool:
    """Whether a create that failed this way may still have reached Kalixo."""
    # NotSent (connect refused, circuit open): the shared client knows nothing left the gateway.
    return not isinstance(exc, pe.NotSent)


async def _create(k: Kalixo, body: Record, lost: str | None = None) -> Order:
    """One place-order; a duplicate code answers the order the gateway knows under it.

    ``lost``: why an earlier send of ``body`` may have landed ("its answer was lost (...)"); a
    duplicate code then most likely is that send's order, which nothing can name
    (:class:`OutcomeUnknown`).
    """
    ref: str = body["externalOrderCode"]
    try:
        return await k.create(body)
    except Rejected as refused:
        if not _duplicate(refused):
            raise
        try:
            found = await k.known_order(ref)
        except ProviderError:
            found = None
        if found is None:
            if lost is not None:
                raise _landed(k, ref, lost) from None
            raise _taken(k, ref, refused) from None
        same = _same(k, found, body, refused)
        log.info("kalixo reference already placed; answering that order", extra=_where(k))
        return same


def _unknown(k: Kalixo, ref: str, cause: str, again: ProviderError) -> OutcomeUnknown:
    if isinstance(again, Rejected):
        second = f"sent once more under externalOrderCode {ref!r}, it was refused ({again.message})"
    elif isinstance(again, pe.NotSent):
        second = (
            f"sending it once more under externalOrderCode {ref!r} failed before anything was "
            f"sent ({again.message})"
        )
    else:
        second = (
            f"so was the answer to sending it once more under externalOrderCode {ref!r} "
            f"({again.message})"
        )
    return OutcomeUnknown(
        k.name.value,
        f"{cause}, and {second}: it may have been placed. Ask again with the same "
        "idempotencyKey (or externalReference): it is sent again under the same "
        "externalOrderCode, which Kalixo never places twice",
    )


def _landed(k: Kalixo, ref: str, cause: str) -> OutcomeUnknown:
    return OutcomeUnknown(
        k.name.value,
        f"{cause}; sent once more, Kalixo answers that externalOrderCode {ref!r} already "
        "exists: an order under it was placed, most likely this one, but its id was in the "
        f"lost answer. {NO_LOOKUP}: find it in Kalixo",
    )


def _taken(k: Kalixo, ref: str, refused: Rejected) -> Rejected:
    return Rejected(
        k.name.value,
        f"{refused.message}: Kalixo holds an order under externalOrderCode {ref!r} that this "
        f"gateway did not see placed ({NO_LOOKUP})",
        http_status=refused.http_status,
        code=refused.code,
        request_id=refused.request_id,
        field=["input", "externalReference"],  # a refusal's field is its path in the input
    )


def _duplicate(refused: Rejected) -> bool:
    text = refused.message.lower()
    return "already exists" in text and "externalordercode" in text


def _same(k: Kalixo, found: Order, body: Record, refused: Rejected) -> Order:
    """``found`` if it is the order ``body`` asks for; a refusal if the reference is taken."""
    wanted = Counter((int(p["productId"]), int(p["quantity"])) for p in body["orderProducts"])
    held = Counter((_int(i.product_id), i.quantity) for i in found.items or ())
    if not held or held == wanted:
        return found
    raise Rejected(
        k.name.value,
        f"externalOrderCode {body['externalOrderCode']!r} already names order {found.key}, "
        "which holds other products",
        http_status=refused.http_status,
        code=refused.code,
        request_id=refused.request_id,
        field=["input", "externalReference"],  # a refusal's field is its path in the input
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
    # None or blank: the connector's currency (the configured one, GBP unless set).
    currency = (new.currency or "").strip().upper() or k.currency
    if not _CURRENCY.fullmatch(currency):
        raise InvalidRequest(name, "Kalixo needs a currency (ISO 4217 code)", field=["currency"])
    if currency != k.currency:
        raise InvalidRequest(
            name,
            f"Kalixo orders are placed in {k.currency} here: Kalixo answers no currency, so "
            f"every Kalixo order is read in the configured currency ({k.currency}) and one "
            f"placed in {currency} would read back in {k.currency}",
            field=["currency"],
        )
    exp = exponent(currency)
    if not new.items:
        raise InvalidRequest(name, "an order needs at least one item", field=["items"])
    lines: list[Record] = []
    total = 0
    for i, item in enumerate(new.items):
        where = ["items", str(i)]
        product_id = (item.product_id or "").strip()
        # An id is a 64-bit integer on the wire: 30 nines could not be encoded, and was said
        # to be an amount too large.
        if not (product_id.isascii() and product_id.isdigit()) or len(product_id) > MAX_ID_DIGITS:
            raise InvalidRequest(
                name,
                f"Kalixo needs a numeric productId of at most {MAX_ID_DIGITS} digits",
                field=[*where, "productId"],
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
    if amount < 0 or not exact_in(amount, exp):
        raise InvalidRequest(
            name, f"{amount} is not a whole number of {currency} minor units", field=field
        )
    return int(amount.scaleb(exp))


def _int(value: str | None) -> int | None:
    try:
        return None if value is None else int(value)
    except ValueError:
        return None


def _where(k: Kalixo) -> dict[str, Any]:
    return {"provider": k.name.value}
