"""Order and OrderItem: thin renderings of ``providers.model`` records.

Plain fields are copied when the type is built (so they resolve without a resolver call);
fields that need another upstream read go through the request's loaders, and a page of orders
starts those reads before the executor walks it (``read_ahead``).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import strawberry
from strawberry.scalars import JSON

from graph import ids, lookahead
from graph.auth import CanReadPii, CanReadPins, CanReadRaw
from graph.context import Info
from graph.types.address import CustomerAddress
from graph.types.common import (
    Money,
    Node,
    OrderStatus,
    PaymentStatus,
    Provider,
    details_json,
)
from graph.types.schedule import CreditStatus, RepaymentSchedule
from providers import model
from providers.redact import scrub
from resolvers.loaders import Later, Loaders, each, then

if TYPE_CHECKING:
    from graph.types.plan import CancellationPlan  # which imports this module

PlanType = Annotated["CancellationPlan", strawberry.lazy("graph.types.plan")]
# An item's order, in a decorator argument evaluated before Order is defined.
OrderType = Annotated["Order", strawberry.lazy("graph.types.order")]
M = TypeVar("M")
R = TypeVar("R")


@functools.cache
def _plan_type() -> type[CancellationPlan]:
    """The plan type, imported once it can be (its module imports this one): an import
    statement run for every order's plans cost 0.8 us each time, the module already loaded."""
    from graph.types.plan import CancellationPlan

    return CancellationPlan


strawberry.type(model.Tracking)  # the domain's, as Money is
Tracking = model.Tracking


@strawberry.type(description="A digital PIN or code; a secret, shown only with pins:read.")
class DigitalCode:
    code: str
    serial: str | None


@strawberry.type
class Refund:
    at: datetime | None
    amount: Money | None
    is_refunded: bool | None
    is_partial: bool | None


@strawberry.type
class PaymentInfo:
    link: str | None
    link_due_at: datetime | None
    paid_at: datetime | None
    amount: Money | None
    refunded: Money | None
    refunds: list[Refund]


@strawberry.type
class Customer:
    id: str | None
    name: str | None
    email: str | None
    phone: str | None
    type: str | None
    language: str | None
    organization_id: str | None
    _model: strawberry.Private[model.Customer]

    @strawberry.field(permission_classes=[CanReadPii])
    def personal_number(self) -> str | None:
        return self._model.personal_number

    @strawberry.field
    def address(self) -> CustomerAddress | None:
        return CustomerAddress.maybe(self._model.address)


@strawberry.type
class OrderItem(Node):
    provider: Provider
    sku: str | None
    product_id: str | None
    name: str | None
    brand: str | None
    description: str | None
    quantity: int
    unit_price: Money | None
    total: Money | None
    discount: Money | None
    tax: Money | None
    tax_rate: Decimal | None
    status: OrderStatus | None
    provider_status: str | None
    tracking: Tracking | None
    _model: strawberry.Private[model.OrderItem]

    @strawberry.field(
        description="Provider-specific item attributes (interest rate, loan duration, ...)."
    )
    def details(self) -> JSON | None:
        return details_json(self._model.details())  # worked out now that they are asked for

    @classmethod
    def from_model(cls, m: model.OrderItem) -> OrderItem:
        return cls(
            id=strawberry.ID(ids.encode("OrderItem", m.provider, m.key)),
            provider=m.provider,
            sku=m.sku,
            product_id=m.product_id,
            name=m.name,
            brand=m.brand,
            description=m.description,
            quantity=m.quantity,
            unit_price=m.unit_price,
            total=m.total,
            discount=m.discount,
            tax=m.tax,
            tax_rate=m.tax_rate,
            status=m.status,
            provider_status=m.provider_status,
            tracking=m.tracking,
            _model=m,
        )

    @classmethod
    def maybe(cls, m: model.OrderItem | None) -> OrderItem | None:
        return None if m is None else cls.from_model(m)

    @classmethod
    def all(cls, models: Iterable[model.OrderItem] | None) -> list[OrderItem]:
        return [cls.from_model(m) for m in models or ()]

    @strawberry.field(graphql_type=OrderType | None)
    def order(self, info: Info) -> Later[Order | None]:
        m = self._model
        found = info.context.loaders.load(m.provider, "orders_by_key", m.order_key)
        return then(found, Order.maybe)

    @strawberry.field(permission_classes=[CanReadPins])
    def codes(self, info: Info) -> list[DigitalCode] | None:
        codes = self._model.codes
        if codes and info.context.response is not None:
            # A response holding a PIN must not be stored by any cache on the way.
            info.context.response.headers["Cache-Control"] = "no-store"
        return None if codes is None else [DigitalCode(code=c.code, serial=c.serial) for c in codes]

    @strawberry.field(permission_classes=[CanReadRaw])
    def raw(self) -> JSON | None:
        return JSON(scrub(self._model.raw))


@strawberry.type
class Order(Node):
    provider: Provider
    number: str
    external_reference: str | None
    status: OrderStatus
    provider_status: str | None
    payment_status: PaymentStatus | None = strawberry.field(
        description="Null where the provider says nothing of payment (Kalixo, Lipa Later "
        "purchases). Akinon's orders carry no payment state: PAID, or PARTIALLY_REFUNDED / "
        "REFUNDED from the money returned (refunded: refund_amount plus "
        "shipping_refund_amount), whatever their status."
    )
    placed_at: datetime | None
    updated_at: datetime | None
    currency: str | None
    total: Money | None
    subtotal: Money | None
    tax: Money | None
    discount: Money | None
    shipping: Money | None
    refunded: Money | None
    invoice_number: str | None
    _model: strawberry.Private[model.Order]
    # The loader reads started for this order's fields by ``read_ahead``, by GraphQL name.
    _ahead: strawberry.Private[dict[str, asyncio.Future[Any]] | None] = None

    @classmethod
    def from_model(
        cls, m: model.Order, ahead: dict[str, asyncio.Future[Any]] | None = None
    ) -> Order:
        return cls(
            id=strawberry.ID(ids.encode("Order", m.provider, m.key)),
            provider=m.provider,
            number=m.number,
            external_reference=m.external_reference,
            status=m.status,
            provider_status=m.provider_status,
            payment_status=m.payment_status,
            placed_at=m.placed_at,
            updated_at=m.updated_at,
            currency=m.currency,
            total=m.total,
            subtotal=m.subtotal,
            tax=m.tax,
            discount=m.discount,
            shipping=m.shipping,
            refunded=m.refunded,
            invoice_number=m.invoice_number,
            _model=m,
            _ahead=ahead,
        )

    @classmethod
    def maybe(cls, m: model.Order | None) -> Order | None:
        return None if m is None else cls.from_model(m)

    @strawberry.field(
        description="Provider-specific order attributes that have no field of their own."
    )
    def details(self) -> JSON | None:
        return details_json(self._model.details())  # worked out now that they are asked for

    def _read(self, info: Info, name: str) -> asyncio.Future[Any] | None:
        """What field ``name`` reads through a loader for this order (``READS``): the read
        started ahead, or one started now; None when the order carries the answer itself."""
        ahead = self._ahead
        found = None if ahead is None else ahead.get(name)
        return READS[name](info.context.loaders, self._model) if found is None else found

    @strawberry.field(graphql_type=list[OrderItem] | None)
    def items(self, info: Info) -> Later[list[OrderItem]]:
        m = self._model
        return _later(self._read(info, "items"), m.items, OrderItem.all)

    @strawberry.field
    def customer(self) -> Customer | None:
        c = self._model.customer
        if c is None:
            return None
        return Customer(
            id=c.key,
            name=c.name,
            email=c.email,
            phone=c.phone,
            type=c.type,
            language=c.language,
            organization_id=c.organization_id,
            _model=c,
        )

    @strawberry.field
    def payment(self) -> PaymentInfo | None:
        p = self._model.payment
        if p is None:
            return None
        return PaymentInfo(
            link=p.link,
            link_due_at=p.link_due_at,
            paid_at=p.paid_at,
            amount=p.amount,
            refunded=p.refunded,
            refunds=[
                Refund(
                    at=r.at,
                    amount=r.amount,
                    is_refunded=r.is_refunded,
                    is_partial=r.is_partial,
                )
                for r in p.refunds
            ],
        )

    @strawberry.field(graphql_type=CustomerAddress | None)
    def shipping_address(self, info: Info) -> Later[CustomerAddress | None]:
        found = self._read(info, "shippingAddress")
        return _later(found, self._model.shipping_address, CustomerAddress.maybe)

    @strawberry.field(graphql_type=CustomerAddress | None)
    def billing_address(self, info: Info) -> Later[CustomerAddress | None]:
        found = self._read(info, "billingAddress")
        return _later(found, self._model.billing_address, CustomerAddress.maybe)

    @strawberry.field(graphql_type=list[PlanType] | None)
    def cancellation_plans(self, info: Info) -> Later[list[CancellationPlan]]:
        return _later(self._read(info, "cancellationPlans"), None, _plan_type().all)

    @strawberry.field(graphql_type=RepaymentSchedule | None)
    def repayment_schedule(
        self, info: Info, loan_product_id: int, country_id: int | None = None
    ) -> Later[RepaymentSchedule | None]:
        m = self._model
        provider = info.context.provider(m.provider)
        loader = info.context.loaders.get(
            m.provider,
            "repayment_schedule",
            each(lambda k: provider.repayment_schedule(*k)),
        )
        return then(loader.load((m.key, loan_product_id, country_id)), RepaymentSchedule.maybe)

    @strawberry.field(graphql_type=CreditStatus | None)
    def credit_status(self, info: Info) -> Later[CreditStatus | None]:
        m = self._model
        provider = info.context.provider(m.provider)
        loader = info.context.loaders.get(m.provider, "credit_status", each(provider.credit_status))
        return then(loader.load(m.key), CreditStatus.maybe)

    @strawberry.field(permission_classes=[CanReadRaw])
    def raw(self) -> JSON | None:
        return JSON(scrub(self._model.raw))


# -- reads through the loaders ------------------------------------------------------------------
#
# Each field of an order that reads through the request's loaders, by its GraphQL name: the read
# for one order, started (its future), or None when the order carries the answer itself. The
# resolvers above read through them, and so does ``read_ahead``, so both ask for the same keys.
# Only fields with no permission check belong here: a read made ahead reaches the provider
# before any check of the field could refuse it (tests/test_akinon.py holds this).

Read = Callable[[Loaders, model.Order], "asyncio.Future[Any] | None"]


def _items(loaders: Loaders, m: model.Order) -> asyncio.Future[Any] | None:
    if m.items is not None:
        return None
    return loaders.load(m.provider, "items_by_order", m.key)


def _address(
    loaders: Loaders, m: model.Order, inline: model.Address | None, key: str | None
) -> asyncio.Future[Any] | None:
    if inline is not None or key is None:
        return None
    return loaders.load(m.provider, "addresses_by_key", key)


def _shipping_address(loaders: Loaders, m: model.Order) -> asyncio.Future[Any] | None:
    return _address(loaders, m, m.shipping_address, m.shipping_address_key)


def _billing_address(loaders: Loaders, m: model.Order) -> asyncio.Future[Any] | None:
    return _address(loaders, m, m.billing_address, m.billing_address_key)


def _plans(loaders: Loaders, m: model.Order) -> asyncio.Future[Any]:
    return loaders.load(m.provider, "plans_by_order", m.key)


READS: dict[str, Read] = {
    "items": _items,
    "shippingAddress": _shipping_address,
    "billingAddress": _billing_address,
    "cancellationPlans": _plans,
}


def _later(found: asyncio.Future[Any] | None, inline: M, build: Callable[[M], R]) -> Later[R]:
    """``build`` of what ``found`` answers, or of what the order carries when nothing is read."""
    return build(inline) if found is None else then(found, build)


async def read_ahead(
    info: Info, models: Sequence[model.Order], paths: Iterable[str]
) -> list[Order]:
    """The orders, the loader reads their fields selected at ``paths`` will make (``READS``)
    started and on their way upstream before the executor walks them. ``paths`` lead from the
    field being resolved to its orders: ``"nodes"``, ``"edges.node"``.

    Measured, W3 at 50 ms per upstream call: the page's items, addresses and plans went
    upstream some 3 ms after the page came in, the time the executor took to walk 50 orders;
    now they go at once, and the walk happens while they are on their way
    (tests/benchmarks/HISTORY.md). The reads are the loaders', so the batches are the ones the
    walk would have made; each order keeps its own (``Order._read``), so the walk does not ask
    again. Only fields sure to be executed count (``graph.lookahead``): no read is one the
    request would not have made.
    """
    raw = info._raw_info
    names = (name for path in paths for name in lookahead.selected(raw, *path.split(".")))
    # In the document's order, each once: the loaders' batches start in that order too.
    reads = [(name, READS[name]) for name in dict.fromkeys(names) if name in READS]
    if not reads:
        return [Order.from_model(m) for m in models]
    loaders, started, orders = info.context.loaders, False, []
    for m in models:
        ahead = {}
        for name, read in reads:
            found = read(loaders, m)
            if found is not None:
                ahead[name] = found
                started = started or not found.done()
        orders.append(Order.from_model(m, ahead))
    if started:
        try:
            await asyncio.sleep(0)  # the loaders' batches start on this turn (``PromptLoader``)
        except asyncio.CancelledError:  # pragma: no cover - a sibling failed in this very turn
            # No walk will await these reads: what they answer, a failure too, is no error
            # "never retrieved".
            for order in orders:
                for found in (order._ahead or {}).values():
                    found.add_done_callback(_retrieve)
            raise
    return orders


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
