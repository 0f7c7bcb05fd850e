"""Order queries: ``order``, ``orderByNumber``, ``orders``."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import strawberry

from graph import ids
from graph.auth import CanReadOrders
from graph.context import Info
from graph.cursors import scope_of
from graph.errors import NotFoundError
from graph.types.common import Connection, OrderStatus, Provider, connection
from graph.types.order import Order, read_ahead
from providers.base import Capability
from providers.model import Order as DomainOrder
from providers.model import OrderFilter as DomainOrderFilter
from providers.model import OrderRef
from resolvers.common import After, First, check_filter, max_page, page_window, provider_for
from resolvers.loaders import Later, then

CustomerId = Annotated[
    str | None,
    strawberry.argument(
        description="The customer the order is filed under: Lipa Later needs it (the order's "
        "memberId); the other providers find an order by its number alone and do not use it."
    ),
]


@strawberry.input(description="Filters pushed down to the provider's own query parameters.")
class OrderFilter:
    provider: Provider | None = None
    number: str | None = None
    number_contains: str | None = None
    status: list[OrderStatus] | None = None
    placed_after: datetime | None = strawberry.field(
        default=None, description="Placed at or after this time, given with its UTC offset."
    )
    placed_before: datetime | None = strawberry.field(
        default=None, description="Placed before this time, given with its UTC offset."
    )
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    currency: str | None = None

    def to_domain(self) -> DomainOrderFilter:
        return DomainOrderFilter(
            number=self.number,
            number_contains=self.number_contains,
            statuses=tuple(self.status or ()),
            placed_after=self.placed_after,
            placed_before=self.placed_before,
            min_amount=self.min_amount,
            max_amount=self.max_amount,
            currency=self.currency,
        )


def _found(order: Order | None, what: str) -> Order:
    if order is None:
        raise NotFoundError(f"no order {what}")
    return order


@strawberry.type
class OrdersQuery:
    @strawberry.field(permission_classes=[CanReadOrders], graphql_type=Order | None)
    def order(self, info: Info, id: strawberry.ID) -> Later[Order]:
        gid = ids.decode(id, "Order")
        found = info.context.loaders.load(gid.provider, "orders_by_key", gid.key)
        return then(found, lambda order: _found(Order.maybe(order), f"with id {id!r}"))

    @strawberry.field(permission_classes=[CanReadOrders], graphql_type=Order | None)
    def order_by_number(
        self, info: Info, provider: Provider, number: str, customer_id: CustomerId = None
    ) -> Later[Order]:
        loaders = info.context.loaders
        # Trimmed here, once for every provider: a number pasted with a space around it.
        customer = customer_id.strip() if customer_id is not None else None
        found = loaders.load(provider, "orders_by_ref", OrderRef(number.strip(), customer))

        def answer(order: DomainOrder | None) -> Order:
            if order is not None:
                loaders.known_orders([order])
            return _found(Order.maybe(order), f"{number!r} at {provider.name}")

        return then(found, answer)

    @strawberry.field(permission_classes=[CanReadOrders])
    async def orders(
        self,
        info: Info,
        filter: OrderFilter | None = None,
        first: First = None,
        after: After = None,
    ) -> Connection[Order]:
        flt = filter or OrderFilter()
        check_filter(flt)
        scope = scope_of("orders", flt)
        offset, limit = page_window(first, after, max_page(info.context), scope=scope)
        provider = provider_for(
            info.context, Capability.LIST_ORDERS, flt.provider, "listing orders"
        )
        page = await provider.list_orders(flt.to_domain(), offset, limit)
        info.context.loaders.known_orders(page.items)
        return connection(await read_ahead(info, page.items, ("nodes", "edges.node")), page, scope)
