"""Relay's ``node`` and ``nodes``: any object by its global id."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import strawberry

from graph import ids
from graph.auth import CanReadOrders
from graph.context import Info
from graph.types.address import CustomerAddress
from graph.types.common import Node
from graph.types.order import Order, OrderItem
from graph.types.plan import CancellationPlan

# Each id type: the loader kind that finds its record, and the GraphQL type that renders it.
KINDS: dict[str, tuple[str, Any]] = {
    "Order": ("orders_by_key", Order),
    "OrderItem": ("items_by_key", OrderItem),
    "CancellationPlan": ("plans_by_key", CancellationPlan),
    "CustomerAddress": ("addresses_by_key", CustomerAddress),
}


async def resolve_node(info: Info, id: str) -> Node | None:
    gid = ids.decode(id)
    kind, type_ = KINDS[gid.type]
    found = await info.context.loaders.load(gid.provider, kind, gid.key)
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
