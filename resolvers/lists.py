"""The other list queries: ``cancellationPlans`` and ``customerAddresses``."""

from __future__ import annotations

import strawberry

from graph import ids
from graph.auth import CanReadOrders
from graph.context import Info
from graph.cursors import scope_of
from graph.errors import BadUserInput
from graph.types.address import CustomerAddress
from graph.types.common import Connection, Provider, connection
from graph.types.plan import CancellationPlan, amounts_shown
from providers.base import Capability
from providers.model import AddressFilter, CancellationPlanFilter
from resolvers.common import After, First, check_filter, max_page, page_window, provider_for


@strawberry.input(name="CancellationPlanFilter")
class CancellationPlanFilterInput:
    provider: Provider | None = None
    order_id: strawberry.ID | None = None
    order_number: str | None = None
    status: str | None = None
    plan_type: str | None = None


@strawberry.input(name="CustomerAddressFilter")
class CustomerAddressFilterInput:
    provider: Provider | None = None
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    postcode: str | None = None
    is_active: bool | None = None


@strawberry.type
class CancellationPlansQuery:
    @strawberry.field(permission_classes=[CanReadOrders])
    async def cancellation_plans(
        self,
        info: Info,
        filter: CancellationPlanFilterInput | None = None,
        first: First = None,
        after: After = None,
    ) -> Connection[CancellationPlan]:
        flt = filter or CancellationPlanFilterInput()
        check_filter(flt)
        scope = scope_of("cancellationPlans", flt)
        offset, limit = page_window(first, after, max_page(info.context), scope=scope)
        name = flt.provider
        order_key = None
        if flt.order_id is not None:
            gid = ids.decode(flt.order_id, "Order")
            if name is not None and name is not gid.provider:
                # Not one silently over the other: the answer would not be what was asked.
                raise BadUserInput(
                    f"filter.orderId names a {gid.provider.name} order, and filter.provider "
                    f"is {name.name}: give one, or both alike",
                    argument="filter",
                )
            name, order_key = gid.provider, gid.key
        provider = provider_for(
            info.context, Capability.CANCELLATION_PLANS, name, "cancellation plans"
        )
        domain = CancellationPlanFilter(order_key, flt.order_number, flt.status, flt.plan_type)
        # A provider may read the plans' orders for their amounts' currency: not for a page
        # that shows none.
        amounts = amounts_shown(info, ("nodes", "edges.node"))
        page = await provider.list_cancellation_plans(domain, offset, limit, amounts=amounts)
        return connection([CancellationPlan.from_model(p) for p in page.items], page, scope)


@strawberry.type
class CustomerAddressesQuery:
    @strawberry.field(permission_classes=[CanReadOrders])
    async def customer_addresses(
        self,
        info: Info,
        filter: CustomerAddressFilterInput | None = None,
        first: First = None,
        after: After = None,
    ) -> Connection[CustomerAddress]:
        flt = filter or CustomerAddressFilterInput()
        check_filter(flt)
        scope = scope_of("customerAddresses", flt)
        offset, limit = page_window(first, after, max_page(info.context), scope=scope)
        provider = provider_for(
            info.context, Capability.CUSTOMER_ADDRESSES, flt.provider, "customer addresses"
        )
        domain = AddressFilter(
            flt.email, flt.phone, flt.first_name, flt.last_name, flt.postcode, flt.is_active
        )
        page = await provider.list_addresses(domain, offset, limit)
        return connection([CustomerAddress.from_model(a) for a in page.items], page, scope)
