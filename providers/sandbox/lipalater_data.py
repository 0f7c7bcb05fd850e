"""The order record, its status values and the seeded orders of the Lipa Later sandbox.

Amounts are kept in integer cents (KES) and rendered as numbers: whole shillings as integers
like the page's ``0``, anything else as a 2-decimal float.
"""

from __future__ import annotations

import calendar
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # UTC; the page only shows "" for times
DATE_FORMAT = "%Y-%m-%d"

# orderStatusEnum
CREATED = "CREATED"
CONFIRMED = "CONFIRMED"
COMPLETED = "COMPLETED"  # contract accepted
CLOSED = "CLOSED"  # contract rejected
CANCELLED = "CANCELLED"
# payStatusEnum
UNPAID = "UNPAID"
PAID = "PAID"
# creditPayStatusEnum
NOT_APPLIED = "NOT_APPLIED"
APPLYING = "APPLYING"
APPROVED = "APPROVED"
REJECTED = "REJECTED"
CREDIT_CANCELLED = "CANCELLED"  # an application withdrawn by cancelling a confirmed order

CURRENCY = "KES"
DEPOSIT_PERCENT = 10
UP_FRONT_FEE_CENTS = 500_00
CONTRACT_REJECTED_REASON = "Contract rejected"
# Kenya: the page says 10001, another Lipa Later page says 1001.
COUNTRY_IDS = frozenset({10001, 1001})


@dataclass(frozen=True)
class LoanProduct:
    months: int
    monthly_rate: Decimal  # flat, on the financed principal


LOAN_PRODUCTS: dict[int, LoanProduct] = {
    1: LoanProduct(3, Decimal("0.030")),
    2: LoanProduct(6, Decimal("0.028")),
    3: LoanProduct(12, Decimal("0.025")),
}

MEMBER_IDS = ("100001", "100002", "100003", "100004")
STORE_IDS = ("ST001", "ST002", "ST003")
FIRST_ORDER_NO = 8800000001
SEED_ORDER_COUNT = 24
SEED_ORDER_NOS = tuple(str(FIRST_ORDER_NO + i) for i in range(SEED_ORDER_COUNT))
# Seeded order i belongs to MEMBER_IDS[i % 4] and has status _SEED_STATUSES[i % 5].
_SEED_STATUSES = (CREATED, CONFIRMED, COMPLETED, CLOSED, CANCELLED)
SEED_CREATED = (SEED_ORDER_NOS[0], MEMBER_IDS[0])
SEED_CONFIRMED = (SEED_ORDER_NOS[1], MEMBER_IDS[1])
SEED_COMPLETED = (SEED_ORDER_NOS[2], MEMBER_IDS[2])
SEED_CLOSED = (SEED_ORDER_NOS[3], MEMBER_IDS[3])
SEED_CANCELLED = (SEED_ORDER_NOS[4], MEMBER_IDS[0])

_CATALOG = (
    ("P1001", "Samsung Galaxy A15 128GB", "Samsung", 24_999),
    ("P1002", "Tecno Spark 20 Pro", "Tecno", 21_500),
    ("P1003", "HP 250 G9 Laptop", "HP", 64_999),
    ("P1004", 'Hisense 43" Smart TV', "Hisense", 37_999),
    ("P1005", "LG 260L Refrigerator", "LG", 58_000),
    ("P1006", "Ramtons 4-Burner Cooker", "Ramtons", 32_450),
    ("P1007", "Sony WH-CH720N Headphones", "Sony", 13_999),
    ("P1008", "Apple iPhone 13 128GB", "Apple", 89_999),
)
_CANCEL_REASONS = ("Customer changed mind", "Out of stock", "Duplicate order")
_SEED_EPOCH = datetime(2024, 3, 1, 8, 0, 0)


def amount(cents: int) -> int | float:
    return cents // 100 if cents % 100 == 0 else cents / 100


def percent_of(cents: int, percent: Decimal | int) -> int:
    return int((Decimal(cents) * Decimal(percent) / 100).quantize(Decimal(1), ROUND_HALF_UP))


def add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass
class Product:
    product_no: str
    product_name: str
    brand: str
    product_logo: str
    sku_desc: str
    price_cents: int
    product_num: int
    sale_price_cents: int
    # The actTotalFee the create body sent ("total paid price of goods"); None: price x num.
    act_total_sent_cents: int | None = None

    @property
    def total_cents(self) -> int:
        return self.price_cents * self.product_num

    @property
    def act_total_cents(self) -> int:
        return self.total_cents if self.act_total_sent_cents is None else self.act_total_sent_cents


@dataclass
class Order:
    order_no: str
    member_id: str
    out_order_no: str
    store_id: str
    products: list[Product]
    create_time: str
    update_time: str
    status: str = CREATED
    pay_status: str = UNPAID
    credit_status: str = NOT_APPLIED
    install_plan_id: int = 0
    close_reason: str = ""
    close_time: str = ""
    credit_pay_no: str = ""
    credit_pay_time: str = ""
    pay_time: str = ""
    pre_pay_no: str = ""
    pre_pay_time: str = ""
    # The order's actTotalFee as the create body sent it; None: the products' total. Answered
    # as sent; every figure the sandbox works out (deposit, credit, schedule) uses totalFee.
    act_total_sent_cents: int | None = None

    @property
    def total_cents(self) -> int:
        return sum(p.total_cents for p in self.products)

    @property
    def act_total_cents(self) -> int:
        return self.total_cents if self.act_total_sent_cents is None else self.act_total_sent_cents

    @property
    def deposit_cents(self) -> int:
        return percent_of(self.total_cents, DEPOSIT_PERCENT)

    @property
    def credit_cents(self) -> int:
        """The financed amount: the schedule's principal."""
        return self.total_cents - self.deposit_cents

    @property
    def prepay_cents(self) -> int:
        return self.deposit_cents + UP_FRONT_FEE_CENTS

    def confirm(self, plan_id: int, now: str) -> None:
        self.status, self.credit_status, self.install_plan_id = CONFIRMED, APPLYING, plan_id
        self.credit_pay_no = "CP" + self.order_no
        self.update_time = now

    def accept_contract(self, now: str) -> None:
        self.status, self.credit_status, self.pay_status = COMPLETED, APPROVED, PAID
        self.credit_pay_time = self.pay_time = self.pre_pay_time = self.update_time = now
        self.pre_pay_no = "PP" + self.order_no

    def reject_contract(self, now: str) -> None:
        self.status, self.credit_status = CLOSED, REJECTED
        self.close_reason, self.close_time, self.update_time = CONTRACT_REJECTED_REASON, now, now

    def cancel(self, reason: str, now: str) -> None:
        if self.credit_status == APPLYING:
            self.credit_status = CREDIT_CANCELLED
        self.status = CANCELLED
        self.close_reason, self.close_time, self.update_time = reason, now, now

    def product_list(self) -> list[dict[str, Any]]:
        return [
            {
                "actTotalFee": amount(p.act_total_cents),
                "brand": p.brand,
                "createTime": self.create_time,
                "memberId": self.member_id,
                "orderNo": self.order_no,
                "productLogo": p.product_logo,
                "productName": p.product_name,
                "productNo": p.product_no,
                "productNum": p.product_num,
                "salePrice": amount(p.sale_price_cents),
                "skuDesc": p.sku_desc,
                "storeId": self.store_id,
                "totalFee": amount(p.total_cents),
                "updateTime": self.update_time,
            }
            for p in self.products
        ]

    def summary(self) -> dict[str, Any]:
        """The create answer's ``data``."""
        return {
            "actTotalFee": amount(self.act_total_cents),
            "createTime": self.create_time,
            "memberId": self.member_id,
            "orderNo": self.order_no,
            "orderProductList": self.product_list(),
            "outOrderNo": self.out_order_no,
            "storeId": self.store_id,
            "totalFee": amount(self.total_cents),
            "updateTime": self.update_time,
        }

    def detail(self) -> dict[str, Any]:
        """The detail / confirm / checkCreditStatus answer's ``data``."""
        return {
            "actTotalFee": amount(self.act_total_cents),
            "closeReason": self.close_reason,
            "closeTime": self.close_time,
            "createTime": self.create_time,
            "creditFee": amount(self.credit_cents),
            "creditPayNo": self.credit_pay_no,
            "creditPayStatusEnum": self.credit_status,
            "creditPayTime": self.credit_pay_time,
            "depositFee": amount(self.deposit_cents),
            "installPlanId": self.install_plan_id,
            "memberId": self.member_id,
            "orderNo": self.order_no,
            "orderProductList": self.product_list(),
            "orderStatusEnum": self.status,
            "outOrderNo": self.out_order_no,
            "payStatusEnum": self.pay_status,
            "payTime": self.pay_time,
            "prePayNo": self.pre_pay_no,
            "prePayTime": self.pre_pay_time,
            "prepayFee": amount(self.prepay_cents),
            "storeId": self.store_id,
            "totalFee": amount(self.total_cents),
            "upFrontFee": amount(UP_FRONT_FEE_CENTS),
            "updateTime": self.update_time,
        }


def schedule(order: Order, product: LoanProduct) -> dict[str, Any]:
    """A flat-interest schedule: equal parts, the rounding remainder in the last period."""
    principal, months = order.credit_cents, product.months
    interest = percent_of(principal, product.monthly_rate * 100 * months)
    start = datetime.strptime(order.create_time, TIME_FORMAT).date()
    periods, balance = [], principal
    for n in range(1, months + 1):
        last = n == months
        p_due = principal - principal // months * (months - 1) if last else principal // months
        i_due = interest - interest // months * (months - 1) if last else interest // months
        balance -= p_due
        periods.append(_period(n, start, p_due, i_due, balance))
    return {
        "currency": CURRENCY,
        "deposit": amount(order.deposit_cents),
        "installment": periods[0]["totalDueForPeriod"],
        "periods": periods,
        "totalInterest": amount(interest),
        "totalPrincipal": amount(principal),
        "totalRepayment": amount(principal + interest),
        "upfrontFee": amount(UP_FRONT_FEE_CENTS),
    }


def _period(n: int, start: date, p_due: int, i_due: int, balance: int) -> dict[str, Any]:
    from_date, due_date = add_months(start, n - 1), add_months(start, n)
    p, i, total = amount(p_due), amount(i_due), amount(p_due + i_due)
    return {
        "complete": False,
        "daysInPeriod": (due_date - from_date).days,
        "dueDate": due_date.strftime(DATE_FORMAT),
        "feeChargesDue": 0,
        "feeChargesOutstanding": 0,
        "feeChargesPaid": 0,
        "feeChargesWaived": 0,
        "feeChargesWrittenOff": 0,
        "fromDate": from_date.strftime(DATE_FORMAT),
        "interestDue": i,
        "interestOriginalDue": i,
        "interestOutstanding": i,
        "interestPaid": 0,
        "interestWaived": 0,
        "interestWrittenOff": 0,
        "penaltyChargesDue": 0,
        "penaltyChargesOutstanding": 0,
        "penaltyChargesPaid": 0,
        "penaltyChargesWaived": 0,
        "penaltyChargesWrittenOff": 0,
        "period": n,
        "principalDue": p,
        "principalLoanBalanceOutstanding": amount(balance),
        "principalOriginalDue": p,
        "principalOutstanding": p,
        "principalPaid": 0,
        "principalWrittenOff": 0,
        "totalActualCostOfLoanForPeriod": i,
        "totalDueForPeriod": total,
        "totalInstallmentAmountForPeriod": total,
        "totalOriginalDueForPeriod": total,
        "totalOutstandingForPeriod": total,
        "totalOverdue": 0,
        "totalPaidForPeriod": 0,
        "totalPaidInAdvanceForPeriod": 0,
        "totalPaidLateForPeriod": 0,
        "totalWaivedForPeriod": 0,
        "totalWrittenOffForPeriod": 0,
    }


def seed_orders(seed: int) -> dict[str, Order]:
    """SEED_ORDER_COUNT orders; numbers, members and statuses fixed, contents from ``seed``."""
    rng = random.Random(seed)
    orders: dict[str, Order] = {}
    for i, order_no in enumerate(SEED_ORDER_NOS):
        created = _SEED_EPOCH + timedelta(days=i * 3, minutes=rng.randint(0, 24 * 60 - 1))
        products = [_seed_product(rng) for _ in range(rng.randint(1, 2))]
        stamp = created.strftime(TIME_FORMAT)
        order = Order(
            order_no=order_no,
            member_id=MEMBER_IDS[i % len(MEMBER_IDS)],
            out_order_no=str(rng.randint(10**8, 10**9 - 1)),
            store_id=rng.choice(STORE_IDS),
            products=products,
            create_time=stamp,
            update_time=stamp,
        )
        _advance(order, _SEED_STATUSES[i % len(_SEED_STATUSES)], created, rng)
        orders[order_no] = order
    return orders


def _seed_product(rng: random.Random) -> Product:
    product_no, name, brand, price = rng.choice(_CATALOG)
    num = rng.randint(1, 2)
    return Product(
        product_no=product_no,
        product_name=name,
        brand=brand,
        product_logo=f"https://cdn.lipalater.example/products/{product_no}.png",
        sku_desc=f"{name}, 1 year warranty",
        price_cents=price * 100,
        product_num=num,
        sale_price_cents=price * 100 * num,
    )


def _advance(order: Order, status: str, created: datetime, rng: random.Random) -> None:
    """Replay the transitions that lead a freshly created order to ``status``."""
    later = [(created + timedelta(minutes=m)).strftime(TIME_FORMAT) for m in (5, 30)]
    if status == CANCELLED:
        if rng.random() < 0.5:
            order.confirm(rng.choice(list(LOAN_PRODUCTS)), later[0])
        order.cancel(rng.choice(_CANCEL_REASONS), later[1])
        return
    if status != CREATED:
        order.confirm(rng.choice(list(LOAN_PRODUCTS)), later[0])
    if status == COMPLETED:
        order.accept_contract(later[1])
    elif status == CLOSED:
        order.reject_contract(later[1])
