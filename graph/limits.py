"""Query limits: a document too long, too deep, too wide or too costly is refused before it runs.

Two checkpoints, steps of every operation's pipeline (graph/pipeline.py):

- before parsing, the document is lexed once: more than ``max_tokens`` tokens, or braces nested
  far beyond ``max_depth``, is refused without building an AST (a hostile document never
  reaches the recursive parser);
- after validation (so fragments exist and have no cycles), the operation that will run is
  measured with its variables as execution coerces them (defaults included; ``100.0`` is the
  Int 100): field depth, aliases and estimated cost through fragments, and every ``first:``
  against ``max_page_size``. The variables are held to what the document's own literals are
  held to: nested no deeper than braces may nest (``2 * max_depth + 8`` levels of objects and
  lists), integers within the 64 bits JSON is written with here (orjson, answers and upstream
  bodies alike); a literal integer beyond 64 bits is refused lexically.

A refusal raises :class:`QueryTooComplex` (or :class:`BadUserInput` for a page size), which
strawberry turns into an error without ``data``; nothing has been resolved, so no provider was
called. Introspection is measured as any field, its lists as long as the schema makes them
(:func:`shape_of`): twenty aliased copies of the schema are refused before they are built, a
client's introspection query costs about what it answers. Production mode turns it off.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any

import orjson
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLType,
    InlineFragmentNode,
    OperationDefinitionNode,
    SchemaMetaFieldDef,
    SelectionSetNode,
    Source,
    TokenKind,
    TypeMetaFieldDef,
    get_named_type,
    get_nullable_type,
    is_abstract_type,
    is_composite_type,
    is_introspection_type,
    is_list_type,
    is_wrapping_type,
)
from graphql.execution import VariableValues, get_argument_values, get_variable_values
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
    # Characters of a document, comments included: the memos keep the texts of the documents
    # they remember (128 one-off texts of a megabyte of comment held 300 MB).
    max_query_length: int = 100_000
    max_cost: int = 20000
    max_page_size: int = 100
    default_list_size: int = 10  # the cost of a list whose size no argument says
    max_body_bytes: int = 1_000_000
    batching: bool = False
    batch_limit: int = 10
    # Estimated cost executing at once in this process; more waits its turn (graph/admission.py)
    max_inflight_cost: int = 100_000
    # Seconds a query's upstream calls have in all, however many follow one another (each
    # provider's timeout_s still bounds each call): a chain of five 10 s calls took 50 s.
    query_timeout_s: int = 30

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
    if len(query) > limits.max_query_length:
        raise too_complex(
            f"query is longer than {limits.max_query_length} characters",
            "max_query_length",
            limits.max_query_length,
        )
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
            elif token.kind == TokenKind.INT and beyond_64_bits(token.value or "0"):
                raise _too_big("the query")
            token = lexer.advance()
    except GraphQLError:
        return  # a syntax error: the parser reports it properly


def beyond_64_bits(literal: str) -> bool:
    """Whether an integer written as ``literal`` (a document's, a JSON body's) is beyond 64
    bits."""
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


@dataclass(frozen=True)
class Within:
    """Where a selection set is measured: ``hint``, the page a connection gives its ``nodes``
    and ``edges``; in introspection, ``every``, the list every item of which the selection runs
    on (its measure is then their sum), and ``wraps``, the ``ofType`` steps taken so far."""

    hint: int | None = None
    every: tuple[str, str] | None = None
    wraps: int = 0


# Introspection lists whose items, taken from every parent (or from the one schema), are every
# item of their kind in the schema: ``types { fields }`` answers each field once, so it is
# measured as the schema's fields, not as its longest type's fields times its types.
OWNED = frozenset(
    {
        ("__Schema", "types"),
        ("__Schema", "directives"),
        ("__Type", "fields"),
        ("__Type", "inputFields"),
        ("__Type", "enumValues"),
        ("__Field", "args"),
        ("__Directive", "args"),
    }
)


@dataclass(frozen=True)
class Shape:
    """What introspection of a schema can answer. Per list, ``(parent type, field)``: ``most``,
    the most items one parent has; ``total``, the items of every parent together. ``wraps``:
    the most ``ofType`` steps a type reference takes to its named type (one more is null)."""

    most: dict[tuple[str, str], int]
    total: dict[tuple[str, str], int]
    wraps: int


@lru_cache(maxsize=8)
def shape_of(schema: GraphQLSchema) -> Shape:
    lists: dict[tuple[str, str], list[int]] = defaultdict(list)
    named = list(schema.type_map.values())
    refs: list[GraphQLType] = []
    lists["__Schema", "types"].append(len(named))
    lists["__Schema", "directives"].append(len(schema.directives))
    for directive in schema.directives:
        lists["__Directive", "args"].append(len(directive.args))
        lists["__Directive", "locations"].append(len(directive.locations))
        refs += [arg.type for arg in directive.args.values()]
    for type_ in named:
        if isinstance(type_, GraphQLObjectType | GraphQLInterfaceType):
            lists["__Type", "fields"].append(len(type_.fields))
            lists["__Type", "interfaces"].append(len(type_.interfaces))
            for field in type_.fields.values():
                lists["__Field", "args"].append(len(field.args))
                refs += [field.type, *(arg.type for arg in field.args.values())]
        if is_abstract_type(type_):
            lists["__Type", "possibleTypes"].append(len(schema.get_possible_types(type_)))
        if isinstance(type_, GraphQLEnumType):
            lists["__Type", "enumValues"].append(len(type_.values))
        if isinstance(type_, GraphQLInputObjectType):
            lists["__Type", "inputFields"].append(len(type_.fields))
            refs += [field.type for field in type_.fields.values()]
    wraps = 0
    for ref in refs:
        steps = 0
        while is_wrapping_type(ref):
            ref, steps = ref.of_type, steps + 1
        wraps = max(wraps, steps)
    return Shape(
        most={key: max(sizes) for key, sizes in lists.items()},
        total={key: sum(sizes) for key, sizes in lists.items()},
        wraps=wraps,
    )


def coerced_variables(
    schema: GraphQLSchema, operation: OperationDefinitionNode, sent: Mapping[str, Any]
) -> VariableValues:
    """The variables as execution sees them: coerced (``100.0`` is the Int 100), defaults
    included. A value that does not coerce fails the operation before anything runs; it is
    measured as sent, so ``first: $n`` with an ``n`` too large is still named as such."""
    definitions = operation.variable_definitions or ()
    found = get_variable_values(schema, definitions, dict(sent))
    if isinstance(found, VariableValues):
        return found
    coerced: dict[str, Any] = {}
    for definition in definitions:
        one = get_variable_values(schema, [definition], dict(sent))
        name = definition.variable.name.value
        if isinstance(one, VariableValues):
            coerced.update(one.coerced)
        elif name in sent:
            coerced[name] = sent[name]
    return VariableValues({}, coerced)


class Measurer:
    """Depth, aliases and cost of one operation; each fragment is measured once per place
    (memoized), so a fragment spread many times costs nothing extra to measure."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: VariableValues,
        limits: Limits,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.limits = limits
        self._memo: dict[tuple[str, Within], Measure] = {}

    def list_hint(self, node: FieldNode, field_def: GraphQLField) -> int | None:
        """The size a field's arguments, as execution coerces them, give its list: ``first``,
        or the longest list argument. A size that cannot be read is the largest allowed."""
        if not field_def.args:
            return None
        try:
            args: dict[str, Any] | None = get_argument_values(field_def, node, self.variables)
        except GraphQLError:  # the field fails before its resolver runs
            args = None
        if "first" in field_def.args:
            first = self.limits.max_page_size if args is None else args.get("first")
            if first is not None:
                if type(first) is not int:  # a value that did not coerce: execution refuses it
                    first = self.limits.max_page_size
                if first > self.limits.max_page_size:
                    raise BadUserInput(
                        f"{node.name.value}(first: {first}): first may be at most "
                        f"{self.limits.max_page_size} (max_page_size = "
                        f"{self.limits.max_page_size})",
                        argument="first",
                        limit="max_page_size",
                        maximum=self.limits.max_page_size,
                    )
                return max(first, 0)
        sizes = [len(value) for value in (args or {}).values() if isinstance(value, list)]
        return max(sizes, default=None)

    def selections(
        self, selection_set: SelectionSetNode | None, parent: Any, within: Within
    ) -> Measure:
        total = Measure()
        if selection_set is None:
            return total
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                part = self.field(sel, parent, within)
            elif isinstance(sel, InlineFragmentNode):
                cond = sel.type_condition
                inner = self.schema.get_type(cond.name.value) if cond else parent
                part = self.selections(sel.selection_set, inner, within)
            elif isinstance(sel, FragmentSpreadNode):
                part = self.fragment(sel.name.value, within)
            else:  # pragma: no cover - graphql-core has no other selection kinds
                continue
            total.depth = max(total.depth, part.depth)
            total.aliases += part.aliases
            total.cost += part.cost
        return total

    def fragment(self, name: str, within: Within) -> Measure:
        key = (name, within)
        if key not in self._memo:
            definition = self.fragments[name]
            parent = self.schema.get_type(definition.type_condition.name.value)
            self._memo[key] = self.selections(definition.selection_set, parent, within)
        return self._memo[key]

    def definition(self, parent: Any, name: str) -> GraphQLField | None:
        if parent is self.schema.query_type and name in ("__schema", "__type"):
            return SchemaMetaFieldDef if name == "__schema" else TypeMetaFieldDef
        found: GraphQLField | None = getattr(parent, "fields", {}).get(name)
        return found

    def field(self, node: FieldNode, parent: Any, within: Within) -> Measure:
        name = node.name.value
        field_def = self.definition(parent, name)
        if name == "__typename" or field_def is None:
            return Measure(aliases=1 if node.alias else 0)  # resolves nothing
        if name in ("__schema", "__type") or is_introspection_type(parent):
            return self.introspection(node, parent.name, field_def, within)
        own_hint = self.list_hint(node, field_def)
        listed = is_list_type(get_nullable_type(field_def.type))
        if listed:
            size = own_hint if own_hint is not None else within.hint
            multiplier = self.limits.default_list_size if size is None else size
            child_hint = None
        else:
            multiplier = 1
            connection = get_named_type(field_def.type).name.endswith("Connection")
            child_hint = (
                own_hint if own_hint is not None else (DEFAULT_PAGE if connection else None)
            )
        child = get_named_type(field_def.type)
        inner = self.selections(node.selection_set, child, Within(hint=child_hint))
        # Each object of a list is resolved (read upstream) whatever is selected of it: one
        # that selects only `__typename` still costs 1 (`nodes(ids: [30,000 ids])` did not).
        each = max(inner.cost, 1) if listed and is_composite_type(child) else inner.cost
        return Measure(
            depth=1 + inner.depth,
            aliases=(1 if node.alias else 0) + inner.aliases,
            cost=1 + multiplier * each,
        )

    def introspection(
        self, node: FieldNode, parent_name: str, field_def: GraphQLField, within: Within
    ) -> Measure:
        """Measured as any field, its lists as long as the schema makes them: the sum over
        every item where the selection runs on every item of a kind, else the longest."""
        shape = shape_of(self.schema)
        key = (parent_name, node.name.value)
        runs = shape.total[within.every] if within.every else 1  # items this selection runs on
        aliases = 1 if node.alias else 0
        child = get_named_type(field_def.type)
        if key[1] == "ofType":
            wraps = within.wraps + 1
            inner = self.selections(node.selection_set, child, Within(wraps=wraps))
            if wraps > shape.wraps:  # no type reference unwraps this far: null, nothing below
                return Measure(depth=1, aliases=aliases + inner.aliases, cost=runs)
            cost = runs * (1 + inner.cost)
        elif not is_list_type(get_nullable_type(field_def.type)):
            inner = self.selections(node.selection_set, child, Within())
            cost = runs * (1 + inner.cost)
        elif key in OWNED and (within.every is not None or parent_name == "__Schema"):
            inner = self.selections(node.selection_set, child, Within(every=key))
            cost = runs + inner.cost
        else:
            sizes = shape.total if within.every else shape.most
            items = sizes.get(key, runs * self.limits.default_list_size)
            inner = self.selections(node.selection_set, child, Within())
            cost = runs + items * inner.cost
        return Measure(depth=1 + inner.depth, aliases=aliases + inner.aliases, cost=cost)


def measure(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: VariableValues,
    limits: Limits,
) -> Measure:
    root = schema.get_root_type(operation.operation)
    return Measurer(schema, fragments, variables, limits).selections(
        operation.selection_set, root, Within()
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


# Variables longer than this are measured each time, not remembered: a key holds them, and
# 128 one-off megabytes of an unused variable held 130 MB. What clients resend is far shorter.
KEYED_VARIABLES_MAX = 16 * 1024


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
            if variables is not None and len(variables) <= KEYED_VARIABLES_MAX:
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
        schema = ctx.schema._schema
        coerced = coerced_variables(schema, operation, ctx.variables or {})
        found = measure(schema, operation, fragments, coerced, limits)
        enforce(found, limits)
        if key is not None:
            self._found.keep(key, found)
        return found
