"""Seed orders of the Front Payment sandbox: the page's example verbatim plus generated ones.

Generated orders have fixed uuids (the constants below, two per status) and seeded contents, so
tests can pick an order by status whatever the seed. The INVOICED ones are invoice orders
(``type`` "INVOICE", an *inference*: the page prints only "REGULAR"), so they stay invoice orders
once refunds move their status on; every other generated order, and the page's example (an
INVOICED order of type "REGULAR"), is "REGULAR". Figures are consistent: product rates
include 25 % Norwegian VAT, ``amount = rate * quantity - discount``, ``grandTotal`` is the sum of
the amounts, ``subTotal = grandTotal / 1.25`` (2 dp) and ``tax`` the rest.
"""

from __future__ import annotations

import calendar
import datetime as dt
import random
from typing import Any

Order = dict[str, Any]

EXAMPLE_UUID = "ODR986760186"
# The page documents a 510 answer but not what triggers it; this uuid always answers it.
FAILING_UUID = "ODR510000000"

STATUSES = (
    "SENT",
    "PAID",
    "INVOICED",
    "CANCELLED",
    "EXPIRED",
    "REFUNDED",
    "PARTIAL REFUNDED",
    "RESERVED",
)
ORDER_UUIDS: dict[str, tuple[str, str]] = {
    status: (f"ODR1000{i + 1}0001", f"ODR1000{i + 1}0002") for i, status in enumerate(STATUSES)
}
SENT_UUID = ORDER_UUIDS["SENT"][0]
PAID_UUID = ORDER_UUIDS["PAID"][0]
INVOICED_UUID = ORDER_UUIDS["INVOICED"][0]
CANCELLED_UUID = ORDER_UUIDS["CANCELLED"][0]
EXPIRED_UUID = ORDER_UUIDS["EXPIRED"][0]
REFUNDED_UUID = ORDER_UUIDS["REFUNDED"][0]
PARTIAL_REFUNDED_UUID = ORDER_UUIDS["PARTIAL REFUNDED"][0]
RESERVED_UUID = ORDER_UUIDS["RESERVED"][0]

REGULAR_TYPE = "REGULAR"  # the page's example
INVOICE_TYPE = "INVOICE"  # an invoice order (inference; see the module docstring)

# Only the example's "orderInvoiced" is documented; the others follow its pattern.
TRANSLATION_KEYS = {
    "SENT": "orderSent",
    "PAID": "orderPaid",
    "INVOICED": "orderInvoiced",
    "CANCELLED": "orderCancelled",
    "EXPIRED": "orderExpired",
    "REFUNDED": "orderRefunded",
    "PARTIAL REFUNDED": "orderPartiallyRefunded",
    "RESERVED": "orderReserved",
}
PAID_STATUSES = frozenset({"PAID", "INVOICED", "REFUNDED", "PARTIAL REFUNDED"})

# The merchant the static token belongs to: every order is one of its orders.
ORGANIZATION_UUID = "ORG2111119716"
ORGANIZATION_DETAILS: dict[str, Any] = {
    "name": "Partex",
    "billingAddress": {
        "countryCode": "+47",
        "msisdn": "46567468",
        "email": "[email protected]",
        "street": "Luramyrveien 65",
        "zip": "4313",
        "city": "Sandnes",
        "country": "NO",
    },
}
BUSINESS_INFORMATION: dict[str, Any] = {
    "name": "Partex",
    "type": "Business and Industrial Markets",
    "location": "stenifs",
}


def example_order() -> Order:
    """The page's example order, every value as printed.

    Kept as printed even where it disagrees with itself: status INVOICED although 70 of the
    100.50 paid is refunded; 4017.86 + 482.14 is 12 % VAT on 4500, not 25 %; the product's tax
    is 0 while the summary's is not; the emails are the page's (scraped) "[email protected]".
    """
    return {
        "type": "REGULAR",
        "paymentLink": None,
        "orderUuid": EXAMPLE_UUID,
        "invoiceNumber": None,
        "status": "INVOICED",
        "productList": [
            {
                "name": "Router",
                "productId": "R_1",
                "quantity": 1,
                "rate": 4500,
                "discount": 0,
                "tax": 0,
                "amount": 4500,
            }
        ],
        "orderSummary": {"subTotal": 4017.86, "tax": 482.14, "discount": 0, "grandTotal": 4500},
        "invoiceAsPaymentOption": 1,
        "orderDate": "02.08.2023",
        "paymentLinkDueDate": "07:11, 04.08.2023",
        "sendOrderBy": {"sms": False, "email": True, "invoice": False},
        "creditCheck": False,
        "customerDetails": {
            "type": "Private",
            "uuid": "CSRT197366289",
            "countryCode": "+47",
            "msisdn": "46567468",
            "email": "[email protected]",
            "name": "Kari Nordmann",
            "preferredLanguage": "en",
            "personalNumber": None,
            "organizationId": None,
            "address": {
                "street": "Luramyrveien 65",
                "zip": "4313",
                "city": "Sandnes",
                "country": "NO",
            },
        },
        "invoiceReferences": None,
        "internalReferences": None,
        "organizationDetails": {
            "name": "Partex",
            "billingAddress": dict(ORGANIZATION_DETAILS["billingAddress"]),
        },
        "translationKey": "orderInvoiced",
        "creditCheckHistory": None,
        "businessInformation": dict(BUSINESS_INFORMATION),
        "organizationUuid": ORGANIZATION_UUID,
        "redirectionUrls": None,
        "paymentHistory": {
            "paidAt": "1710741595",
            "amount": 100.50,
            "refunded": 70,
            "refunds": [
                {"at": "1710741705", "amount": 10, "isRefunded": True, "isPartial": True},
                {"at": "1710741769", "amount": 30, "isRefunded": True, "isPartial": True},
                {"at": "1710741794", "amount": 30, "isRefunded": True, "isPartial": True},
            ],
        },
    }


def money(value: float) -> float:
    """Round to øre; whole amounts stay integers, as the page prints them (4500, 70)."""
    rounded = round(value, 2)
    return int(rounded) if rounded == int(rounded) else rounded


_CATALOG = (
    ("Mesh Wi-Fi Node", "MW_2", 1899),
    ("Fiber Installation", "FI_3", 2490.5),
    ("Network Cable 10m", "NC_4", 149.9),
    ("Smart Plug", "SP_5", 299),
    ("Service Agreement 12 months", "SA_6", 1188),
    ("Wall Mount", "WM_7", 249.5),
)
_NAMES = (
    "Ola Nordmann",
    "Ingrid Larsen",
    "Per Johansen",
    "Nora Berg",
    "Lars Olsen",
    "Sofie Bakken",
    "Emil Haugen",
    "Maja Pedersen",
)
_ADDRESSES = (
    ("Karl Johans gate 22", "0159", "Oslo"),
    ("Bryggen 15", "5003", "Bergen"),
    ("Munkegata 10", "7011", "Trondheim"),
    ("Kirkegata 5", "4006", "Stavanger"),
    ("Storgata 40", "9008", "Tromsø"),
)
# The page types invoiceAsPaymentOption "Boolean|Tiny Integer": the seed uses all four values.
_INVOICE_OPTION: tuple[bool | int, ...] = (True, False, 1, 0)
_FIRST_DAY = dt.datetime(2023, 8, 1, 8, 0)


def generated_orders(seed: int) -> dict[str, Order]:
    """Two orders per status under the fixed uuids, their contents drawn from ``seed``."""
    rng = random.Random(seed)
    orders: dict[str, Order] = {}
    index = 0
    for status in STATUSES:
        for uuid in ORDER_UUIDS[status]:
            orders[uuid] = _order(rng, uuid, status, index)
            index += 1
    return orders


def _products(rng: random.Random) -> list[dict[str, Any]]:
    products = []
    for name, product_id, rate in rng.sample(_CATALOG, rng.randint(1, 3)):
        quantity = rng.randint(1, 3)
        discount = money(rate * quantity * 0.1) if rng.random() < 0.3 else 0
        products.append(
            {
                "name": name,
                "productId": product_id,
                "quantity": quantity,
                "rate": rate,
                "discount": discount,
                # A VAT percentage (inference: the example's 0 says nothing either way).
                "tax": 25,
                "amount": money(rate * quantity - discount),
            }
        )
    return products


def _summary(products: list[dict[str, Any]]) -> dict[str, Any]:
    grand_total = money(sum(p["amount"] for p in products))
    sub_total = money(grand_total / 1.25)
    return {
        "subTotal": sub_total,
        "tax": money(grand_total - sub_total),
        "discount": money(sum(p["discount"] for p in products)),
        "grandTotal": grand_total,
    }


def _customer(rng: random.Random) -> dict[str, Any]:
    name = rng.choice(_NAMES)
    street, zip_code, city = rng.choice(_ADDRESSES)
    corporate = rng.random() < 0.25
    return {
        "type": "Corporate" if corporate else "Private",
        "uuid": f"CSRT{rng.randint(100000000, 999999999)}",
        "countryCode": "+47",
        "msisdn": f"{rng.choice('49')}{rng.randint(0, 9999999):07d}",
        "email": name.lower().replace(" ", ".") + "@example.no",
        "name": name,
        "preferredLanguage": rng.choice(("en", "no")),
        "personalNumber": None,
        "organizationId": str(rng.randint(900000000, 999999999)) if corporate else None,
        "address": {"street": street, "zip": zip_code, "city": city, "country": "NO"},
    }


def _payment_history(rng: random.Random, status: str, paid_at: int, total: float) -> Order:
    if status not in PAID_STATUSES:
        return {"paidAt": None, "amount": None, "refunded": None, "refunds": []}
    refunds: list[dict[str, Any]] = []
    at = paid_at
    if status == "REFUNDED":
        at += rng.randint(3600, 5 * 86400)
        refunds.append({"at": str(at), "amount": total, "isRefunded": True, "isPartial": False})
    elif status == "PARTIAL REFUNDED":
        for _ in range(rng.randint(1, 2)):
            at += rng.randint(3600, 5 * 86400)
            amount = money(total * rng.choice((0.1, 0.2)))
            refunds.append({"at": str(at), "amount": amount, "isRefunded": True, "isPartial": True})
    return {
        "paidAt": str(paid_at),
        "amount": total,
        "refunded": money(sum(r["amount"] for r in refunds)),
        "refunds": refunds,
    }


def _order(rng: random.Random, uuid: str, status: str, index: int) -> Order:
    ordered = _FIRST_DAY + dt.timedelta(days=rng.randint(0, 400), minutes=rng.randint(0, 600))
    due = ordered + dt.timedelta(days=2)
    paid_at = calendar.timegm((ordered + dt.timedelta(hours=rng.randint(1, 40))).timetuple())
    products = _products(rng)
    summary = _summary(products)
    invoiced = status == "INVOICED"
    by_sms = rng.random() < 0.5
    return {
        "type": INVOICE_TYPE if invoiced else REGULAR_TYPE,
        "paymentLink": f"https://demo-pay.frontpayment.no/{uuid}" if status == "SENT" else None,
        "orderUuid": uuid,
        "invoiceNumber": f"INV{100000 + index}" if invoiced else None,
        "status": status,
        "productList": products,
        "orderSummary": summary,
        "invoiceAsPaymentOption": 1 if invoiced else _INVOICE_OPTION[index % 4],
        "orderDate": ordered.strftime("%d.%m.%Y"),
        "paymentLinkDueDate": due.strftime("%H:%M, %d.%m.%Y"),
        "sendOrderBy": {"sms": by_sms, "email": not by_sms, "invoice": invoiced},
        "creditCheck": rng.random() < 0.3,
        "customerDetails": _customer(rng),
        "invoiceReferences": f"REF-{rng.randint(1000, 9999)}" if rng.random() < 0.3 else None,
        "internalReferences": f"PO-{rng.randint(1000, 9999)}" if rng.random() < 0.3 else None,
        "organizationDetails": {
            "name": ORGANIZATION_DETAILS["name"],
            "billingAddress": dict(ORGANIZATION_DETAILS["billingAddress"]),
        },
        "translationKey": TRANSLATION_KEYS[status],
        "creditCheckHistory": None,
        "businessInformation": dict(BUSINESS_INFORMATION),
        "organizationUuid": ORGANIZATION_UUID,
        "redirectionUrls": None,
        "paymentHistory": _payment_history(rng, status, paid_at, summary["grandTotal"]),
    }
