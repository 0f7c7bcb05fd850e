"""Seed data of the Akinon sandbox: the page's example records verbatim, fixtures, generated ones.

Everything comes from ``random.Random(seed)`` (and fixed fixture ids), never from the clock, so a
seed always yields the same orders, items, cancellation plans and addresses.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

# The page's example records (ids and numbers a test can rely on).
EXAMPLE_ORDER_ID = "e819386c-b406-43dc-86c9-212ff633afe2"
EXAMPLE_ORDER_NUMBER = "45243493"
EXAMPLE_ITEM_ID = "33a11761-43bc-41d4-8f7f-1e860028367b"
EXAMPLE_SHIPPING_ADDRESS_ID = "a4c0eb06-9ad5-40a1-adc2-d4ea4a9aed32"
EXAMPLE_ADDRESS_ID = "4c785dc6-0c69-4f84-aaa8-a34a932db75c"
EXAMPLE_PLAN_ID = "f0cf73ee-8e1e-4025-a03d-8499af3ee493"
EXAMPLE_PLAN_ORDER_ID = "6e5877a9-5a03-48e6-8425-d4be178de83e"
EXAMPLE_PLAN_ITEM_IDS = (
    "f35de315-61b5-4b13-b101-82c3f873bd1f",
    "5481430a-fb72-4d07-bb1d-81dcb9461c5d",
)
DATASOURCE_ID = "7371e321-9ae4-418d-8472-f4d13ce3da8d"

# Fixtures with fixed ids and numbers (their other fields come from the seed).
PLAN_ORDER_NUMBER = "90000700"  # the example plan's order, status 700, address EXAMPLE_ADDRESS_ID
UNKNOWN_STATUS_ORDER_ID = "e63db589-9bf8-4597-a821-99f938f6abcb"
UNKNOWN_STATUS_ORDER_NUMBER = "90000450"  # status 450 is in no table: the gateway shows UNKNOWN
REJECTABLE_ORDER_ID = "d26858ad-1412-4a7c-92c9-cced475a4844"
REJECTABLE_ORDER_NUMBER = "90000100"  # status 100 with the two items below, both status 100
REJECTABLE_ITEM_IDS = (
    "87f9a5a1-fc2b-46b6-9357-10e9bd355364",
    "00a3d85e-f13d-4fc8-a53d-54e04728293c",
)
GENERATED_ORDERS = 240

STATUSES = (100, 200, 300, 400, 500, 600, 700, 800, 900)
CURRENCIES = tuple(
    "TRY USD EUR EGP GBP MAD PLN SAR RON UAH CZK HUF RUB BGN IQD KWD BHD OMR QAR AED NGN".split()
)
PLAN_STATUSES = (
    "completed", "waiting", "waiting_supplier", "approved", "confirmation_waiting", "confirmed",
    "cancelled", "failed", "rejected", "waiting_for_payment", "manuel_refund_need",
)  # fmt: skip
PLAN_TYPES = ("refund", "cancel")
_EPOCH = datetime(2023, 1, 1, tzinfo=UTC)
_THREE_YEARS_S = (datetime(2026, 1, 1, tzinfo=UTC) - _EPOCH).days * 86400
_CARRIERS = ("hbexpress", "yurtici", "aras", "mng")
_FIRST = ("Ayse", "Mehmet", "Elif", "Can", "Zeynep", "Emre", "Selin", "Burak", "Deniz", "Ali")
_LAST = ("Yilmaz", "Kaya", "Demir", "Sahin", "Celik", "Aydin", "Ozturk", "Arslan", "Dogan")
_STREETS = ("Ataturk Cd.", "Bagdat Cd.", "Istiklal Cd.", "Cumhuriyet Mah.", "Inonu Sk.")


@dataclass
class Row:
    """One record: ``data`` is the wire shape in the page's key order; the timestamps are the
    filterable ``created_at``/``updated_at`` that the page's tables list but its schemas omit."""

    data: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass
class Dataset:
    orders: list[Row] = field(default_factory=list)
    items: list[Row] = field(default_factory=list)
    plans: list[Row] = field(default_factory=list)
    addresses: list[Row] = field(default_factory=list)


def iso(moment: datetime) -> str:
    """The page's datetime spelling: ``2019-01-01T00:00:00Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')):.2f}"


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


class _Builder:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.data = Dataset()
        self.numbers: set[str] = set()
        rng = self.rng
        # The example address's geography is part of small pools, so filters on city etc. match.
        self.countries = ["b08eb673-dcd4-483c-a8b9-59ed76b64a1b", _uuid(rng)]
        self.cities = ["2e1adb7c-e1e8-471a-a483-0257d52fb0bc", *(_uuid(rng) for _ in range(5))]
        self.townships = ["13a22409-e32b-4109-99bc-598ddc62c477", *(_uuid(rng) for _ in range(7))]
        self.districts = ["35feab7e-4832-4d31-8448-2cbcd89092ea", *(_uuid(rng) for _ in range(9))]

    def address(self, address_id: str | None = None) -> str:
        rng = self.rng
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        company = rng.random() < 0.2
        row = {
            "id": address_id or _uuid(rng),
            "email": f"{first}.{last}{rng.randrange(100)}@example.com".lower(),
            "phone_number": f"05{rng.randrange(10**9):09d}",
            "first_name": first,
            "last_name": last,
            "line": f"{rng.choice(_STREETS)} No:{rng.randint(1, 200)}",
            "is_active": rng.random() < 0.9,
            "postcode": f"{rng.randint(1, 81):02d}{rng.randrange(1000):03d}",
            "notes": rng.choice((None, "Leave at the door.", "note...")),
            "company_name": f"{last} Ltd." if company else None,
            "tax_office": rng.choice(("Kadikoy", "Besiktas", "Cankaya")) if company else None,
            "tax_no": f"{rng.randrange(10**10):010d}" if company else None,
            "e_bill_taxpayer": company and rng.random() < 0.5,
            "identity_number": f"{rng.randint(1, 9)}{rng.randrange(10**10):010d}",
            "country": rng.choice(self.countries),
            "city": rng.choice(self.cities),
            "township": rng.choice(self.townships),
            "district": rng.choice(self.districts),
        }
        stamp = _EPOCH - timedelta(days=rng.randint(1, 400))
        self.data.addresses.append(Row(row, stamp, stamp))
        return str(row["id"])

    def number(self) -> str:
        while True:
            number = str(self.rng.randrange(10_000_000, 90_000_000))
            if number not in self.numbers:
                self.numbers.add(number)
                return number

    def order(
        self,
        status: int,
        *,
        order_id: str | None = None,
        number: str | None = None,
        item_ids: tuple[str, ...] = (),
        address_id: str | None = None,
        with_plan: bool = True,
    ) -> Row:
        """A consistent order: items, amounts, dates, addresses and (700/800) its plan."""
        rng = self.rng
        placed = _EPOCH + timedelta(seconds=rng.randrange(_THREE_YEARS_S))
        ship_to = address_id or self.address()
        bill_to = ship_to if address_id or rng.random() < 0.6 else self.address()
        currency = rng.choice(CURRENCIES).lower()
        refund = status in (700, 800) and rng.random() < 0.4  # refunds follow a delivery
        progress = 600 if refund else status  # how far the goods got
        carrier = rng.choice(_CARRIERS) if 500 <= progress < 700 else None
        tracking = f"{rng.getrandbits(128):032x}" if carrier else None
        invoiced = 400 <= progress < 700
        invoice = f"INV{rng.randrange(10**8):08d}" if invoiced else None
        invoice_date = iso(placed + timedelta(days=1)) if invoiced else None
        shipped = placed + timedelta(hours=rng.randint(20, 60))
        delivered = shipped + timedelta(hours=rng.randint(20, 90))
        cancel_status = {700: rng.choice(("waiting", "confirmation_waiting")), 800: "completed"}
        order_id = order_id or _uuid(rng)
        item_ids = item_ids or tuple(_uuid(rng) for _ in range(rng.randint(1, 4)))
        prices, discounts = [], []
        for item_id in item_ids:
            price = Decimal(rng.randrange(500, 250_000)) / 100
            discount = (
                Decimal(rng.randrange(int(price * 20))) / 100 if rng.random() < 0.3 else Decimal()
            )
            prices.append(price)
            discounts.append(discount)
            item = {
                "id": item_id,
                "order": order_id,
                "sku": f"SKU-{rng.randrange(10**5):05d}",
                "status": status,
                "price_currency": currency,
                "price": _money(price),
                "tax_rate": rng.choice(("0.00", "8.00", "18.00", "20.00")),
                "invoice_number": invoice,
                "invoice_date": invoice_date,
                "e_archive_url": f"https://earsiv.example.com/{invoice}.pdf" if invoice else None,
                "tracking_number": tracking,
                "shipping_company": carrier,
                "retail_price": _money(price * Decimal("1.2")) if rng.random() < 0.5 else None,
                "extra_field": {},
                "estimated_delivery_date": iso(placed + timedelta(days=5))
                if 200 <= progress < 900
                else None,
                "discount_amount": _money(discount),
                "shipped_date": iso(shipped) if carrier else None,
                "delivered_date": iso(delivered) if carrier and progress >= 600 else None,
                "cancel_status": cancel_status.get(status),
            }
            touched = delivered if carrier else placed + timedelta(hours=rng.randint(1, 12))
            self.data.items.append(Row(item, placed, touched))
        shipping = Decimal(rng.choice(("0.00", "9.99", "14.90", "29.90")))
        discount_total = sum(discounts, Decimal())
        amount = sum(prices, Decimal()) - discount_total + shipping
        cancelled = status == 800
        gift = rng.random() < 0.1
        order = {
            "id": order_id,
            "number": number or self.number(),
            "datasource": DATASOURCE_ID,
            "shipping_address": ship_to,
            "billing_address": bill_to,
            "date_placed": iso(placed),
            "status": status,
            "currency": currency,
            "amount": _money(amount),
            "discount_amount": _money(discount_total),
            "shipping_amount": _money(shipping),
            "shipping_tax_rate": rng.choice((None, "18.00", "20.00")),
            "refund_amount": _money(amount - shipping) if cancelled else "0.00",
            "discount_refund_amount": _money(discount_total) if cancelled else "0.00",
            "shipping_refund_amount": _money(shipping) if cancelled else "0.00",
            "invoice_number": invoice,
            "invoice_date": invoice_date,
            "e_archive_url": f"https://earsiv.example.com/{invoice}.pdf" if invoice else None,
            "tracking_number": tracking,
            "shipping_company": carrier,
            "cargo_company": carrier,
            "has_gift_box": gift,
            "gift_box_note": "Happy birthday!" if gift else None,
            "language_code": rng.choice((None, "tr-tr", "en-us")),
            "notes": rng.choice((None, "Please ring the bell.")),
            "delivery_range": None,
            "shipping_option_slug": rng.choice((None, "standard", "express")),
            "extra_field": {},
            "cancel_status": cancel_status.get(status),
            "shipping_interest_amount": "0.00",
        }
        row = Row(order, placed, placed + timedelta(hours=rng.randint(1, 200)))
        self.data.orders.append(row)
        if with_plan and status in (700, 800):
            self.plan(row, item_ids, "refund" if refund else "cancel")
        return row

    def plan(self, order: Row, item_ids: tuple[str, ...], plan_type: str) -> None:
        data = order.data
        waiting = ("waiting", "waiting_supplier", "confirmation_waiting", "approved", "confirmed")
        done = data["status"] == 800
        plan = {
            "id": _uuid(self.rng),
            "shipping_refund_amount": data["shipping_refund_amount"] if done else "0.00",
            "refund_amount": data["refund_amount"] if done else "0.00",
            "discount_refund_amount": data["discount_refund_amount"] if done else "0.00",
            "status": "completed" if done else self.rng.choice(waiting),
            "plan_type": plan_type,
            "invoice_number": data["invoice_number"],
            "payment_plan": {},
            "order": data["id"],
            "order_items": list(item_ids),
        }
        self.data.plans.append(Row(plan, order.updated_at, order.updated_at))


def _add_examples(builder: _Builder) -> None:
    """The page's example order, item, address and cancellation plan, verbatim."""
    data = builder.data
    builder.address(EXAMPLE_SHIPPING_ADDRESS_ID)
    builder.numbers.add(EXAMPLE_ORDER_NUMBER)
    placed = datetime(2019, 1, 1, tzinfo=UTC)
    # Verbatim, including the page's "datasource" (not in the schema) and its item in status 600
    # under an order in status 100 (the page's two examples disagree; both are kept as shown).
    order = {
        "id": EXAMPLE_ORDER_ID, "number": EXAMPLE_ORDER_NUMBER, "datasource": DATASOURCE_ID,
        "shipping_address": EXAMPLE_SHIPPING_ADDRESS_ID,
        "billing_address": EXAMPLE_SHIPPING_ADDRESS_ID, "date_placed": "2019-01-01T00:00:00Z",
        "status": 100, "currency": "usd", "amount": "629.00", "discount_amount": "0.00",
        "shipping_amount": "0.00", "shipping_tax_rate": None, "refund_amount": "0.00",
        "discount_refund_amount": "0.00", "shipping_refund_amount": "0.00",
        "invoice_number": None, "invoice_date": None, "e_archive_url": None,
        "tracking_number": None, "shipping_company": None, "cargo_company": None,
        "has_gift_box": False, "gift_box_note": None, "language_code": None, "notes": None,
        "delivery_range": None, "shipping_option_slug": None, "extra_field": {},
        "cancel_status": None, "shipping_interest_amount": "0.00",
    }  # fmt: skip
    item = {
        "id": EXAMPLE_ITEM_ID, "order": EXAMPLE_ORDER_ID, "sku": "SP-A", "status": 600,
        "price_currency": "usd", "price": "629.00", "tax_rate": "0.00", "invoice_number": None,
        "invoice_date": None, "e_archive_url": None,
        "tracking_number": "5c0095dab3c087befe04c0d5a0155d3e", "shipping_company": "hbexpress",
        "retail_price": None, "extra_field": {}, "estimated_delivery_date": None,
        "discount_amount": "0.00", "shipped_date": "2019-01-01T00:00:00Z",
        "delivered_date": "2019-01-01T00:00:00Z", "cancel_status": None,
    }  # fmt: skip
    data.orders.append(Row(order, placed, placed))
    data.items.append(Row(item, placed, placed))
    address = {
        "id": EXAMPLE_ADDRESS_ID, "email": "akinon@akinon.com", "phone_number": "05555555555",
        "first_name": "Akinon", "last_name": "Akinon", "line": "Address Text", "is_active": True,
        "postcode": "34000", "notes": "note...", "company_name": None, "tax_office": None,
        "tax_no": None, "e_bill_taxpayer": False, "identity_number": "11111111111",
        "country": "b08eb673-dcd4-483c-a8b9-59ed76b64a1b",
        "city": "2e1adb7c-e1e8-471a-a483-0257d52fb0bc",
        "township": "13a22409-e32b-4109-99bc-598ddc62c477",
        "district": "35feab7e-4832-4d31-8448-2cbcd89092ea",
    }  # fmt: skip
    data.addresses.append(Row(address, placed, placed))
    plan_order = builder.order(
        700,
        order_id=EXAMPLE_PLAN_ORDER_ID,
        number=PLAN_ORDER_NUMBER,
        item_ids=EXAMPLE_PLAN_ITEM_IDS,
        address_id=EXAMPLE_ADDRESS_ID,
        with_plan=False,
    )
    for row in data.items[-len(EXAMPLE_PLAN_ITEM_IDS) :]:
        row.data["cancel_status"] = "waiting"
    plan_order.data["cancel_status"] = "waiting"
    plan = {
        "id": EXAMPLE_PLAN_ID, "shipping_refund_amount": "1.00", "refund_amount": "1.00",
        "discount_refund_amount": "1.00", "status": "waiting", "plan_type": "cancel",
        "invoice_number": "1234", "payment_plan": {}, "order": EXAMPLE_PLAN_ORDER_ID,
        "order_items": list(EXAMPLE_PLAN_ITEM_IDS),
    }  # fmt: skip
    data.plans.append(Row(plan, plan_order.updated_at, plan_order.updated_at))


def build(seed: int) -> Dataset:
    """The sandbox's records for ``seed``: lists ordered newest first, ties broken by id."""
    builder = _Builder(seed)
    builder.numbers.update(
        {PLAN_ORDER_NUMBER, UNKNOWN_STATUS_ORDER_NUMBER, REJECTABLE_ORDER_NUMBER}
    )
    _add_examples(builder)
    builder.order(450, order_id=UNKNOWN_STATUS_ORDER_ID, number=UNKNOWN_STATUS_ORDER_NUMBER)
    builder.order(
        100, order_id=REJECTABLE_ORDER_ID, number=REJECTABLE_ORDER_NUMBER,
        item_ids=REJECTABLE_ITEM_IDS,
    )  # fmt: skip
    for i in range(GENERATED_ORDERS):
        builder.order(STATUSES[i % len(STATUSES)])
    data = builder.data
    for rows in (data.orders, data.items, data.plans, data.addresses):
        rows.sort(key=lambda row: str(row.data["id"]))
        rows.sort(key=lambda row: row.created_at, reverse=True)
    return data
