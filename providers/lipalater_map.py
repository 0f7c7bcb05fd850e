"""Lipa Later open platform payloads -> the domain model (the connector is providers/lipalater.py).

Amounts are numbers (the page's examples send ``0``; the sandbox sends ``24999`` or, for a
deposit, ``6399.8``), in the configured currency since an order names none; they become
two-decimal Money. Amounts sent (the create body) are whole integers, as its table types them.
Times are ``"YYYY-MM-DD HH:MM:SS"`` without an offset (read in the configured zone); dates
``"YYYY-MM-DD"``. Enum values are not public: the tables hold what the sandbox uses, and
anything else is ``UNKNOWN`` with the raw value kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any

from providers.model import (
    CreditStatus,
    Customer,
    Order,
    OrderItem,
    OrderStatus,
    PaymentStatus,
    ProviderName,
    RepaymentPeriod,
    RepaymentSchedule,
    map_enum,
)
from providers.values import count, decimal, exact_in, money

Record = dict[str, Any]
PROVIDER = ProviderName.LIPALATER

# orderStatusEnum. CONFIRMED: the merchant chose a plan and the credit application runs;
# COMPLETED: the customer accepted the contract; CLOSED: the customer rejected it.
ORDER_STATUS = {
    "CREATED": OrderStatus.PENDING,
    "CONFIRMED": OrderStatus.PROCESSING,
    "COMPLETED": OrderStatus.COMPLETED,
    "CLOSED": OrderStatus.REJECTED,
    "CANCELLED": OrderStatus.CANCELLED,
}
PAY_STATUS = {"UNPAID": PaymentStatus.PENDING, "PAID": PaymentStatus.PAID}
# creditPayStatusEnum, consulted while payStatusEnum still says unpaid (or ""); "" (the
# page's example) or absent is PENDING, any other value not here UNKNOWN.
CREDIT_PAY_STATUS = {
    "NOT_APPLIED": PaymentStatus.PENDING,
    "APPLYING": PaymentStatus.PENDING,
    "APPROVED": PaymentStatus.AUTHORIZED,
    "REJECTED": PaymentStatus.VOIDED,
    "CANCELLED": PaymentStatus.VOIDED,
}
CLOSED_STATUSES = frozenset({OrderStatus.CANCELLED, OrderStatus.REJECTED})

# Order fields with no contract field of their own: rendered in ``details``.
ORDER_MONEY_EXTRA = {
    "depositFee": "depositFee",
    "creditFee": "creditFee",
    "upFrontFee": "upFrontFee",
    "prepayFee": "prepayFee",
}
ORDER_TEXT_EXTRA = (
    "storeId",
    "installPlanId",
    "payStatusEnum",
    "creditPayStatusEnum",
    "creditPayNo",
    "creditPayTime",
    "payTime",
    "prePayNo",
    "prePayTime",
    "closeReason",
    "closeTime",
)
# Period fields that have a RepaymentPeriod field; the page's other 30-odd go to ``details``.
PERIOD_NAMED = frozenset(
    {
        "period",
        "fromDate",
        "dueDate",
        "complete",
        "daysInPeriod",
        "principalDue",
        "interestDue",
        "feeChargesDue",
        "penaltyChargesDue",
        "totalDueForPeriod",
        "totalPaidForPeriod",
        "totalOutstandingForPeriod",
        "totalOverdue",
    }
)


def currency_code(value: Any) -> str | None:
    """An upper-case ISO code; Lipa Later's "KSH" (one of its pages) is KES."""
    if not isinstance(value, str) or not value.strip():
        return None
    code = value.strip().upper()
    return "KES" if code == "KSH" else code


def text(value: Any) -> str | None:
    """A value as text; the page's ``""`` placeholders mean "not set"."""
    return None if value is None or value == "" else str(value)


def moment(value: Any, zone: tzinfo) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def day(value: Any) -> date | None:
    # Schedules in this family (Fineract) sometimes send [2024, 3, 1] instead of "2024-03-01".
    if isinstance(value, list) and len(value) == 3 and all(isinstance(v, int) for v in value):
        try:
            return date(value[0], value[1], value[2])
        except ValueError:
            return None
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def _pay_state(table: dict[str, PaymentStatus], raw: Any) -> PaymentStatus:
    """A payStatusEnum or creditPayStatusEnum: "" or absent (the page's examples: nothing paid,
    no credit state given) is PENDING; a value the table does not know is UNKNOWN, never a
    guess."""
    return (
        PaymentStatus.PENDING if text(raw) is None else map_enum(table, raw, PaymentStatus.UNKNOWN)
    )


def payment_status(r: Record, status: OrderStatus) -> PaymentStatus:
    """The pay status, and while it says unpaid the credit status: the page's own example
    detail ("" for both) reads PENDING, as UNPAID with NOT_APPLIED does."""
    paid = _pay_state(PAY_STATUS, r.get("payStatusEnum"))
    if paid is not PaymentStatus.PENDING:
        return paid
    credit = _pay_state(CREDIT_PAY_STATUS, r.get("creditPayStatusEnum"))
    if credit is PaymentStatus.PENDING and status in CLOSED_STATUSES:
        return PaymentStatus.VOIDED  # closed before any money moved: nothing will be taken
    return credit


def order_key(member_id: str, order_no: str) -> str:
    return f"{member_id}/{order_no}"


def order(r: Record, currency: str, zone: tzinfo, member_id: str) -> Order:
    """An order from a detail / confirm / checkCreditStatus answer (or a create answer)."""
    number = str(r.get("orderNo") or "")
    member = str(r.get("memberId") or member_id)
    key = order_key(member, number)
    status = map_enum(ORDER_STATUS, r.get("orderStatusEnum"), OrderStatus.UNKNOWN)
    extra: dict[str, Any] = {}
    for name, label in ORDER_MONEY_EXTRA.items():
        amount = money(r.get(name), currency)
        if amount is not None:
            extra[label] = {"amount": f"{amount.amount}", "currency": amount.currency}
    extra.update({name: r[name] for name in ORDER_TEXT_EXTRA if text(r.get(name)) is not None})
    if not r.get("installPlanId"):  # 0 until the order is confirmed with a plan
        extra.pop("installPlanId", None)
    products = r.get("orderProductList")
    return Order(
        provider=PROVIDER,
        key=key,
        number=number,
        external_reference=text(r.get("outOrderNo")),
        status=status,
        provider_status=text(r.get("orderStatusEnum")),
        payment_status=payment_status(r, status) if "payStatusEnum" in r else None,
        placed_at=moment(r.get("createTime"), zone),
        updated_at=moment(r.get("updateTime"), zone),
        currency=currency,
        total=money(r.get("actTotalFee"), currency),
        subtotal=money(r.get("totalFee"), currency),
        items=[
            item(p, key, i, currency)
            for i, p in enumerate(products if isinstance(products, list) else [])
            if isinstance(p, dict)
        ],
        customer=Customer(key=member),
        extra=extra,
        raw=r,
    )


def item(p: Record, order_key_: str, index: int, currency: str) -> OrderItem:
    """One ``orderProductList`` entry; its key is the order's key and its position."""
    # The page's examples answer productNum 0: a count from 0.
    quantity = count(p.get("productNum"), PROVIDER.value, "orderProductList[].productNum", least=0)
    line = decimal(p.get("totalFee"))
    if line is None:
        line = decimal(p.get("actTotalFee"))
    # A read answer carries no unit price: the line's totalFee over its quantity.
    unit = line / quantity if line is not None and quantity else None
    extra = {
        name: p[name] for name in ("salePrice", "totalFee", "storeId") if p.get(name) is not None
    }
    product_no = text(p.get("productNo"))
    return OrderItem(
        provider=PROVIDER,
        key=f"{order_key_}/{index}",
        order_key=order_key_,
        sku=product_no,
        product_id=product_no,
        name=text(p.get("productName")),
        brand=text(p.get("brand")),
        description=text(p.get("skuDesc")),
        quantity=quantity if quantity is not None else 1,
        unit_price=money(unit, currency),
        total=money(p.get("actTotalFee"), currency),
        extra=extra | ({"productLogo": p["productLogo"]} if text(p.get("productLogo")) else {}),
        raw=p,
    )


def schedule(r: Record, currency: str) -> RepaymentSchedule:
    """A calculateSchedule answer; its own ``currency`` wins where it names one."""
    code = currency_code(r.get("currency")) or currency
    periods = r.get("periods")
    return RepaymentSchedule(
        currency=code,
        deposit=money(r.get("deposit"), code),
        installment=money(r.get("installment"), code),
        upfront_fee=money(r.get("upfrontFee"), code),
        total_principal=money(r.get("totalPrincipal"), code),
        total_interest=money(r.get("totalInterest"), code),
        total_repayment=money(r.get("totalRepayment"), code),
        periods=[
            period(p, code)
            for p in (periods if isinstance(periods, list) else [])
            if isinstance(p, dict)
        ],
    )


def period(p: Record, currency: str) -> RepaymentPeriod:
    return RepaymentPeriod(
        # Both are served as Ints: a whole number from 0 to INT_MAX, or the provider's bad
        # answer (``count``); a period with no number is 0, as it always was.
        period=count(p.get("period"), PROVIDER.value, "periods[].period", least=0) or 0,
        from_date=day(p.get("fromDate")),
        due_date=day(p.get("dueDate")),
        complete=p.get("complete") if isinstance(p.get("complete"), bool) else None,
        principal_due=money(p.get("principalDue"), currency),
        interest_due=money(p.get("interestDue"), currency),
        fee_charges_due=money(p.get("feeChargesDue"), currency),
        penalty_charges_due=money(p.get("penaltyChargesDue"), currency),
        total_due=money(p.get("totalDueForPeriod"), currency),
        total_paid=money(p.get("totalPaidForPeriod"), currency),
        total_outstanding=money(p.get("totalOutstandingForPeriod"), currency),
        total_overdue=money(p.get("totalOverdue"), currency),
        days_in_period=count(
            p.get("daysInPeriod"), PROVIDER.value, "periods[].daysInPeriod", least=0
        ),
        extra={k: v for k, v in p.items() if k not in PERIOD_NAMED},
    )


def credit(r: Record, currency: str, zone: tzinfo) -> CreditStatus:
    """A checkCreditStatus answer (the order detail, read for its credit fields)."""
    status = map_enum(ORDER_STATUS, r.get("orderStatusEnum"), OrderStatus.UNKNOWN)
    return CreditStatus(
        status=text(r.get("creditPayStatusEnum")),
        credit_pay_no=text(r.get("creditPayNo")),
        credit_paid_at=moment(r.get("creditPayTime"), zone),
        credit_fee=money(r.get("creditFee"), currency),
        order_status=status,
        payment_status=payment_status(r, status),
    )


def whole(value: Decimal) -> int:
    """A whole amount as the page's integer (its create body types amounts integer and sends
    ``0``). The connector refuses a fractional amount before it gets here; one that slips
    through is an error, never truncated or rounded."""
    if not exact_in(value, 0):
        raise ValueError(f"{value} is not a whole amount")
    return int(value)


def sum_of(values: Iterable[Decimal]) -> Decimal:
    return sum(values, Decimal(0))
