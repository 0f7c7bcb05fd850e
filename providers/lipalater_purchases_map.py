"""Lipa Later v2 purchases: payloads to the domain, order keys, and the error envelope.

Kept apart from the connector (``providers/lipalater_purchases.py``) so that file holds the
transport and the operations, and this one what the provider's JSON means.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from providers.model import Customer, Money, Order, OrderItem, OrderStatus, ProviderName, map_enum
from providers.values import as_str, money, shown

NAME = ProviderName.LIPALATER_PURCHASES
Record = dict[str, Any]

# Purchase ids are uuids on the page; anything that could not be one path segment never is.
PURCHASE_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")
ORDER_ID = re.compile(r"[0-9]{1,40}")  # the table types order_id as integer
# An order's key names each of its purchases, and reading or cancelling it is a call for each:
# placeOrder makes at most this many, and a key naming more is no key of ours (a forged one
# naming 2,000 made 2,000 DELETEs for one cancelOrder).
MAX_PURCHASES = 20

# facility_status is the purchase's state. The page shows pending_collection_customer and
# collected_by_agent; the sandbox adds collected_by_customer, delivered and cancelled.
FACILITY_STATUS = {
    "pending_collection_customer": OrderStatus.PENDING,
    # An agent collected the item from the store to take it to the customer.
    "collected_by_agent": OrderStatus.SHIPPED,
    "collected_by_customer": OrderStatus.DELIVERED,
    "delivered": OrderStatus.DELIVERED,
    "cancelled": OrderStatus.CANCELLED,
}
_PROGRESS = {OrderStatus.PENDING: 0, OrderStatus.SHIPPED: 1, OrderStatus.DELIVERED: 2}

# Purchase fields that have a field of their own on OrderItem; the rest go to ``details``.
_ITEM_FIELDS = frozenset({"id", "item_code", "item_brand", "item_description", "item_value"})

# The provider's item field -> the placeOrder input field that fed it.
INPUT_FIELDS = {
    "customer_id": "customerId",
    "order_id": "externalReference",
    "item_code": "sku",
    "item_brand": "brand",
    "item_description": "description",
    "item_decription": "description",
    "item_value": "unitPrice",
    "item_type": "itemType",
    "store_key": "storeKey",
    "delivery_option": "deliveryOption",
    "preferred_option": "preferredOption",
    "facility_plan": "facilityPlan",
    "item_topup": "topup",
    "topup_ref": "topupRef",
}


# -- order keys ------------------------------------------------------------------------


def order_key(order_id: str, purchase_ids: Iterable[str]) -> str:
    """``"113~<id>,<id>"``: the API cannot list an order's purchases, so the key names them."""
    return f"{order_id}~{','.join(dict.fromkeys(purchase_ids))}"


def parse_order_key(key: str) -> tuple[str, list[str]] | None:
    """``(order_id, purchase ids)`` of a key made by :func:`order_key`; ``None`` if malformed."""
    order_id, sep, rest = key.rpartition("~")
    ids = list(dict.fromkeys(rest.split(",", MAX_PURCHASES)))
    if (
        not sep
        or not order_id
        or len(ids) > MAX_PURCHASES
        or not all(PURCHASE_ID.fullmatch(i) for i in ids)
    ):
        return None
    return order_id, ids


# -- payload -> domain -----------------------------------------------------------------


def item(r: Record, key_of_order: str, currency: str) -> OrderItem:
    value = money(r.get("item_value"), currency)
    facility = as_str(r.get("facility_status"))
    return OrderItem(
        provider=NAME,
        key=str(r["id"]),
        order_key=key_of_order,
        sku=as_str(r.get("item_code")),
        # The page has no item name; its short description is what names the item.
        name=as_str(r.get("item_description")),
        brand=as_str(r.get("item_brand")),
        description=as_str(r.get("item_description")),
        quantity=1,  # one purchase is one financed item
        unit_price=value,
        total=value,
        status=map_enum(FACILITY_STATUS, facility, OrderStatus.UNKNOWN),
        provider_status=facility,
        extra={k: v for k, v in r.items() if k not in _ITEM_FIELDS},
        raw=r,
    )


def order(
    key: str,
    order_id: str,
    records: Sequence[Record],
    currency: str,
    customer_id: str | None = None,
) -> Order:
    """One merchant order from its purchases: totals summed, status derived from theirs."""
    items = [item(r, key, currency) for r in records]
    total = sum((i.unit_price.amount for i in items if i.unit_price), Decimal("0.00"))
    created = [d for d in (_datetime(r.get("created_at")) for r in records) if d]
    updated = [d for d in (_datetime(r.get("updated_at")) for r in records) if d]
    statuses = [i.provider_status for i in items if i.provider_status]
    applications = {
        str(r["loan_application_detail_id"]) for r in records if r.get("loan_application_detail_id")
    }
    return Order(
        provider=NAME,
        key=key,
        number=order_id,
        external_reference=order_id,
        status=order_status([i.status or OrderStatus.UNKNOWN for i in items]),
        provider_status=",".join(dict.fromkeys(statuses)) or None,
        placed_at=min(created, default=None),
        updated_at=max(updated, default=None),
        currency=currency,
        total=Money(total, currency),
        items=items,
        customer=Customer(key=customer_id) if customer_id else None,
        extra={
            "purchase_ids": [i.key for i in items],
            "loan_application_detail_id": applications.pop() if len(applications) == 1 else None,
        },
        raw={"order_id": order_id, "purchases": list(records)},
    )


def cancelled(r: Record) -> bool:
    """Whether a purchase is cancelled already: a cancel has nothing left to do for it."""
    status = map_enum(FACILITY_STATUS, as_str(r.get("facility_status")), OrderStatus.UNKNOWN)
    return status is OrderStatus.CANCELLED


def order_status(statuses: Sequence[OrderStatus]) -> OrderStatus:
    """An order's status from its purchases'.

    Cancelled purchases are set aside unless all are cancelled. The rest: the least advanced
    status (an order is shipped when every live item is at least shipped), except that an order
    whose items are partly pending and partly further on is PROCESSING. A status no table
    knows makes the order's UNKNOWN.
    """
    if not statuses:
        return OrderStatus.UNKNOWN
    live = [s for s in statuses if s is not OrderStatus.CANCELLED]
    if not live:
        return OrderStatus.CANCELLED
    if any(s not in _PROGRESS for s in live):
        return OrderStatus.UNKNOWN
    least = min(live, key=_PROGRESS.__getitem__)
    if least is OrderStatus.PENDING and any(s is not OrderStatus.PENDING for s in live):
        return OrderStatus.PROCESSING
    return least


# -- the error envelope ----------------------------------------------------------------


def problem(body: Any) -> tuple[str | None, str | None, list[str] | None]:
    """``(message, code, field)`` of ``{type, title, status, detail|details}``.

    ``details`` is either text or, on validation errors, ``{field: [messages]}`` keyed by the
    provider's path ("items[0].item_type"); ``field`` is that path split ("items", "0",
    "item_type"). The token endpoint answers OAuth's ``{error, error_description}`` instead.
    """
    if not isinstance(body, dict):
        return None, None, None
    type_ = body.get("type")
    code = str(type_).rstrip("/").rsplit("/", 1)[-1] if type_ else as_str(body.get("error"))
    detail = body.get("detail")
    if detail in (None, ""):
        detail = body.get("details")
    field = None
    message: str | None
    if isinstance(detail, dict) and detail:
        parts = [f"{k}: {'; '.join(map(shown, _as_list(v)))}" for k, v in detail.items()]
        message = "; ".join(parts)
        field = split_path(str(next(iter(detail))))
    elif isinstance(detail, list) and detail:
        message = "; ".join(map(shown, detail))
    elif detail not in (None, ""):
        message = shown(detail)
    else:
        message = as_str(body.get("error_description") or body.get("title") or body.get("message"))
    return message, code, field


def split_path(path: str) -> list[str]:
    """``"items[0].item_type"`` -> ``["items", "0", "item_type"]``."""
    return [p for p in re.split(r"[.\[\]]+", path) if p]


def input_field(field: list[str] | None, lines: Sequence[int]) -> list[str] | None:
    """A provider field path as the placeOrder caller named it (``lines``: purchase -> line)."""
    if not field:
        return None
    if field[0] == "items" and len(field) >= 3 and field[1].isdigit():
        index = int(field[1])
        line = lines[index] if index < len(lines) else index
        return ["input", "items", str(line), INPUT_FIELDS.get(field[2], field[2])]
    return ["input", INPUT_FIELDS.get(field[0], field[0])]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _datetime(value: Any) -> datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)  # "2020-11-25T07:55:27.364Z" (3.11 reads the Z)
    except ValueError:
        return None
