"""CancellationPlan: a provider's plan to cancel or refund some items of an order."""

from __future__ import annotations

from collections.abc import Iterable

import strawberry
from strawberry.scalars import JSON

from graph import ids, lookahead
from graph.auth import CanReadRaw
from graph.context import Info
from graph.types.common import Money, Node, Provider
from graph.types.order import Order, OrderItem
from providers import model
from providers.redact import scrub
from resolvers.loaders import Later, then

# A plan's amounts (its Money fields): a provider may have to read the plan's order for their
# currency (Akinon's plans name none), a read no other field needs.
AMOUNTS = frozenset({"refund", "shippingRefund", "discountRefund"})


def amounts_shown(info: Info, paths: Iterable[str], *, as_type: str | None = None) -> bool:
    """Whether the plans at ``paths`` (from the field being resolved: ``"nodes"``,
    ``"edges.node"``; ``""``, the field's own object, which ``node`` answers ``as_type``
    ``"CancellationPlan"``) may show an amount: whether a field of ``AMOUNTS`` may be selected,
    under ``@skip`` or ``@include`` too (``graph.lookahead.possibly``), or it cannot be told."""
    raw = info._raw_info
    for path in paths:
        names = lookahead.possibly(raw, *path.split(".") if path else (), as_type=as_type)
        if names is None or not AMOUNTS.isdisjoint(names):
            return True
    return False


@strawberry.type
class CancellationPlan(Node):
    provider: Provider
    plan_type: str | None
    status: str | None
    refund: Money | None
    shipping_refund: Money | None
    discount_refund: Money | None
    invoice_number: str | None
    _model: strawberry.Private[model.CancellationPlan]

    @classmethod
    def from_model(cls, m: model.CancellationPlan) -> CancellationPlan:
        return cls(
            id=strawberry.ID(ids.encode("CancellationPlan", m.provider, m.key)),
            provider=m.provider,
            plan_type=m.plan_type,
            status=m.status,
            refund=m.refund,
            shipping_refund=m.shipping_refund,
            discount_refund=m.discount_refund,
            invoice_number=m.invoice_number,
            _model=m,
        )

    @classmethod
    def maybe(cls, m: model.CancellationPlan | None) -> CancellationPlan | None:
        return None if m is None else cls.from_model(m)

    @classmethod
    def all(cls, models: Iterable[model.CancellationPlan] | None) -> list[CancellationPlan]:
        return [cls.from_model(m) for m in models or ()]

    @strawberry.field(graphql_type=Order | None)
    def order(self, info: Info) -> Later[Order | None]:
        m = self._model
        found = info.context.loaders.load(m.provider, "orders_by_key", m.order_key)
        return then(found, Order.maybe)

    @strawberry.field(graphql_type=list[OrderItem | None] | None)
    def items(self, info: Info) -> Later[list[OrderItem | None]]:
        m = self._model
        found = info.context.loaders.get(m.provider, "items_by_key").load_many(m.item_keys)
        return then(found, lambda items: [OrderItem.maybe(i) for i in items])

    @strawberry.field(permission_classes=[CanReadRaw])
    def raw(self) -> JSON | None:
        return JSON(scrub(self._model.raw))
