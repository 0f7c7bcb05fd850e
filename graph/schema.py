"""The schema, composed from the resolvers' parts."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import strawberry
from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from graph.admission import CostBudget
from graph.errors import extensions_for
from graph.execution import GatewayExecutor, direct_resolvers
from graph.limits import Limits
from graph.pipeline import Named, OperationPipeline, Pipeline
from graph.types.address import CustomerAddress
from graph.types.common import DECIMAL
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
    # The steps of every operation (graph/pipeline.py); when set, ``execute`` runs them itself
    # rather than as strawberry's extension (the same answers, a fraction of the calls).
    pipeline: Pipeline | None = None

    async def execute(  # noqa: PLR0917 - strawberry's signature
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        if self.pipeline is None:
            return await super().execute(
                query,
                variable_values,
                context_value,
                root_value,
                operation_name,
                allowed_operation_types,
                operation_extensions,
            )
        ctx = self._create_execution_context(
            query=query,
            allowed_operation_types=(
                DEFAULT_ALLOWED_OPERATION_TYPES
                if allowed_operation_types is None
                else allowed_operation_types
            ),
            variable_values=variable_values,
            context_value=context_value,
            root_value=root_value,
            operation_name=operation_name,
            operation_extensions=operation_extensions,
        )
        return await self.pipeline.run(self, ctx)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Expected errors are one quiet line; only a bug is logged with its traceback.

        The quiet line says the error's code, path and class, never its message: a message
        can quote the request ("no order 'X' at AKINON", a variable's invalid value) or a
        provider's data, and no log line holds a query value (README, Operations)."""
        for error in errors:
            original = error.original_error
            if original is None or isinstance(original, GraphQLError) or extensions_for(original):
                extra = {
                    "code": error_code(error),
                    "path": error.path,
                    "error_class": type(original or error).__name__,
                    "request_id": REQUEST_ID.get(),
                }
                log.info("graphql error", extra=extra)
            else:
                # The client sees a masked message; the request id ties it to this line.
                extra = {"path": error.path, "request_id": REQUEST_ID.get()}
                log.error("unexpected error", exc_info=original, extra=extra)


def error_code(error: GraphQLError) -> str:
    """The ``extensions.code`` the client sees for an error (graph/app.py format_error)."""
    known = extensions_for(error.original_error)
    if known is not None:
        return str(known[1]["code"])
    if error.original_error is not None and not isinstance(error.original_error, GraphQLError):
        return "INTERNAL_SERVER_ERROR"
    code = (error.extensions or {}).get("code")
    if code:
        return str(code)
    return "BAD_USER_INPUT" if error.path is None else "INTERNAL_SERVER_ERROR"


def build_schema(
    *, production: bool = False, limits: Limits | None = None, named: Named | None = None
) -> Schema:
    """The served schema; ``named`` is told each operation once it is parsed (the app's
    naming for logs and metrics, graph/observe.py)."""
    limits = limits or Limits()
    pipeline = Pipeline(
        limits,
        CostBudget(limits.max_inflight_cost),
        named,
        # In production no introspection: it maps the whole schema out for a stranger.
        [NoSchemaIntrospectionCustomRule] if production else (),
    )
    schema = Schema(
        query=Query,
        mutation=Mutation,
        types=[Order, OrderItem, CancellationPlan, CustomerAddress],
        # Strawberry builds each extension afresh for every operation: a factory.
        extensions=[OperationPipeline.factory(pipeline)],
        execution_context_class=GatewayExecutor,
        scalar_overrides={Decimal: DECIMAL},
        config=StrawberryConfig(
            disable_field_suggestions=production,
            batching_config={"max_operations": limits.batch_limit} if limits.batching else None,
        ),
    )
    schema.pipeline = pipeline  # no directives of its own: pipeline.run is all execute does
    direct_resolvers(schema)
    return schema


def sdl() -> str:
    return build_schema().as_str() + "\n"
