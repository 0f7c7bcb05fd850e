"""Lookahead: the fields an operation is sure to select below the field being resolved.

A resolver that knows what its objects' fields will read can start those reads itself, before
the executor walks its objects: a page of orders asks for its orders' items, addresses and
plans the moment the page is in (``graph.types.order.read_ahead``).

*Sure* is the point. A field, an inline fragment or a fragment spread carrying any directive
(``@skip``, ``@include``, ``@defer``) counts as not selected, with everything below it, and so
does a fragment whose type condition does not match (matched as graphql-core matches it):
reading ahead never asks a provider for anything the request would not have asked for. The
answer depends on the document alone, so it is worked out once per field of a document and
kept on the schema, as the executor keeps its plans (graph/memo.py).
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
    memo: Lru[tuple[Any, ...], tuple[Sequence[FieldNode], tuple[str, ...]]]
    memo = on_schema(info.schema, _MEMO)
    nodes = info.field_nodes
    key = (*map(id, nodes), *path)
    found = memo.find(key)
    if found is None:
        names = _selected(info.schema, info.fragments, nodes, info.return_type, path)
        found = memo.keep(key, (nodes, names))
    return found[1]


def _selected(
    schema: GraphQLSchema,
    fragments: Mapping[str, FragmentDefinitionNode],
    nodes: Sequence[FieldNode],
    field_type: Any,
    path: Sequence[str],
) -> tuple[str, ...]:
    sets = [node.selection_set for node in nodes if node.selection_set is not None]
    parent = get_named_type(field_type)
    for name in path:
        field = parent.fields.get(name) if isinstance(parent, GraphQLObjectType) else None
        if field is None:
            return ()  # no such field, or an interface or a union: it depends on the object
        fields = _fields(schema, fragments, sets, parent)
        sets = [f.selection_set for f in fields if f.name.value == name and f.selection_set]
        parent = get_named_type(field.type)
    if not isinstance(parent, GraphQLObjectType):
        return ()
    return tuple(dict.fromkeys(f.name.value for f in _fields(schema, fragments, sets, parent)))


def _fields(
    schema: GraphQLSchema,
    fragments: Mapping[str, FragmentDefinitionNode],
    sets: Sequence[SelectionSetNode],
    runtime_type: GraphQLObjectType,
) -> Iterator[FieldNode]:
    """The fields of ``sets`` sure to be executed on ``runtime_type``, fragments spread in.
    Validation has refused fragment cycles, so the spreading ends."""
    for selection_set in sets:
        for selection in selection_set.selections:
            if selection.directives:
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
                and not fragment.directives
                and does_fragment_condition_match(schema, fragment, runtime_type)
            ):
                yield from _fields(schema, fragments, [fragment.selection_set], runtime_type)
