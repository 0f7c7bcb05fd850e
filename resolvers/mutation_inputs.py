"""The mutations' inputs: their types, the checks made before anything is sent, and the
domain order a ``placeOrder`` input becomes (resolvers/mutations.py runs the mutations).

Every amount of an input is finite, at most ``MAX_AMOUNT`` in size and has at most
``MAX_PLACES`` decimal places (``amount_errors``), or the mutation answers a userError and
sends nothing.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable
from decimal import Decimal, localcontext
from typing import Any, cast

import orjson
import strawberry
from strawberry.scalars import JSON

from graph.types.common import UserError
from providers import model
from providers.model import ProviderName
from providers.values import MAX_AMOUNT

# -- amounts ---------------------------------------------------------------------------

# With at most 13 digits before the point, 25 in all: within a Decimal context's 28, so the
# connectors' exactness checks (``exact_in``) and encodings never round.
MAX_PLACES = 12
# Units of one line: a line of a million Kalixo codes stalled the embedded sandbox for seconds
# (a PIN a unit); no provider's page sells more to one order line.
MAX_QUANTITY = 10_000


def amount_errors(amounts: Iterable[tuple[list[str], Decimal | None]]) -> list[UserError]:
    """A userError for each amount (at its field path) that is not finite, is larger than
    ``MAX_AMOUNT`` or finer than ``MAX_PLACES`` decimal places."""
    return [
        UserError(field=field, message=message, code="BAD_USER_INPUT")
        for field, amount in amounts
        if amount is not None and (message := amount_problem(field[-1], amount))
    ]


def amount_problem(name: str, amount: Decimal) -> str | None:
    """What is wrong with an amount given as ``name``, if anything (the bounds above)."""
    if not amount.is_finite():
        return f"{name} must be a finite number, not {amount}"
    if amount.copy_abs() > MAX_AMOUNT:
        return f"{name} must be at most {MAX_AMOUNT:,} in size"
    if _places(amount) > MAX_PLACES:
        return f"{name} must have at most {MAX_PLACES} decimal places"
    return None


def _places(amount: Decimal) -> int:
    """The decimal places the value needs ("1.500" needs 1), counted without rounding."""
    _, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int)  # finite
    zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return 0 if zeros == len(digits) else max(0, -(exponent + zeros))


# -- inputs ----------------------------------------------------------------------------


@strawberry.input
class NewOrderItemInput:
    sku: str | None = None
    product_id: str | None = None
    name: str | None = None
    brand: str | None = None
    description: str | None = None
    quantity: int = 1
    unit_price: Decimal | None = None
    image_url: str | None = None
    item_type: str | None = None
    store_key: str | None = None
    delivery_option: str | None = None
    preferred_option: str | None = None
    facility_plan: str | None = None
    topup: Decimal | None = None
    topup_ref: str | None = None
    extra: JSON | None = strawberry.field(
        default=None, description="Provider-specific item fields not named above."
    )

    def to_domain(self) -> model.NewOrderItem:
        named = {
            "item_type": self.item_type,
            "store_key": self.store_key,
            "delivery_option": self.delivery_option,
            "preferred_option": self.preferred_option,
            "facility_plan": self.facility_plan,
            "topup": self.topup,
            "topup_ref": self.topup_ref,
        }
        extra = {k: v for k, v in named.items() if v is not None} | dict(
            cast(dict[str, Any], self.extra or {})
        )
        return model.NewOrderItem(
            sku=self.sku,
            product_id=self.product_id,
            name=self.name,
            brand=self.brand,
            description=self.description,
            quantity=self.quantity,
            unit_price=self.unit_price,
            image_url=self.image_url,
            extra=extra,
        )


@strawberry.input
class PlaceOrderInput:
    provider: ProviderName
    external_reference: str | None = None
    customer_id: str | None = None
    store_id: str | None = None
    currency: str | None = None
    total: Decimal | None = strawberry.field(
        default=None, description="The order total; when given, it must equal the sum of lines."
    )
    items: list[NewOrderItemInput]
    idempotency_key: str | None = None


@strawberry.input
class ConfirmOrderInput:
    order_id: strawberry.ID
    install_plan_id: str


@strawberry.input
class CancelOrderInput:
    order_id: strawberry.ID
    reason: str | None = strawberry.field(
        default=None,
        description="Why the order is cancelled: Lipa Later's reason and Front Payment's "
        "cancellationNote (both need one). Lipa Later purchases' cancel (a DELETE) takes none, "
        "so it is not sent there.",
    )


@strawberry.input
class RefundItemInput:
    item_id: strawberry.ID
    amount: Decimal


@strawberry.input
class RefundOrderInput:
    order_id: strawberry.ID
    amount: Decimal | None = strawberry.field(
        default=None,
        description="How much to refund, in the order's currency. With neither amount nor "
        "items, everything left to refund on the order is refunded.",
    )
    items: list[RefundItemInput] | None = strawberry.field(
        default=None,
        description="Refund these items' amounts (Front Payment's per product); an empty list "
        "is refused, never read as everything.",
    )
    reason: str | None = strawberry.field(
        default=None,
        description="Named as every mutation names it, but no provider's refund takes a "
        "reason: it is not sent.",
    )


@strawberry.input
class OrderIdInput:
    order_id: strawberry.ID


@strawberry.input
class RejectOrderItemInput:
    item_id: strawberry.ID
    reason: str | None = strawberry.field(
        default=None,
        description="Named as every mutation names it, but Akinon's reject takes no body: it "
        "is not sent.",
    )


@strawberry.input
class UpdateOrderItemStatusInput:
    item_id: strawberry.ID
    status: str = strawberry.field(
        description="The provider's own status, as its page spells it (Lipa Later purchases' "
        "facility_status: collected_by_agent, delivered, ...), not an OrderStatus."
    )


# -- placing an order ---------------------------------------------------------------


def new_order(new: PlaceOrderInput) -> model.NewOrder:
    """The input as the domain's order, normalised once: what the idempotency key, the
    fingerprint and the connector see is the same text (the reference trimmed, blank none)."""
    return model.NewOrder(
        external_reference=(new.external_reference or "").strip() or None,
        customer_id=new.customer_id,
        store_id=new.store_id,
        currency=new.currency,
        items=[i.to_domain() for i in new.items],
        total=new.total,
    )


def fingerprint(provider: ProviderName, order: model.NewOrder) -> str:
    """A hash of the order asked for: the same key with another order is a conflict. Amounts
    count by value: "1000" and "1000.00" are the same order."""
    fields = {"provider": provider.value, **dataclasses.asdict(order)}
    canonical = orjson.dumps(fields, default=_by_value, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def _by_value(value: object) -> str:
    if isinstance(value, Decimal):  # bounded (``amount_errors``): normalize is exact
        return "0" if value.is_zero() else str(value.normalize())
    return str(value)


def check_new_order(new: PlaceOrderInput) -> list[UserError]:
    problems: list[UserError] = []
    if not new.items:
        problems.append(
            UserError(
                field=["input", "items"],
                message="an order needs at least one item",
                code="BAD_USER_INPUT",
            )
        )
    amounts = [(["input", "total"], new.total)]
    for i, item in enumerate(new.items):
        at = ["input", "items", str(i)]
        amounts += [([*at, "unitPrice"], item.unit_price), ([*at, "topup"], item.topup)]
    bad = amount_errors(amounts)
    if bad:  # nothing else is checked with amounts that are no amounts
        return problems + bad
    with localcontext(prec=60):  # exact: 25 digits of price times a 32-bit quantity
        lines = [None if i.unit_price is None else i.unit_price * i.quantity for i in new.items]
    for i, (item, line) in enumerate(zip(new.items, lines, strict=True)):
        if item.extra is not None and not isinstance(item.extra, dict):
            # JSON takes any value; a string or a list here gave an internal error.
            problems.append(
                UserError(
                    field=["input", "items", str(i), "extra"],
                    message="extra must be an object of field names and values",
                    code="BAD_USER_INPUT",
                )
            )
        if not 1 <= item.quantity <= MAX_QUANTITY:
            problems.append(
                UserError(
                    field=["input", "items", str(i), "quantity"],
                    message=f"quantity must be from 1 to {MAX_QUANTITY:,}",
                    code="BAD_USER_INPUT",
                )
            )
        elif line is not None and line > MAX_AMOUNT:
            # Each amount is bounded; a line of the largest price times 10,000 units is not.
            problems.append(
                UserError(
                    field=["input", "items", str(i)],
                    message=f"unitPrice times quantity must be at most {MAX_AMOUNT:,}",
                    code="BAD_USER_INPUT",
                )
            )
        if item.unit_price is not None and item.unit_price <= 0:  # no provider sells for 0
            problems.append(
                UserError(
                    field=["input", "items", str(i), "unitPrice"],
                    message="unitPrice must be more than 0",
                    code="BAD_USER_INPUT",
                )
            )
    priced = [line for line in lines if line is not None]
    if new.total is not None and len(priced) == len(lines):
        with localcontext(prec=60):
            summed = sum(priced, Decimal(0))
        if summed != new.total:
            problems.append(
                UserError(
                    field=["input", "total"],
                    message=f"total {new.total} does not equal the sum of the lines {summed}",
                    code="TOTAL_MISMATCH",
                )
            )
    return problems
