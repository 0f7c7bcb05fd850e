"""The schema, composed from the resolvers' parts."""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import strawberry
from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import AddValidationRules
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from graph.admission import CostBudget
from graph.errors import extensions_for
from graph.execution import GatewayExecutor, direct_resolvers
from graph.limits import Limits
from graph.pipeline import Named, OperationPipeline
from graph.types.address import CustomerAddress
from graph.types.order import Order, OrderItem
from graph.types.plan import CancellationPlan
from providers.http import REQUEST_ID
from resolvers.lists import CancellationPlansQuery, CustomerAddressesQuery
from resolvers.mutations import OrderMutations
from resolvers.nodes import NodeQuery
from resolvers.orders import OrdersQuery
from resolvers.providers import ProvidersQuery

log = logging.getLogger("commerce_graph.errors")


@strawberry.type
class Query(OrdersQuery, NodeQuery, CancellationPlansQuery, CustomerAddressesQuery, ProvidersQuery):
    pass


@strawberry.type
class Mutation(OrderMutations):
    pass


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Expected errors are one quiet line; only a bug is logged with its traceback."""
        for error in errors:
            original = error.original_error
            if original is None or isinstance(original, GraphQLError) or extensions_for(original):
                log.info("graphql error", extra={"error": error.message, "path": error.path})
            else:
                # The client sees a masked message; the request id ties it to this line.
                extra = {"path": error.path, "requestId": REQUEST_ID.get()}
                log.error("unexpected error", exc_info=original, extra=extra)


def build_schema(
    *, production: bool = False, limits: Limits | None = None, named: Named | None = None
) -> Schema:
    """The served schema; ``named`` is told each operation once it is parsed (the app's
    naming for logs and metrics, graph/observe.py)."""
    limits = limits or Limits()
    # Factories, not instances: strawberry builds each extension afresh for every operation.
    budget = CostBudget(limits.max_inflight_cost)
    extensions: list[Any] = [OperationPipeline.factory(limits, budget, named)]
    if production:
        extensions.append(partial(AddValidationRules, [NoSchemaIntrospectionCustomRule]))
    schema = Schema(
        query=Query,
        mutation=Mutation,
        types=[Order, OrderItem, CancellationPlan, CustomerAddress],
        extensions=extensions,
        execution_context_class=GatewayExecutor,
        config=StrawberryConfig(
            disable_field_suggestions=production,
            batching_config={"max_operations": limits.batch_limit} if limits.batching else None,
        ),
    )
    direct_resolvers(schema)
    return schema


def sdl() -> str:
    return build_schema().as_str() + "\n"
