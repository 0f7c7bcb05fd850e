"""Front Payment payloads -> the domain model: status tables, dates, amounts, one order.

Kept apart from the transport in ``providers/frontpayment.py``; nothing here talks HTTP and
nothing here raises on an odd value: an unknown status is ``UNKNOWN`` (raw value kept), a date
in no format the page shows is ``None``.

Status tables (``providerStatus`` always keeps the raw value):

    Front Payment       OrderStatus   PaymentStatus
    SENT                PENDING       PENDING             link sent, not paid yet
    RESERVED (callback) APPROVED      AUTHORIZED          amount reserved on the card
    CAPTURED (callback) PAID          PAID
    CHARGED (callback)  PAID          PAID
    PAID                PAID          PAID
    INVOICED            INVOICED      PENDING, or PAID once paymentHistory has paidAt
    PARTIAL REFUNDED    PAID          PARTIALLY_REFUNDED  (the contract has no refund state
    REFUNDED            PAID          REFUNDED             for orders: paymentStatus says it)
    CANCELLED           CANCELLED     VOIDED
    EXPIRED             CANCELLED     VOIDED              the link lapsed unpaid
    anything else       UNKNOWN       UNKNOWN

For the paid states (PAID, INVOICED, CAPTURED, CHARGED) the payment history has the last word:
a refunded amount makes the payment PARTIALLY_REFUNDED, or REFUNDED once it reaches what was
paid. The page's own example is such a case: INVOICED with 70 of 100.50 refunded.

Refund type: a refund says whether the order is a "regular" or an "invoiced" one. That is what
the order *is* (its ``type``), not where it stands (its ``status``): the page's example is a
``"type": "REGULAR"`` order with ``"status": "INVOICED"``, and a status moves on ("PARTIAL
REFUNDED") after a first refund while the type stays. The page prints only "REGULAR"; an
invoice order's type is taken to be "INVOICE" (its create endpoint is "Create Session for
Invoice Order"; *inference*), "INVOICED" accepted too. Any other or missing type is "regular".
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from providers.model import (
    Address,
    Customer,
    Order,
    OrderItem,
    OrderStatus,
    PaymentInfo,
    PaymentStatus,
    ProviderName,
    Refund,
    map_enum,
)
from providers.redact import MASK
from providers.values import as_str, count, decimal, money

PROVIDER = ProviderName.FRONTPAYMENT
DEFAULT_CURRENCY = "NOK"
# The page prints local Norwegian times without an offset.
OSLO = ZoneInfo("Europe/Oslo")

ORDER_STATUS = {
    "SENT": OrderStatus.PENDING,
    "RESERVED": OrderStatus.APPROVED,
    "CAPTURED": OrderStatus.PAID,
    "CHARGED": OrderStatus.PAID,
    "PAID": OrderStatus.PAID,
    "INVOICED": OrderStatus.INVOICED,
    "PARTIAL REFUNDED": OrderStatus.PAID,
    "REFUNDED": OrderStatus.PAID,
    "CANCELLED": OrderStatus.CANCELLED,
    "EXPIRED": OrderStatus.CANCELLED,
}
PAYMENT_STATUS = {
    "SENT": PaymentStatus.PENDING,
    "RESERVED": PaymentStatus.AUTHORIZED,
    "CAPTURED": PaymentStatus.PAID,
    "CHARGED": PaymentStatus.PAID,
    "PAID": PaymentStatus.PAID,
    "INVOICED": PaymentStatus.PENDING,
    "PARTIAL REFUNDED": PaymentStatus.PARTIALLY_REFUNDED,
    "REFUNDED": PaymentStatus.REFUNDED,
    "CANCELLED": PaymentStatus.VOIDED,
    "EXPIRED": PaymentStatus.VOIDED,
}
# States in which money was taken, so the payment history decides about refunds.
_PAID_STATES = frozenset({"PAID", "INVOICED", "CAPTURED", "CHARGED"})

# The order ``type`` -> the refund body's ``type``; any other type refunds as "regular".
REFUND_TYPES = {"INVOICE": "invoiced", "INVOICED": "invoiced"}
REGULAR_REFUND = "regular"

# "02.08.2023" (orderDate) and "07:11, 04.08.2023" (paymentLinkDueDate), Oslo local time;
# the other two are tolerated in case the provider drops the comma or adds seconds.
_DATE_FORMATS = ("%d.%m.%Y", "%H:%M, %d.%m.%Y", "%H:%M:%S, %d.%m.%Y", "%d.%m.%Y %H:%M")
_UNIX = re.compile(r"^\d{9,11}$")

Record = dict[str, Any]


def item_key(order_key: str, product_id: str) -> str:
    """An item's key: its order's uuid and its productId, which a refund names."""
    return f"{order_key}/{product_id}"


def split_item_key(key: str) -> tuple[str, str]:
    order_key, _, product_id = key.partition("/")
    return order_key, product_id


def address_key(order_key: str) -> str:
    return f"{order_key}/customer"


def order(data: Record, currency: str) -> Order:
    """One ``data`` of a details answer as an :class:`Order`."""
    key = str(data["orderUuid"])
    raw_status = as_str(data.get("status"))
    summary = _dict(data.get("orderSummary"))
    history = _dict(data.get("paymentHistory"))
    payment = _payment(data, history, currency)
    return Order(
        provider=PROVIDER,
        key=key,
        number=key,
        external_reference=as_str(data.get("internalReferences")),
        status=map_enum(ORDER_STATUS, raw_status, OrderStatus.UNKNOWN),
        provider_status=raw_status,
        payment_status=payment_status(raw_status, payment),
        placed_at=local_datetime(data.get("orderDate")),
        currency=currency,
        total=money(summary.get("grandTotal"), currency),
        subtotal=money(summary.get("subTotal"), currency),
        tax=money(summary.get("tax"), currency),
        discount=money(summary.get("discount"), currency),
        refunded=payment.refunded,
        items=[_item(key, p, currency) for p in products(data)],
        customer=_customer(key, _dict(data.get("customerDetails"))),
        invoice_number=as_str(data.get("invoiceNumber")),
        payment=payment,
        extra=_extra(data),
        raw=_raw(data),
    )


def payment_status(raw_status: str | None, payment: PaymentInfo) -> PaymentStatus:
    status = map_enum(PAYMENT_STATUS, raw_status, PaymentStatus.UNKNOWN)
    if raw_status not in _PAID_STATES:
        return status
    refunded = payment.refunded.amount if payment.refunded else Decimal(0)
    if refunded > 0:
        paid = payment.amount.amount if payment.amount else None
        if paid is not None and refunded >= paid:
            return PaymentStatus.REFUNDED
        return PaymentStatus.PARTIALLY_REFUNDED
    if status is PaymentStatus.PENDING and payment.paid_at is not None:
        return PaymentStatus.PAID  # an invoice that has been paid
    return status


def products(data: Record) -> list[Record]:
    return [p for p in _list(data.get("productList")) if isinstance(p, dict)]


def refund_type(data: Record) -> str:
    """The refund body's ``type`` for an order: from its ``type``, so every refund agrees."""
    order_type = as_str(data.get("type"))
    return REFUND_TYPES.get((order_type or "").strip().upper(), REGULAR_REFUND)


def left_to_refund(data: Record) -> Decimal:
    """What a whole-order refund may still return: paid (or, unpaid, the total) less refunds."""
    history = _dict(data.get("paymentHistory"))
    paid = decimal(history.get("amount"))
    if paid is None:
        paid = decimal(_dict(data.get("orderSummary")).get("grandTotal")) or Decimal(0)
    return paid - (decimal(history.get("refunded")) or Decimal(0))


def _payment(data: Record, history: Record, currency: str) -> PaymentInfo:
    return PaymentInfo(
        link=as_str(data.get("paymentLink")),
        link_due_at=local_datetime(data.get("paymentLinkDueDate")),
        paid_at=unix_datetime(history.get("paidAt")),
        amount=money(history.get("amount"), currency),
        refunded=money(history.get("refunded"), currency),
        refunds=[
            Refund(
                at=unix_datetime(r.get("at")),
                amount=money(r.get("amount"), currency),
                is_refunded=boolean(r.get("isRefunded")),
                is_partial=boolean(r.get("isPartial")),
            )
            for r in _list(history.get("refunds"))
            if isinstance(r, dict)
        ],
    )


def _item(order_key: str, p: Record, currency: str) -> OrderItem:
    product_id = as_str(p.get("productId")) or ""
    return OrderItem(
        provider=PROVIDER,
        key=item_key(order_key, product_id),
        order_key=order_key,
        product_id=product_id or None,
        name=as_str(p.get("name")),
        quantity=_quantity(p.get("quantity")),
        unit_price=money(p.get("rate"), currency),
        total=money(p.get("amount"), currency),
        discount=money(p.get("discount"), currency),
        # A VAT percentage (25, 15, 12, 0 in Norway), not an amount: rates include VAT and
        # amount = rate * quantity - discount, with nothing added for tax.
        tax_rate=decimal(p.get("tax")),
        raw=p,
    )


def _customer(order_key: str, c: Record) -> Customer | None:
    if not c:
        return None
    country_code, msisdn = as_str(c.get("countryCode")), as_str(c.get("msisdn"))
    phone = f"{country_code or ''}{msisdn}" if msisdn else None
    email = as_str(c.get("email"))
    a = _dict(c.get("address"))
    address = None
    if a:
        address = Address(
            provider=PROVIDER,
            key=address_key(order_key),
            email=email,
            phone=phone,
            line=as_str(a.get("street")),
            postcode=as_str(a.get("zip")),
            city=as_str(a.get("city")),
            country=as_str(a.get("country")),
            raw=a,
        )
    return Customer(
        key=as_str(c.get("uuid")),
        name=as_str(c.get("name")),
        email=email,
        phone=phone,
        type=as_str(c.get("type")),
        language=as_str(c.get("preferredLanguage")),
        personal_number=as_str(c.get("personalNumber")),
        organization_id=as_str(c.get("organizationId")),
        address=address,
    )


def _extra(data: Record) -> dict[str, Any]:
    """What has no field of its own, as ``Order.details``.

    ``organizationDetails`` is the merchant's organisation (the token's owner, the same on
    every order), so its address is not the order's billing address: it goes here.
    """
    organization = _dict(data.get("organizationDetails"))
    return {
        "type": data.get("type"),
        "invoice_as_payment_option": boolean(data.get("invoiceAsPaymentOption")),
        "send_order_by": data.get("sendOrderBy"),
        "credit_check": boolean(data.get("creditCheck")),
        "credit_check_history": data.get("creditCheckHistory"),
        "invoice_references": data.get("invoiceReferences"),
        "internal_references": data.get("internalReferences"),
        "translation_key": data.get("translationKey"),
        "organization": {
            "uuid": data.get("organizationUuid"),
            "name": organization.get("name"),
            "billing_address": organization.get("billingAddress"),
        },
        "business_information": data.get("businessInformation"),
        "redirection_urls": data.get("redirectionUrls"),
    }


def _raw(data: Record) -> Record:
    """The payload for ``raw``: the personal number is behind pii:read, not raw:read."""
    customer = data.get("customerDetails")
    if isinstance(customer, dict) and customer.get("personalNumber"):
        return data | {"customerDetails": customer | {"personalNumber": MASK}}
    return data


# -- values ----------------------------------------------------------------------------


def number(amount: Decimal) -> int | float:
    """An amount as the page sends one: a JSON number, whole amounts as integers.

    Nothing is rounded here: the connector refuses an input amount that is not exact in øre
    before it gets this far, and what is left to refund is the provider's own figures.
    """
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def local_datetime(value: Any) -> datetime | None:
    """A date the page prints in Oslo local time: "02.08.2023", "07:11, 04.08.2023"."""
    text = value.strip() if isinstance(value, str) else ""
    return _local_datetime_of(text) if text else None


@lru_cache(maxsize=4096)
def _local_datetime_of(text: str) -> datetime | None:
    """:func:`local_datetime` of a text, remembered: a datetime is immutable, and ``strptime``
    takes 5-11 us a date (a failed format raises first), where an order repeats its day's."""
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=OSLO)
        except ValueError:
            continue
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=OSLO)


def unix_datetime(value: Any) -> datetime | None:
    """Unix seconds, sent as a string ("1710741595"), in UTC."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and _UNIX.match(value.strip())):
        try:
            return datetime.fromtimestamp(int(float(value)), UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return None


def boolean(value: Any) -> bool | None:
    """A boolean that may arrive as 0/1 ("Boolean|Tiny Integer") or as a string of either."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("1", "true", "yes"):
            return True
        if text in ("0", "false", "no"):
            return False
    return None


def _quantity(value: Any) -> int:
    """A product line's quantity, 1 unless it names one."""
    quantity = count(value, PROVIDER.value, "productList[].quantity")
    return 1 if quantity is None else quantity


def _dict(value: Any) -> Record:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
