"""Everything before and around an operation's execution, and the lean way to run it.

Per operation, in order: the limits' lexical check of the text (graph/limits.py), a cached
parse, the operation named for logs and metrics (graph/observe.py), a cached validation (and a
document of several operations refused without an ``operationName``), the limits' measure of
the operation with its variables, and, around execution, admission by estimated cost
(graph/admission.py) and the operation's name in the upstream calls' log lines.

:class:`Pipeline` holds those steps. :meth:`Pipeline.run` calls them in turn and then
graphql-core's ``execute``: it is what the schema's ``execute`` does for every operation
(graph/schema.py), and it answers exactly as strawberry's ``Schema.execute`` with the steps as an
extension would (tests/test_pipeline.py runs both). strawberry's way wraps each hook of each
extension in a context manager and builds its extensions, their runner and a middleware manager
anew for every operation: measured at a quarter of the CPU a one-order request spends in
strawberry and graphql-core (tests/benchmarks/HISTORY.md). :class:`OperationPipeline` is the
same steps as that extension, for strawberry's other ways to run an operation (``execute_sync``,
streaming).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, nullcontext
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Any, TypeGuard, cast

from graphql import DocumentNode, GraphQLError, GraphQLSchema, OperationDefinitionNode
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.language.parser import parse
from graphql.validation import ASTValidationRule
from strawberry.exceptions import MissingQueryError
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.extensions import SchemaExtension
from strawberry.schema._graphql_core import execute, execution_context_class_kwargs
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.schema.schema import validate_document
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.utils.await_maybe import await_maybe

from graph.admission import CostBudget
from graph.departure import executing_query
from graph.limits import Limits, Measured, lexically_checked
from graph.memo import MEMO_SIZE
from graph.observe import loggable
from providers.http import DEADLINE, OPERATION, sharing_reads

if TYPE_CHECKING:
    import strawberry

# Clients send the same few documents again and again: each is parsed and validated once.
cached_parse = lru_cache(maxsize=MEMO_SIZE)(parse)


class Same:
    """A parsed document as a memo key, by identity. Hashing the document itself walks every
    node of it (graphql-core's nodes hash their fields): about a tenth of a W4 request's time
    under the profiler. ``cached_parse`` hands the same text the same object."""

    __slots__ = ("document",)

    def __init__(self, document: DocumentNode) -> None:
        self.document = document

    def __hash__(self) -> int:
        return id(self.document)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Same) and other.document is self.document


@lru_cache(maxsize=MEMO_SIZE)
def cached_validate(
    schema: GraphQLSchema, document: Same, rules: tuple[type[ASTValidationRule], ...]
) -> list[GraphQLError]:
    return validate_document(schema, document.document, rules)


Named = Callable[[ExecutionContext], None]
# strawberry's own check (faster than graphql-core's), typed as the guard graphql-core asks for
_IS_AWAITABLE = cast("Callable[[Any], TypeGuard[Awaitable[Any]]]", optimized_is_awaitable)


class Pipeline:
    """The steps of every operation of one schema, with the memo of measures they share."""

    def __init__(
        self,
        limits: Limits,
        budget: CostBudget | None = None,
        named: Named | None = None,
        rules: Sequence[type[ASTValidationRule]] = (),
    ) -> None:
        self.limits = limits
        self.budget = budget
        self.named = named
        self.rules = tuple(rules)  # validation rules beyond the specification's
        self.measured = Measured()

    def parse(self, ctx: ExecutionContext) -> None:
        if ctx.graphql_document is None and ctx.query:
            lexically_checked(ctx.query, self.limits)  # before the parser sees a hostile text
            ctx.graphql_document = cached_parse(ctx.query, **ctx.parse_options)

    def validate(self, ctx: ExecutionContext) -> None:
        if self.named is not None:
            self.named(ctx)
        if ctx.pre_execution_errors is None and ctx.validation_rules and ctx.graphql_document:
            ctx.pre_execution_errors = cached_validate(
                ctx.schema._schema, Same(ctx.graphql_document), (*ctx.validation_rules, *self.rules)
            ) or _unnamed_choice(ctx, ctx.graphql_document)

    def measure(self, ctx: ExecutionContext) -> int:
        """The operation's estimated cost; raises when it is over a limit. After validation:
        fragments exist and have no cycles."""
        found = self.measured.checked(ctx, self.limits)
        return 0 if found is None else found.cost

    @asynccontextmanager
    async def executing(self, ctx: ExecutionContext, cost: int) -> AsyncIterator[None]:
        token = OPERATION.set(loggable(ctx.operation_name))  # for the upstream calls' lines
        # A query's upstream calls end by its deadline; a mutation's are not cut short by one
        # (a write cut off mid-way is worse than a slow answer).
        query = ctx.operation_type is OperationType.QUERY
        seconds = self.limits.query_timeout_s
        deadline = DEADLINE.set(
            (asyncio.get_running_loop().time() + seconds, seconds) if query else None
        )
        try:
            # a GET the operation asks twice goes upstream once; a query is cancelled when
            # its client leaves (graph/departure.py)
            with sharing_reads(), executing_query() if query else nullcontext():
                if self.budget is None:
                    yield
                else:
                    async with self.budget.hold(cost):
                        yield
        finally:
            DEADLINE.reset(deadline)
            OPERATION.reset(token)
            if query:  # what a query's loaders still read, nothing will ever ask for
                loaders = getattr(ctx.context, "loaders", None)
                if loaders is not None:
                    loaders.cancel()

    async def run(self, schema: strawberry.Schema, ctx: ExecutionContext) -> ExecutionResult:
        """strawberry's ``Schema.execute`` for a schema whose one extension is these steps:
        the same errors, raised or returned, at the same points."""
        try:
            if not ctx.query and ctx.graphql_document is None:
                raise MissingQueryError
            self.parse(ctx)
            try:
                operation_type = ctx.operation_type
            except RuntimeError as error:
                raise CannotGetOperationTypeError(ctx.operation_name) from error
            if operation_type not in ctx.allowed_operations:
                raise InvalidOperationTypeError(operation_type)
            self.validate(ctx)
            if ctx.pre_execution_errors:
                return _failed(schema, ctx, ctx.pre_execution_errors)
            document = ctx.graphql_document
            assert document is not None  # a query and no parse error: parsed
            async with self.executing(ctx, self.measure(ctx)):
                result: GraphQLExecutionResult = await await_maybe(
                    execute(
                        schema._schema,
                        document,
                        root_value=ctx.root_value,
                        variable_values=ctx.variables,
                        operation_name=ctx.operation_name,
                        context_value=ctx.context,
                        is_awaitable=_IS_AWAITABLE,
                        operation_extensions=ctx.operation_extensions,
                        **execution_context_class_kwargs(schema.execution_context_class),
                    )
                )
                if result.errors:
                    ctx.pre_execution_errors = result.errors
                    schema._process_errors(result.errors, ctx)
        except (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError):
            raise
        except Exception as exc:  # noqa: BLE001 - strawberry answers any failure as an error
            failure = (
                exc if isinstance(exc, GraphQLError) else GraphQLError(str(exc), original_error=exc)
            )
            return _failed(schema, ctx, [failure])
        ctx.result = ExecutionResult(data=result.data, errors=result.errors, extensions={})
        return ctx.result


def _unnamed_choice(ctx: ExecutionContext, document: DocumentNode) -> list[GraphQLError]:
    """The spec's GetOperation: a document of several operations and no ``operationName`` is
    refused. strawberry names the first operation for it (``ctx.operation_name``), which would
    run it; only the name the request gave counts here."""
    if ctx._provided_operation_name is not None:
        return []
    operations = sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)
    if operations < 2:  # noqa: PLR2004 - one operation needs no name
        return []
    return [GraphQLError("Must provide operation name if query contains multiple operations.")]


def _failed(
    schema: strawberry.Schema, ctx: ExecutionContext, errors: list[GraphQLError]
) -> ExecutionResult:
    ctx.pre_execution_errors = errors
    schema._process_errors(errors, ctx)
    ctx.result = ExecutionResult(data=None, errors=errors, extensions={})
    return ctx.result


class OperationPipeline(SchemaExtension):
    """The pipeline's steps as a strawberry extension, for strawberry's own ways to run an
    operation (built afresh for each one)."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.cost = 0

    def on_parse(self) -> Iterator[None]:
        self.pipeline.parse(self.execution_context)
        yield

    def on_validate(self) -> Iterator[None]:
        self.pipeline.validate(self.execution_context)
        yield
        self.cost = self.pipeline.measure(self.execution_context)

    async def on_execute(self) -> AsyncIterator[None]:
        async with self.pipeline.executing(self.execution_context, self.cost):
            yield

    @classmethod
    def factory(cls, pipeline: Pipeline) -> partial[OperationPipeline]:
        return partial(cls, pipeline)
