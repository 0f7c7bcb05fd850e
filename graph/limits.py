"""Query limits: a document too long, too deep, too wide or too costly is refused before it runs.

Two checkpoints, steps of every operation's pipeline (graph/pipeline.py):

- before parsing, the document is lexed once: more than ``max_tokens`` tokens, or braces nested
  far beyond ``max_depth``, is refused without building an AST (a hostile document never
  reaches the recursive parser);
- after validation (so fragments exist and have no cycles), the operation that will run is
  measured with its variables: field depth, aliases and estimated cost through fragments, and
  every ``first:`` against ``max_page_size``. The variables are held to what the document's
  own literals are held to: nested no deeper than braces may nest (``2 * max_depth + 8``
  levels of objects and lists), integers within the 64 bits JSON is written with here (orjson,
  answers and upstream bodies alike); a literal integer beyond 64 bits is refused lexically.

A refusal raises :class:`QueryTooComplex` (or :class:`BadUserInput` for a page size), which
strawberry turns into an error without ``data``; nothing has been resolved, so no provider was
called. Introspection fields are not measured: the schema bounds them, and production mode
turns them off.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any

import orjson
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Source,
    TokenKind,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
    value_from_ast_untyped,
)
from graphql.language import Lexer
from graphql.utilities import get_operation_ast
from strawberry.types import ExecutionContext

from graph.errors import BadUserInput, QueryTooComplex
from graph.memo import MEMO_SIZE, Lru

DEFAULT_PAGE = 20  # what a connection returns without ``first`` (resolvers/common.py)


@dataclass(frozen=True)
class Limits:
    """The ``[server]`` limits; every one can be set in the config file."""

    max_depth: int = 12
    max_aliases: int = 50
    max_tokens: int = 4000
    max_cost: int = 20000
    max_page_size: int = 100
    default_list_size: int = 10  # the cost of a list whose size no argument says
    max_body_bytes: int = 1_000_000
    batching: bool = False
    batch_limit: int = 10
    # Estimated cost executing at once in this process; more waits its turn (graph/admission.py)
    max_inflight_cost: int = 100_000

    @classmethod
    def pop_from(cls, server: dict[str, Any]) -> Limits:
        """The limits among ``[server]``'s keys (taken out of it); a wrong type is refused."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in server:
                continue
            value = server.pop(f.name)
            wanted = bool if f.name == "batching" else int
            if type(value) is not wanted or (wanted is int and value < 1):
                kind = "true or false" if wanted is bool else "a positive integer"
                raise ValueError(f"[server].{f.name} must be {kind}, not {value!r}")
            values[f.name] = value
        return cls(**values)


def too_complex(message: str, limit_name: str, limit: int, **found: int) -> QueryTooComplex:
    return QueryTooComplex(
        f"{message} ({limit_name} = {limit})", limit=limit_name, maximum=limit, **found
    )


@lru_cache(maxsize=MEMO_SIZE)
def lexically_checked(query: str, limits: Limits) -> bool:
    """:func:`lexical_check`, remembered for documents that pass (clients resend the same few);
    a refused document is checked again each time, as it is not remembered."""
    lexical_check(query, limits)
    return True


# The integers orjson writes (every JSON this gateway writes: answers, upstream bodies, keys).
INT_MIN, INT_MAX = -(2**63), 2**64 - 1


def max_nesting(limits: Limits) -> int:
    """How deep braces may nest in a document, and objects and lists in its variables. Input
    objects nest braces too, so the lexical guard is looser than the real depth check."""
    return 2 * limits.max_depth + 8


def lexical_check(query: str, limits: Limits) -> None:
    """Count tokens and brace nesting without parsing; stop at the first limit crossed."""
    lexer = Lexer(Source(query))
    tokens = nesting = 0
    deepest = max_nesting(limits)
    try:
        token = lexer.advance()
        while token.kind != TokenKind.EOF:
            tokens += 1
            if tokens > limits.max_tokens:
                raise too_complex(
                    f"query has more than {limits.max_tokens} tokens",
                    "max_tokens",
                    limits.max_tokens,
                )
            if token.kind == TokenKind.BRACE_L:
                nesting += 1
                if nesting > deepest:
                    raise too_complex(
                        f"query nests more than {deepest} levels of braces",
                        "max_depth",
                        limits.max_depth,
                    )
            elif token.kind == TokenKind.BRACE_R:
                nesting -= 1
            elif token.kind == TokenKind.INT and _beyond_64_bits(token.value or "0"):
                raise _too_big("the query")
            token = lexer.advance()
    except GraphQLError:
        return  # a syntax error: the parser reports it properly


def _beyond_64_bits(literal: str) -> bool:
    # Length first: int() refuses a text of more than 4,300 digits (ValueError, a crash here).
    return len(literal.lstrip("-")) > len(str(INT_MAX)) or not INT_MIN <= int(literal) <= INT_MAX


def _too_big(where: str) -> BadUserInput:
    return BadUserInput(f"{where} holds an integer beyond 64 bits")


def check_variables(variables: Mapping[str, Any], limits: Limits) -> None:
    """Refuse variables nested deeper than :func:`max_nesting` allows (``QUERY_TOO_COMPLEX``)
    or holding an integer beyond 64 bits (``BAD_USER_INPUT``). Iterative: a hostile depth
    costs no recursion."""
    deepest = max_nesting(limits)
    stack: list[tuple[Any, int]] = [(value, 1) for value in variables.values()]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > deepest:
                raise too_complex(
                    f"variables nest more than {deepest} levels of objects and lists",
                    "max_depth",
                    limits.max_depth,
                )
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
        elif type(value) is int and not INT_MIN <= value <= INT_MAX:
            raise _too_big("a variable")


@dataclass
class Measure:
    depth: int = 0
    aliases: int = 0
    cost: int = 0


class Measurer:
    """Depth, aliases and cost of one operation; each fragment is measured once (memoized), so
    a fragment spread many times costs nothing extra to measure."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        limits: Limits,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.limits = limits
        self._memo: dict[tuple[str, int | None], Measure] = {}

    def argument(self, node: FieldNode, name: str) -> Any:
        for arg in node.arguments or ():
            if arg.name.value == name:
                if isinstance(arg.value, VariableNode):
                    return self.variables.get(arg.value.name.value)
                return value_from_ast_untyped(arg.value, dict(self.variables))
        return None

    def list_hint(self, node: FieldNode) -> int | None:
        """The size a field's arguments give its list: ``first``, or the longest list argument."""
        first = self.argument(node, "first")
        if isinstance(first, int) and not isinstance(first, bool):
            if first > self.limits.max_page_size:
                raise BadUserInput(
                    f"{node.name.value}(first: {first}): first may be at most "
                    f"{self.limits.max_page_size} (max_page_size = {self.limits.max_page_size})",
                    argument="first",
                    limit="max_page_size",
                    maximum=self.limits.max_page_size,
                )
            return max(first, 0)
        for arg in node.arguments or ():
            if isinstance(arg.value, ListValueNode | VariableNode):
                value = self.argument(node, arg.name.value)
                if isinstance(value, list):
                    return len(value)
        return None

    def selections(
        self, selection_set: SelectionSetNode | None, parent: Any, hint: int | None
    ) -> Measure:
        total = Measure()
        if selection_set is None:
            return total
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                part = self.field(sel, parent, hint)
            elif isinstance(sel, InlineFragmentNode):
                cond = sel.type_condition
                inner = self.schema.get_type(cond.name.value) if cond else parent
                part = self.selections(sel.selection_set, inner, hint)
            elif isinstance(sel, FragmentSpreadNode):
                part = self.fragment(sel.name.value, hint)
            else:  # pragma: no cover - graphql-core has no other selection kinds
                continue
            total.depth = max(total.depth, part.depth)
            total.aliases += part.aliases
            total.cost += part.cost
        return total

    def fragment(self, name: str, hint: int | None) -> Measure:
        key = (name, hint)
        if key not in self._memo:
            definition = self.fragments[name]
            parent = self.schema.get_type(definition.type_condition.name.value)
            self._memo[key] = self.selections(definition.selection_set, parent, hint)
        return self._memo[key]

    def field(self, node: FieldNode, parent: Any, hint: int | None) -> Measure:
        name = node.name.value
        if name.startswith("__"):
            return Measure(aliases=1 if node.alias else 0)
        field_def = parent.fields.get(name) if isinstance(parent, GraphQLObjectType) else None
        if field_def is None:
            field_def = getattr(parent, "fields", {}).get(name)
        own_hint = self.list_hint(node)
        is_list = field_def is not None and is_list_type(get_nullable_type(field_def.type))
        if is_list:
            size = own_hint if own_hint is not None else hint
            multiplier = self.limits.default_list_size if size is None else size
            child_hint = None
        else:
            multiplier = 1
            connection = field_def is not None and get_named_type(field_def.type).name.endswith(
                "Connection"
            )
            child_hint = (
                own_hint if own_hint is not None else (DEFAULT_PAGE if connection else None)
            )
        child_type = get_named_type(field_def.type) if field_def is not None else None
        inner = self.selections(node.selection_set, child_type, child_hint)
        return Measure(
            depth=1 + inner.depth,
            aliases=(1 if node.alias else 0) + inner.aliases,
            cost=1 + multiplier * inner.cost,
        )


def measure(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    limits: Limits,
) -> Measure:
    root = schema.get_root_type(operation.operation)
    return Measurer(schema, fragments, variables, limits).selections(
        operation.selection_set, root, None
    )


def enforce(found: Measure, limits: Limits) -> None:
    if found.depth > limits.max_depth:
        raise too_complex(
            f"query depth {found.depth} is over the limit",
            "max_depth",
            limits.max_depth,
            found=found.depth,
        )
    if found.aliases > limits.max_aliases:
        raise too_complex(
            f"query uses {found.aliases} aliases, over the limit",
            "max_aliases",
            limits.max_aliases,
            found=found.aliases,
        )
    if found.cost > limits.max_cost:
        raise too_complex(
            f"query's estimated cost {found.cost} is over the limit",
            "max_cost",
            limits.max_cost,
            found=found.cost,
        )


class Measured:
    """The measures of (document, operation, variables) already seen, the least recently used
    out first: a document sent all the time stays measured while one-off documents pass."""

    def __init__(self, size: int = MEMO_SIZE) -> None:
        self._found: Lru[tuple[str, str | None, bytes], Measure] = Lru(size)

    def checked(self, ctx: ExecutionContext, limits: Limits) -> Measure | None:
        """The operation's measure, refused (raised) when over a limit; ``None`` when there is
        nothing to measure (no document, validation errors, no such operation)."""
        document = ctx.graphql_document
        if ctx.pre_execution_errors or document is None:
            return None  # invalid documents (fragment cycles included) are answered by validation
        key = None
        if ctx.query is not None:
            try:
                variables = (
                    orjson.dumps(ctx.variables, option=orjson.OPT_SORT_KEYS)
                    if ctx.variables
                    else b""
                )
            except TypeError:  # too deep, or an integer beyond 64 bits: refused just below
                variables = None
            if variables is not None:
                key = (ctx.query, ctx.operation_name, variables)
                found = self._found.find(key)
                if found is not None:
                    return found  # the same variables, checked when they were measured
        if ctx.variables:
            check_variables(ctx.variables, limits)
        operation = get_operation_ast(document, ctx.operation_name)
        if operation is None:
            return None
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        found = measure(ctx.schema._schema, operation, fragments, ctx.variables or {}, limits)
        enforce(found, limits)
        if key is not None:
            self._found.keep(key, found)
        return found
