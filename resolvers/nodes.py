"""Relay's ``node`` and ``nodes``: any object by its global id."""

from __future__ import annotations

import functools
from collections.abc import Awaitable
from typing import Any

import strawberry

from graph import ids
from graph.auth import CanReadOrders
from graph.context import Info
from graph.types.address import CustomerAddress
from graph.types.common import Node
from graph.types.order import Order, OrderItem
from graph.types.plan import CancellationPlan, amounts_shown

# Each id type: the loader kind that finds its record, and the GraphQL type that renders it.
KINDS: dict[str, tuple[str, Any]] = {
    "Order": ("orders_by_key", Order),
    "OrderItem": ("items_by_key", OrderItem),
    "CancellationPlan": ("plans_by_key", CancellationPlan),
    "CustomerAddress": ("addresses_by_key", CustomerAddress),
}
# The loader kind of plans read without their amounts, so without their orders.
BARE_PLANS = "plans_by_key_without_amounts"


async def resolve_node(info: Info, id: str) -> Node | None:
    gid = ids.decode(id)
    kind, type_ = KINDS[gid.type]
    loaders = info.context.loaders
    if type_ is CancellationPlan and not amounts_shown(info, [""], as_type=gid.type):
        # A plan shown without an amount needs no read of its order (as a page of them).
        provider = loaders.provider(gid.provider)
        loader = loaders.get(
            gid.provider, BARE_PLANS, functools.partial(provider.plans_by_key, amounts=False)
        )
        found = await loader.load(gid.key)
    else:
        found = await loaders.load(gid.provider, kind, gid.key)
    node: Node | None = None if found is None else type_.from_model(found)
    return node


@strawberry.type
class NodeQuery:
    @strawberry.field(permission_classes=[CanReadOrders])
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await resolve_node(info, id)

    @strawberry.field(permission_classes=[CanReadOrders], graphql_type=list[Node | None])
    def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Awaitable[Node | None]]:
        """Each id is looked up on its own: a malformed id or a provider that fails nulls its
        own entry, with its error at ``["nodes", i]``, and the rest are answered (the reads
        of one provider still go upstream as one batch)."""
        return [resolve_node(info, i) for i in ids]
