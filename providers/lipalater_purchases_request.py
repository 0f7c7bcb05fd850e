"""Lipa Later v2 purchases: the create request, built from a placeOrder input.

What the page's example sends, not what its table says: ``order_id`` and ``item_value`` as
strings ("113", "50000"), ``item_description`` (the table spells it ``item_decription``),
``item_topup`` and ``topup_ref`` as "" when there is none. Amounts go as whole numbers (the
table types ``item_value`` integer; the answers' top-ups are whole too): 49999.5 is refused,
never rounded. Input that cannot be sent is refused here, before anything is sent; enum
values (item_type, delivery_option, ...) are left to the provider, whose lists grow
(``store_pick_up``) and whose own example sends a store key as preferred_option.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from providers import lipalater_purchases_map as m
from providers.errors import InvalidRequest
from providers.model import NewOrder, NewOrderItem
from providers.values import exact_in

FACILITY_PLAN = "lipalater_regular_plan"  # the table: "Set it to lipalater_regular_plan"
DEFAULT_DELIVERY = "store_delivery"  # the table's defaults
DEFAULT_PREFERRED = "delivery"
# The item extras placeOrder names (NewOrderItemInput.to_domain).
EXTRAS = (
    "item_type",
    "store_key",
    "delivery_option",
    "preferred_option",
    "facility_plan",
    "topup",
    "topup_ref",
)
# The item fields the gateway builds and checks, and the input field each comes from: an
# ``extra`` naming one is refused, never sent over the checked value ("item_value": "49999.5").
CHECKED = {
    "item_type": "itemType",
    "item_brand": "brand",
    "store_key": "storeKey",
    "delivery_option": "deliveryOption",
    "preferred_option": "preferredOption",
    "item_description": "description",
    "facility_plan": "facilityPlan",
    "item_code": "sku",
    "item_value": "unitPrice",
    "item_topup": "topup",
    "topup_ref": "topupRef",
}
# One purchase is one financed item (one loan): a quantity becomes that many purchases.
MAX_UNITS = 10

Record = dict[str, Any]


def purchases_request(order: NewOrder, currency: str) -> tuple[Record, list[int]]:
    """The POST body, and for each purchase in it the input line it came from."""
    if order.currency and order.currency.upper() != currency:
        raise _invalid(f"orders are in {currency}; {order.currency} cannot be sent", "currency")
    order_id = (order.external_reference or "").strip()
    if not m.ORDER_ID.fullmatch(order_id):
        raise _invalid(
            "externalReference (the merchant's order_id) must be an integer", "externalReference"
        )
    if not order.customer_id:
        raise _invalid("customerId is required", "customerId")
    items: list[Record] = []
    lines: list[int] = []
    for line, new in enumerate(order.items):
        if new.quantity > MAX_UNITS:
            raise _invalid(
                f"quantity may be at most {MAX_UNITS}: each unit is a purchase of its own",
                "items",
                str(line),
                "quantity",
            )
        payload = _item(new, line, order.store_id)
        items.extend(dict(payload) for _ in range(new.quantity))
        lines.extend([line] * new.quantity)
    if len(items) > m.MAX_PURCHASES:
        raise _invalid(
            f"an order may hold at most {m.MAX_PURCHASES} units: each is a purchase of its own",
            "items",
        )
    return {"customer_id": order.customer_id, "order_id": order_id, "items": items}, lines


def _item(new: NewOrderItem, line: int, store_id: str | None) -> Record:
    extra = dict(new.extra)
    named = {k: extra.pop(k, None) for k in EXTRAS}
    for key in extra:
        if key in CHECKED:
            raise _invalid(
                f"items[{line}].extra.{key} is what {CHECKED[key]} sets: give it there, where "
                "it is checked",
                "items",
                str(line),
                "extra",
                key,
            )

    def need(value: Any, field: str) -> str:
        if value is None or str(value).strip() == "":
            raise _invalid(f"items[{line}].{field} is required", "items", str(line), field)
        return str(value)

    def amount(value: Any, field: str) -> str:
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            number = Decimal(-1)
        if not number.is_finite() or number < 0 or (field == "unitPrice" and number == 0):
            raise _invalid(
                f"items[{line}].{field} must be a positive amount", "items", str(line), field
            )
        if not exact_in(number, 0):
            raise _invalid(
                f"items[{line}].{field} must be a whole amount: {number} cannot be sent as an "
                "integer",
                "items",
                str(line),
                field,
            )
        # "50000", not "50000.00": the table types it integer, the example sends a string.
        return format(number.normalize(), "f")

    description = need(new.description or new.name, "description")
    topup = named["topup"]
    # Key order and types as the page's example sends them.
    return {
        "item_type": need(named["item_type"], "itemType"),
        "item_brand": need(new.brand, "brand"),
        "store_key": need(named["store_key"] or store_id, "storeKey"),
        "delivery_option": str(named["delivery_option"] or DEFAULT_DELIVERY),
        "preferred_option": str(named["preferred_option"] or DEFAULT_PREFERRED),
        "item_description": description,
        "facility_plan": str(named["facility_plan"] or FACILITY_PLAN),
        "item_code": need(new.sku, "sku"),
        "item_value": amount(need(new.unit_price, "unitPrice"), "unitPrice"),
        "item_topup": "" if topup in (None, "") else amount(topup, "topup"),
        "topup_ref": "" if named["topup_ref"] is None else str(named["topup_ref"]),
    } | extra  # provider fields the gateway does not name (CHECKED) go as the caller sent them


def _invalid(message: str, *field: str) -> InvalidRequest:
    return InvalidRequest(m.NAME.value, message, field=list(field))
