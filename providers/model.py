"""The domain model: what every connector answers with, whatever its provider's payloads.

Plain dataclasses, no GraphQL and no provider field names. Money is always in major units with
an upper-case ISO 4217 code; datetimes are timezone-aware. Each record carries its provider and
its ``key``: the connector's own opaque reference, from which the graph layer makes global ids.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Enum(enum.Enum):
    """An enum whose members hash by identity, in C. A member is a singleton equal only to
    itself, so that hash agrees with ``==``; ``enum.Enum``'s own ``__hash__`` is a Python
    function, and every cache, loader and coercion keyed by a provider or a status calls it
    (some 700 times for a 50-order W3 request)."""

    __hash__ = object.__hash__


class ProviderName(Enum):
    """The provider APIs the gateway speaks; values are the config section names."""

    LIPALATER = "lipalater"
    LIPALATER_PURCHASES = "lipalater_purchases"
    FRONTPAYMENT = "frontpayment"
    KALIXO = "kalixo"
    AKINON = "akinon"


class OrderStatus(Enum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    PROCESSING = "PROCESSING"
    PACKAGED = "PACKAGED"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    COMPLETED = "COMPLETED"
    INVOICED = "INVOICED"
    PAID = "PAID"
    CANCELLATION_REQUESTED = "CANCELLATION_REQUESTED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"
    FAILED = "FAILED"
    UNKNOWN = "UNKNOWN"


class PaymentStatus(Enum):
    PENDING = "PENDING"
    AUTHORIZED = "AUTHORIZED"
    PAID = "PAID"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    REFUNDED = "REFUNDED"
    VOIDED = "VOIDED"
    UNKNOWN = "UNKNOWN"


E = TypeVar("E", bound=enum.Enum)


def map_enum(table: dict[Any, E], raw: Any, unknown: E) -> E:
    """Look ``raw`` up in a provider's table; a value the table does not know is ``unknown``."""
    try:
        return table.get(raw, unknown)
    except TypeError:  # unhashable junk from upstream is still just an unknown value
        return unknown


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    @classmethod
    def of(cls, amount: Decimal | str | int | float | None, currency: str) -> Money | None:
        """Money from a provider's number or numeric string; ``None`` stays ``None``."""
        if amount is None or amount == "":
            return None
        if isinstance(amount, str):
            return _money_of_text(amount, currency)
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
        return cls(value, currency.upper())

    @classmethod
    def minor(cls, amount: int | str | None, currency: str, exponent: int = 2) -> Money | None:
        """Money from minor units (pence, cents): 3299 GBP -> 32.99 GBP."""
        if amount is None or amount == "":
            return None
        return cls(Decimal(int(amount)).scaleb(-exponent), currency.upper())


@lru_cache(maxsize=4096)
def _money_of_text(amount: str, currency: str) -> Money:
    """``Money.of`` for an amount sent as text, remembered: a Money is immutable, and the same
    few texts ("0.00" above all) come back in every order's discount, shipping and refund.
    Keyed by the exact text, so "629.0" and "629.00" stay as each was sent."""
    return Money(Decimal(amount), currency.upper())


@dataclass(slots=True)
class Tracking:
    number: str | None = None
    company: str | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    estimated_delivery: datetime | None = None


@dataclass(slots=True)
class DigitalCode:
    """A digital PIN. A secret: rendered only with scope ``pins:read``, never logged."""

    code: str
    serial: str | None = None

    def __repr__(self) -> str:
        return "DigitalCode(code=<redacted>)"


class Detailed:
    """A record with provider-specific details (``Order``, ``OrderItem``): ``extra``, which the
    connector worked out, and the fields of the provider's record named in ``raw_details``,
    taken as the provider sent them only when ``details()`` is asked for (a page of 100 orders
    whose details nobody selected builds no dict for them)."""

    __slots__ = ()
    extra: dict[str, Any]
    raw: dict[str, Any] | None
    raw_details: tuple[str, ...]

    def details(self) -> dict[str, Any]:
        if not self.raw_details:
            return self.extra
        raw = self.raw or {}
        return self.extra | {name: raw.get(name) for name in self.raw_details}


@dataclass(slots=True)
class OrderItem(Detailed):
    provider: ProviderName
    key: str
    order_key: str
    sku: str | None = None
    product_id: str | None = None
    name: str | None = None
    brand: str | None = None
    description: str | None = None
    quantity: int = 1
    unit_price: Money | None = None
    total: Money | None = None
    discount: Money | None = None
    tax: Money | None = None
    tax_rate: Decimal | None = None
    status: OrderStatus | None = None
    provider_status: str | None = None
    tracking: Tracking | None = None
    codes: list[DigitalCode] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] | None = None
    raw_details: tuple[str, ...] = ()


@dataclass(slots=True)
class Address:
    """A customer address (Akinon's customer-addresses, or a customer's postal address)."""

    provider: ProviderName
    key: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    line: str | None = None
    postcode: str | None = None
    city: str | None = None
    district: str | None = None
    township: str | None = None
    country: str | None = None
    company_name: str | None = None
    tax_office: str | None = None
    tax_number: str | None = None
    identity_number: str | None = None
    is_active: bool | None = None
    notes: str | None = None
    raw: dict[str, Any] | None = None


@dataclass(slots=True)
class Customer:
    key: str | None = None
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    type: str | None = None
    language: str | None = None
    personal_number: str | None = None
    organization_id: str | None = None
    address: Address | None = None


@dataclass(slots=True)
class CancellationPlan:
    provider: ProviderName
    key: str
    order_key: str
    item_keys: list[str] = field(default_factory=list)
    plan_type: str | None = None
    status: str | None = None
    refund: Money | None = None
    shipping_refund: Money | None = None
    discount_refund: Money | None = None
    invoice_number: str | None = None
    raw: dict[str, Any] | None = None


@dataclass(slots=True)
class Refund:
    at: datetime | None
    amount: Money | None
    is_refunded: bool | None = None
    is_partial: bool | None = None


@dataclass(slots=True)
class PaymentInfo:
    link: str | None = None
    link_due_at: datetime | None = None
    paid_at: datetime | None = None
    amount: Money | None = None
    refunded: Money | None = None
    refunds: list[Refund] = field(default_factory=list)


@dataclass(slots=True)
class Order(Detailed):
    provider: ProviderName
    key: str
    number: str
    external_reference: str | None = None
    status: OrderStatus = OrderStatus.UNKNOWN
    provider_status: str | None = None
    payment_status: PaymentStatus | None = None
    placed_at: datetime | None = None
    updated_at: datetime | None = None
    currency: str | None = None
    total: Money | None = None
    subtotal: Money | None = None
    tax: Money | None = None
    discount: Money | None = None
    shipping: Money | None = None
    refunded: Money | None = None
    # None: the connector loads items separately (by order key); a list: they came inline.
    items: list[OrderItem] | None = None
    customer: Customer | None = None
    shipping_address_key: str | None = None
    billing_address_key: str | None = None
    shipping_address: Address | None = None
    billing_address: Address | None = None
    invoice_number: str | None = None
    payment: PaymentInfo | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] | None = None
    raw_details: tuple[str, ...] = ()


@dataclass(slots=True)
class RepaymentPeriod:
    period: int
    from_date: date | None
    due_date: date | None
    complete: bool | None
    principal_due: Money | None
    interest_due: Money | None
    fee_charges_due: Money | None
    penalty_charges_due: Money | None
    total_due: Money | None
    total_paid: Money | None
    total_outstanding: Money | None
    total_overdue: Money | None
    days_in_period: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class RepaymentSchedule:
    currency: str
    deposit: Money | None
    installment: Money | None
    upfront_fee: Money | None
    total_principal: Money | None
    total_interest: Money | None
    total_repayment: Money | None
    periods: list[RepaymentPeriod]


@dataclass(slots=True)
class CreditStatus:
    status: str | None
    credit_pay_no: str | None = None
    credit_paid_at: datetime | None = None
    credit_fee: Money | None = None
    order_status: OrderStatus | None = None
    payment_status: PaymentStatus | None = None


@dataclass(slots=True)
class Page(Generic[T]):
    """One page of a list: the records from ``offset`` on, and how many there are in all."""

    items: list[T]
    total_count: int
    offset: int
    has_next: bool


@dataclass(slots=True)
class OrderFilter:
    number: str | None = None
    number_contains: str | None = None
    statuses: Sequence[OrderStatus] = ()
    placed_after: datetime | None = None
    placed_before: datetime | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    currency: str | None = None


@dataclass(slots=True)
class CancellationPlanFilter:
    order_key: str | None = None
    order_number: str | None = None
    status: str | None = None
    plan_type: str | None = None


@dataclass(slots=True)
class AddressFilter:
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    postcode: str | None = None
    is_active: bool | None = None


@dataclass(frozen=True, slots=True)
class OrderRef:
    """How a caller names an order by the provider's number (some providers need a customer)."""

    number: str
    customer_id: str | None = None


@dataclass(slots=True)
class NewOrderItem:
    sku: str | None = None
    product_id: str | None = None
    name: str | None = None
    brand: str | None = None
    description: str | None = None
    quantity: int = 1
    unit_price: Decimal | None = None
    image_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class NewOrder:
    external_reference: str | None
    customer_id: str | None
    store_id: str | None
    currency: str | None
    items: list[NewOrderItem]
    total: Decimal | None = None


@dataclass(slots=True)
class RefundRequest:
    amount: Decimal | None = None
    # (item key, amount) pairs; empty: refund the whole order
    items: list[tuple[str, Decimal]] = field(default_factory=list)
    reason: str | None = None


@dataclass(slots=True)
class ItemOutcome:
    """What happened to one item in a mutation that acts on several (cancel every purchase).

    ``code`` is a userErrors code the README documents (``NOT_FOUND``,
    ``REJECTED_BY_PROVIDER``, ``OUTCOME_UNKNOWN``), never a provider's own or a GraphQL
    error's: a client switches on it.
    """

    item_key: str
    ok: bool
    code: str | None = None
    message: str | None = None
