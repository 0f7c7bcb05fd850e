"""Repayment schedules and credit status (buy-now-pay-later orders)."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry.scalars import JSON

from graph.types.common import Money, OrderStatus, PaymentStatus, details_json
from providers import model


@strawberry.type
class RepaymentPeriod:
    period: int
    from_date: date | None
    due_date: date | None
    complete: bool | None
    days_in_period: int | None
    principal_due: Money | None
    interest_due: Money | None
    fee_charges_due: Money | None
    penalty_charges_due: Money | None
    total_due: Money | None
    total_paid: Money | None
    total_outstanding: Money | None
    total_overdue: Money | None
    details: JSON | None = strawberry.field(
        description="Every other figure the provider gives for the period, as it gives it."
    )


@strawberry.type
class RepaymentSchedule:
    currency: str
    deposit: Money | None
    installment: Money | None
    upfront_fee: Money | None
    total_principal: Money | None
    total_interest: Money | None
    total_repayment: Money | None
    periods: list[RepaymentPeriod]

    @classmethod
    def maybe(cls, m: model.RepaymentSchedule | None) -> RepaymentSchedule | None:
        if m is None:
            return None
        return cls(
            currency=m.currency,
            deposit=m.deposit,
            installment=m.installment,
            upfront_fee=m.upfront_fee,
            total_principal=m.total_principal,
            total_interest=m.total_interest,
            total_repayment=m.total_repayment,
            periods=[
                RepaymentPeriod(
                    period=p.period,
                    from_date=p.from_date,
                    due_date=p.due_date,
                    complete=p.complete,
                    days_in_period=p.days_in_period,
                    principal_due=p.principal_due,
                    interest_due=p.interest_due,
                    fee_charges_due=p.fee_charges_due,
                    penalty_charges_due=p.penalty_charges_due,
                    total_due=p.total_due,
                    total_paid=p.total_paid,
                    total_outstanding=p.total_outstanding,
                    total_overdue=p.total_overdue,
                    details=details_json(p.extra),
                )
                for p in m.periods
            ],
        )


@strawberry.type
class CreditStatus:
    status: str | None
    credit_pay_no: str | None
    credit_paid_at: datetime | None
    credit_fee: Money | None
    order_status: OrderStatus | None
    payment_status: PaymentStatus | None

    @classmethod
    def maybe(cls, m: model.CreditStatus | None) -> CreditStatus | None:
        if m is None:
            return None
        return cls(
            status=m.status,
            credit_pay_no=m.credit_pay_no,
            credit_paid_at=m.credit_paid_at,
            credit_fee=m.credit_fee,
            order_status=m.order_status,
            payment_status=m.payment_status,
        )
