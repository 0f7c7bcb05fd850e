"""Lookahead: the fields an operation selects below the field being resolved.

A resolver that knows what its objects' fields will read can start those reads itself, before
the executor walks its objects: a page of orders asks for its orders' items, addresses and
plans the moment the page is in (``graph.types.order.read_ahead``). And one whose read serves
some fields only can leave it out when none of them may be selected: a page of cancellation
plans reads their orders only for the currency of their amounts
(``graph.types.plan.amounts_shown``).

The two ask opposite questions. ``selected``: the fields *sure* to be executed, to read for.
A field, an inline fragment or a fragment spread carrying any directive (``@skip``,
``@include``, ``@defer``) counts as not selected, with everything below it: reading ahead never
asks a provider for anything the request would not have asked for. ``possibly``: the fields
that *may* be executed, to leave a read out by; those under a directive count. In both, a
fragment whose type condition does not match is not selected (matched as graphql-core matches
it). The answer depends on the document alone (no variable's value), so it is worked out once
per field of a document and kept on the schema, as the executor keeps its plans
(graph/memo.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
    get_named_type,
)
from graphql.execution.collect_fields import does_fragment_condition_match

from graph.memo import Lru, on_schema

_MEMO = "_commerce_graph_lookahead"  # the schema's memo of lookaheads (graph/memo.py)


def selected(info: GraphQLResolveInfo[Any], *path: str) -> tuple[str, ...]:
    """The names of the fields selected for sure at ``path`` below the field being resolved, in
    the document's order, each once: below ``orders``, ``selected(info, "nodes")`` might be
    ``("id", "items")``."""
    return _memo(info, path, sure=True) or ()


def possibly(
    info: GraphQLResolveInfo[Any], *path: str, as_type: str | None = None
) -> tuple[str, ...] | None:
    """The names of the fields that may be selected at ``path`` below the field being
    resolved, as ``selected`` names them, those under a directive too; None where that
    cannot be told (an interface or a union on the way: it depends on the object), for any
    field may be. ``as_type``: the object type the field answers this time, where its own
    type is an interface (``node`` answering a ``CancellationPlan``)."""
    return _memo(info, path, sure=False, as_type=as_type)


def _memo(
    info: GraphQLResolveInfo[Any],
    path: Sequence[str],
    *,
    sure: bool,
    as_type: str | None = None,
) -> tuple[str, ...] | None:
    memo: Lru[tuple[Any, ...], tuple[Sequence[FieldNode], tuple[str, ...] | None]]
    memo = on_schema(info.schema, _MEMO)
    nodes = info.field_nodes
    key = (sure, as_type, *map(id, nodes), *path)
    found = memo.find(key)
    if found is None:
        answers = info.return_type if as_type is None else info.schema.get_type(as_type)
        names = _selected(info.schema, info.fragments, nodes, answers, path, sure)
        found = memo.keep(key, (nodes, names))
    return found[1]


def _selected(
    schema: GraphQLSchema,
    fragments: Mapping[str, FragmentDefinitionNode],
    nodes: Sequence[FieldNode],
    field_type: Any,
    path: Sequence[str],
    sure: bool,
) -> tuple[str, ...] | None:
    """The names at ``path``; None where they cannot be told."""
    sets = [node.selection_set for node in nodes if node.selection_set is not None]
    parent = get_named_type(field_type)
    for name in path:
        field = parent.fields.get(name) if isinstance(parent, GraphQLObjectType) else None
        if field is None:
            return None  # no such field, or an interface or a union: it depends on the object
        fields = _fields(schema, fragments, sets, parent, sure)
        sets = [f.selection_set for f in fields if f.name.value == name and f.selection_set]
        parent = get_named_type(field.type)
    if not isinstance(parent, GraphQLObjectType):
        return None
    fields = _fields(schema, fragments, sets, parent, sure)
    return tuple(dict.fromkeys(f.name.value for f in fields))


def _fields(
    schema: GraphQLSchema,
    fragments: Mapping[str, FragmentDefinitionNode],
    sets: Sequence[SelectionSetNode],
    runtime_type: GraphQLObjectType,
    sure: bool,
) -> Iterator[FieldNode]:
    """The fields of ``sets`` sure to be executed on ``runtime_type`` (``sure``), or that may be
    (a directive's aside), fragments spread in. Validation has refused fragment cycles, so the
    spreading ends."""
    for selection_set in sets:
        for selection in selection_set.selections:
            if sure and selection.directives:
                continue
            if isinstance(selection, FieldNode):
                yield selection
                continue
            fragment: InlineFragmentNode | FragmentDefinitionNode | None = None
            if isinstance(selection, InlineFragmentNode):
                fragment = selection
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments.get(selection.name.value)
            if (
                fragment is not None
                and not (sure and fragment.directives)
                and does_fragment_condition_match(schema, fragment, runtime_type)
            ):
                yield from _fields(schema, fragments, [fragment.selection_set], runtime_type, sure)
