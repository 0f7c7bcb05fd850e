"""Lipa Later v2 purchases sandbox: value lists, the purchase record, its seed data and
the validation of a requested item.

The page's own records are seeded verbatim (order "113"); generated purchases follow in
:data:`GENERATED_ORDER_IDS`, their ids drawn from ``random.Random(seed)``.
"""

from __future__ import annotations

import math
import random
import string
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

ITEM_TYPES = (
    "phone",
    "tv",
    "laptop",
    "tablet",
    "home_theater",
    "furniture",
    "fridge",
    "cooker",
    "other",
)
# The page's list plus ``store_pick_up``, which real clients send.
DELIVERY_OPTIONS = (
    "customer_store_pickup",
    "customer_lipalater_pickup",
    "store_delivery",
    "lipalater_delivery",
    "agent_delivery",
    "store_pick_up",
)
PREFERRED_OPTIONS = ("delivery", "pick_up")
FACILITY_PLAN = "lipalater_regular_plan"

PENDING = "pending_collection_customer"
FACILITY_STATUSES = (
    PENDING,
    "collected_by_agent",
    "collected_by_customer",
    "delivered",
    "cancelled",
)
# Where a purchase may go next; a status absent from the values is final.
TRANSITIONS: dict[str, frozenset[str]] = {
    PENDING: frozenset({"collected_by_agent", "collected_by_customer", "delivered", "cancelled"}),
    "collected_by_agent": frozenset({"delivered", "cancelled"}),
    "collected_by_customer": frozenset(),
    "delivered": frozenset(),
    "cancelled": frozenset(),
}


@dataclass(frozen=True)
class Store:
    name: str
    partner_store_id: str


STORES: dict[str, Store] = {
    "queens_mobile": Store("QUEENS MOBILE", "61d273cf-6584-4429-af01-7b4dd2ae9f78"),
    # The page names this store but never shows its partner_store_id.
    "jkiarie": Store("JKIARIE", "0f5b3c7e-2d4a-4e8b-9a61-3c2f7d9e1b45"),
}

LOAN_PRODUCT_ID = "e55e5ec9-13b1-4dbf-ac14-40b482c5d677"
INTEREST_RATE = 4.2
LOAN_DURATION = 12

EXAMPLE_ORDER_ID = "113"
EXAMPLE_PURCHASE_ID = "e87a57de-4fe3-447e-bfdf-89b9a1a6cd4f"
# The record in the page's create response, and the id in its cancel response's message.
EXAMPLE_CREATED_ID = "33ac6c2d-5b4e-47a8-b107-6d1f0e5cc73f"
EXAMPLE_CANCEL_ID = "24d40a7c-6ea5-4195-85d2-eabe4370dbe0"
EXAMPLE_APPLICATION_ID = "28fcaa6e-6fd3-4caf-9db5-b39cdd8734b3"
EXAMPLE_CUSTOMER_ID = "8bf616dd-4cdc-4c55-80bc-58678102f3d3"

GENERATED_ORDER_IDS = ("1001", "1002", "1003", "1004", "1005")
ITEMS_PER_GENERATED_ORDER = 4

_BRANDS = {
    "phone": ("Samsung Galaxy A14", "Tecno Spark 10", "iPhone 13 128GB"),
    "tv": ('Hisense 43" Smart TV', 'TCL 55" 4K TV'),
    "laptop": ("HP 250 G8", "Lenovo IdeaPad 3"),
    "tablet": ("Samsung Galaxy Tab A8",),
    "home_theater": ("Sony HT-S20R",),
    "furniture": ("Victoria Court 5-seater sofa",),
    "fridge": ("Ramtons 138L fridge",),
    "cooker": ("Von 4-burner cooker",),
    "other": ("16GB A Series Walkman Video MP3",),
}


@dataclass
class Purchase:
    """One purchased item (the API's "purchase"); ``order_id`` groups a cart's items."""

    id: str
    order_id: str
    customer_id: str
    store_key: str
    facility_status: str
    preferred_option: str
    created_at: str
    updated_at: str
    item_type: str
    item_brand: str
    item_code: str
    item_value: float
    delivery_option: str
    item_description: str
    item_topup: float
    topup_ref: str
    loan_application_detail_id: str
    upfront_fees: float = 0.0

    def render(self) -> dict[str, Any]:
        """The purchase as the page answers it, in the page's field order."""
        store = STORES[self.store_key]
        return {
            "interest_rate": INTEREST_RATE,
            "loan_duration": LOAN_DURATION,
            "facility_status": self.facility_status,
            "preferred_option": self.preferred_option,
            # The plan is sent as "lipalater_regular_plan" and answered as 0.
            "facility_plan": 0,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "item_type": self.item_type,
            "item_brand": self.item_brand,
            "item_code": self.item_code,
            "store_name": store.name,
            "item_value": self.item_value,
            "delivery_option": self.delivery_option,
            "item_description": self.item_description,
            "item_topup": self.item_topup,
            "topup_ref": self.topup_ref,
            "upfront_fees": self.upfront_fees,
            "source": "sales-rep",
            "accepted_terms": "accepted",
            "id": self.id,
            "loan_application_detail_id": self.loan_application_detail_id,
            "partner_store_id": store.partner_store_id,
            "loan_product_id": LOAN_PRODUCT_ID,
        }


def iso_ms(moment: datetime) -> str:
    """``2020-11-25T07:55:27.294Z``: UTC with milliseconds, as the page writes times."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def uuid4(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _example(id_: str, brand: str, store_key: str, created_at: str) -> Purchase:
    return Purchase(
        id=id_,
        order_id=EXAMPLE_ORDER_ID,
        customer_id=EXAMPLE_CUSTOMER_ID,
        store_key=store_key,
        facility_status=PENDING,
        preferred_option="pick_up",
        created_at=created_at,
        updated_at=created_at,
        item_type="other",
        item_brand=brand,
        item_code="H0148VPS1T",
        item_value=50000.0,
        delivery_option="customer_store_pickup",
        item_description="16GB A Series Walkman Video MP3",
        item_topup=0.0,
        topup_ref="",
        loan_application_detail_id=EXAMPLE_APPLICATION_ID,
    )


def example_purchases() -> list[Purchase]:
    """The page's records: the GET example, the create response's item, the cancelled id."""
    walkman_16 = "16GB A Series Walkman Video MP3"
    walkman_36 = "36GB A Series Walkman Video MP3"
    return [
        _example(EXAMPLE_PURCHASE_ID, walkman_16, "queens_mobile", "2020-11-25T07:55:27.294Z"),
        _example(EXAMPLE_CREATED_ID, walkman_36, "queens_mobile", "2020-11-25T07:55:27.364Z"),
        # Only its id is on the page; the rest mirrors the curl example's jkiarie item.
        _example(EXAMPLE_CANCEL_ID, walkman_36, "jkiarie", "2020-11-25T07:55:27.412Z"),
    ]


def _generated(rng: random.Random, order_id: str, index: int, created: datetime) -> Purchase:
    item_type = rng.choice(ITEM_TYPES)
    brand = rng.choice(_BRANDS[item_type])
    delivery_option = rng.choice(DELIVERY_OPTIONS)
    # Statuses cycle so that every status has seeded purchases whatever the seed.
    status = FACILITY_STATUSES[index % len(FACILITY_STATUSES)]
    updated = created if status == PENDING else created + timedelta(hours=rng.randrange(1, 72))
    topup = float(rng.randrange(1, 20) * 500) if rng.random() < 0.2 else 0.0
    return Purchase(
        id=uuid4(rng),
        order_id=order_id,
        customer_id="",
        store_key=rng.choice(sorted(STORES)),
        facility_status=status,
        preferred_option="delivery" if "delivery" in delivery_option else "pick_up",
        created_at=iso_ms(created),
        updated_at=iso_ms(updated),
        item_type=item_type,
        item_brand=brand,
        item_code="".join(rng.choices(string.ascii_uppercase + string.digits, k=10)),
        item_value=float(rng.randrange(4, 300) * 500),
        delivery_option=delivery_option,
        item_description=brand,
        item_topup=topup,
        topup_ref=f"TP{rng.randrange(10**7, 10**8)}" if topup else "",
        loan_application_detail_id="",
    )


def generated_purchases(rng: random.Random) -> list[Purchase]:
    """``ITEMS_PER_GENERATED_ORDER`` purchases for each of :data:`GENERATED_ORDER_IDS`."""
    purchases: list[Purchase] = []
    base = datetime(2021, 3, 1, tzinfo=UTC)
    for order_id in GENERATED_ORDER_IDS:
        customer_id = uuid4(rng)
        application_id = uuid4(rng)
        created = base + timedelta(
            seconds=rng.randrange(180 * 86400), milliseconds=rng.randrange(1000)
        )
        for _ in range(ITEMS_PER_GENERATED_ORDER):
            purchase = _generated(rng, order_id, len(purchases), created)
            purchase.customer_id = customer_id
            purchase.loan_application_detail_id = application_id
            purchases.append(purchase)
            created += timedelta(milliseconds=rng.randrange(20, 90))
    return purchases


# --- validation of requested items ------------------------------------------------------


class FieldErrors(dict[str, list[str]]):
    """Validation messages by field path ("items[0].item_type")."""

    def add(self, where: str, message: str) -> None:
        self.setdefault(where, []).append(message)


def text(raw: dict[str, Any], key: str, where: str, errors: FieldErrors) -> str:
    value = raw.get(key)
    if value is None or value == "":
        errors.add(f"{where}{key}", "is required")
    elif not isinstance(value, str):
        errors.add(f"{where}{key}", "must be a string")
    else:
        return value
    return ""


def choice(
    raw: dict[str, Any], key: str, allowed: tuple[str, ...], where: str, errors: FieldErrors
) -> str:
    value = text(raw, key, where, errors)
    if value and value not in allowed:
        errors.add(f"{where}{key}", "must be one of: " + ", ".join(allowed))
    return value


def _amount(value: Any, where: str, errors: FieldErrors) -> float:
    """A number sent as a number or as a numeric string ("50000")."""
    if not isinstance(value, bool) and isinstance(value, int | float | str):
        try:
            number = float(value)
        except ValueError:
            pass
        else:
            if math.isfinite(number) and number >= 0:
                return number
    errors.add(where, "must be a non-negative number")
    return 0.0


def _whole(value: Any, where: str, errors: FieldErrors) -> float:
    """``item_value``, typed integer on the page and sent as "50000" by its example: a whole
    number, as a number or a string of digits; one with a fraction ("49999.5", 49999.5) is
    refused, never rounded. Answered as a float (50000.0), as the page's answers show it."""
    digits = str(value) if type(value) is int else value if isinstance(value, str) else ""
    if digits.isascii() and digits.isdigit() and math.isfinite(float(digits)):
        return float(digits)
    errors.add(where, "must be a non-negative integer")
    return 0.0


def parse_item(raw: Any, where: str, errors: FieldErrors) -> dict[str, Any]:
    """The Purchase fields of one requested item; problems go to ``errors``."""
    if not isinstance(raw, dict):
        errors.add(where.rstrip("."), "must be an object")
        return {}
    store_key = text(raw, "store_key", where, errors)
    if store_key and store_key not in STORES:
        errors.add(f"{where}store_key", "is not a known store")
    # The table says required but also names defaults: a missing option takes its default.
    raw = {"delivery_option": "store_delivery", "preferred_option": "delivery", **raw}
    # The page's own curl example sends a store_key as preferred_option: accept and echo those.
    preferred = PREFERRED_OPTIONS + tuple(STORES)
    # The example spells item_description, the table item_decription: accept either.
    if "item_description" not in raw and "item_decription" in raw:
        raw["item_description"] = raw["item_decription"]
    plan = raw.get("facility_plan")
    # Sent as "lipalater_regular_plan"; 0 (how it is answered) is taken back too.
    if plan != FACILITY_PLAN and not (type(plan) is int and plan == 0):
        errors.add(
            f"{where}facility_plan",
            "is required" if plan in (None, "") else f"must be {FACILITY_PLAN}",
        )
    item_value = 0.0
    if raw.get("item_value") in (None, ""):
        errors.add(f"{where}item_value", "is required")
    else:
        item_value = _whole(raw["item_value"], f"{where}item_value", errors)
        if item_value == 0 and f"{where}item_value" not in errors:
            errors.add(f"{where}item_value", "must be greater than 0")
    # item_topup is typed string and sent as "": answered as a number, "" as 0.0.
    topup = raw.get("item_topup")
    item_topup = 0.0 if topup in (None, "") else _amount(topup, f"{where}item_topup", errors)
    topup_ref = raw.get("topup_ref")
    if topup_ref is not None and not isinstance(topup_ref, str):
        errors.add(f"{where}topup_ref", "must be a string")
    return {
        "item_type": choice(raw, "item_type", ITEM_TYPES, where, errors),
        "item_brand": text(raw, "item_brand", where, errors),
        "store_key": store_key,
        "delivery_option": choice(raw, "delivery_option", DELIVERY_OPTIONS, where, errors),
        "preferred_option": choice(raw, "preferred_option", preferred, where, errors),
        "item_description": text(raw, "item_description", where, errors),
        "item_code": text(raw, "item_code", where, errors),
        "item_value": item_value,
        "item_topup": item_topup,
        "topup_ref": topup_ref if isinstance(topup_ref, str) else "",
    }


def parse_order_id(value: Any, errors: FieldErrors) -> str:
    """The table types order_id as integer, the examples send "113": take both, answer text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.strip().isdigit():
        return value.strip()
    errors.add("order_id", "is required" if value in (None, "") else "must be an integer")
    return ""
