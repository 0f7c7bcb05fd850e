"""The executor: graphql-core's, with short paths for what a gateway executes most.

Most of what a client asks for is a plain attribute of an object the resolvers already built
(``Order.number``, ``Money.amount``, every field of 200 listed orders). graphql-core executes
each one like a field with a resolver: it builds a ``GraphQLResolveInfo``, calls strawberry's
wrapper, which calls ``getattr``, and walks ``complete_value``. Measured, that was most of the
CPU of a list query (tests/benchmarks/HISTORY.md).

A *plain* field here is one strawberry resolves with its default resolver (``_is_default``: no
resolver function, no arguments, no permission classes or field extensions) whose type is a
scalar or an enum, or an object type with no ``is_type_of`` check. Plain fields are read with
one ``getattr`` and, for leaves, the type's own ``coerce_output_value``; anything else, and any
plain field whose value is not simply fine (an exception, a null where the type says non-null, a
value the scalar refuses), takes graphql-core's own path, which then builds exactly the errors it
always would. Schema extensions that wrap resolvers (``resolve`` hooks) turn the short path off.

A selection of plain fields only, each a leaf or an object of such a selection (an order of a
page, its ``total { amount currency }``), is read whole by :func:`plain_reader`: no entry walk,
no path, nothing to await; the first value that is not simply fine hands the object back to the
walk above. A list of such objects is read item by item in the same way.

A field with a resolver (an order's items, its addresses, a root field whose arguments the
document spells out) skips what graphql-core's ``execute_field`` works out anew for every
object and request (:class:`Resolved`, kept with the plan: the field, its nodes, its arguments
coerced once unless they hold a variable), and an answer that is an object or a list of
objects of a plain selection is read whole once it is in (``complete_resolved``), in one
coroutine rather than two when it is awaited. Anything else it answers, and every error, goes
to graphql-core's ``complete_value`` and ``handle_field_error`` as before.

Also here: the objects a resolver returns go straight to their selection's entries
(:meth:`GatewayExecutor.collect_and_execute_subfields`), which the operation's :class:`Plan`
keeps for the document's later requests; resolvers whose arguments are scalars or enums and
whose only extensions are permission checks are called without strawberry's wrapper
(:func:`direct_resolvers`); awaitables whose work is all under way
are awaited in turn rather than gathered, a task each
(:meth:`GatewayExecutor.field_settles_alone`); and the resolvers' helpers hold the executor
weakly (:func:`weak_helpers`), so a request leaves no reference cycle (graph/heap.py).
"""

from __future__ import annotations

import enum
import keyword
import weakref
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial, reduce
from operator import attrgetter
from typing import TYPE_CHECKING, Any, TypeGuard, TypeVar

from graphql import (
    DirectiveNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLID,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLResolveInfoHelpers,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    Undefined,
    ValueNode,
    VariableNode,
    Visitor,
    get_argument_values,
    visit,
)
from graphql.execution.collect_fields import DeferUsage, FieldDetailsList, GroupedFieldSet
from graphql.pyutils import Path
from graphql.pyutils.gather_with_cancel import gather_with_cancel
from strawberry.permission import PermissionExtension
from strawberry.relay.types import GlobalID
from strawberry.schema.name_converter import NameConverter
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import StrawberryMaybe, StrawberryOptional
from strawberry.types.enum import StrawberryEnumDefinition
from strawberry.types.field import StrawberryField

from graph.memo import Lru, on_schema

if TYPE_CHECKING:
    from strawberry import Schema

_DEFINITION = GraphQLCoreConverter.DEFINITION_BACKREF
# What an object's or a list's completion fills in: its fields by name or its items by index.
Completed = TypeVar("Completed", dict[str, Any], list[Any])


@dataclass(frozen=True, slots=True)
class PlainField:
    """How to read one plain field: its attribute, and its leaf coercion or object type."""

    read: Callable[[Any], Any]
    attribute: str  # what ``read`` reads
    non_null: bool
    coerce: Callable[[Any], Any] | None  # a scalar's or enum's; None for an object type
    object_type: GraphQLObjectType | None


@dataclass(slots=True)
class Entry:
    """One response key of a selection set, as one request executes it."""

    response_name: str
    field_details_list: FieldDetailsList
    plain: PlainField | None
    # A plain object field's own selection, collected on first use; () when it defers. A memo
    # of ``subselection`` on the entry itself: going through it for every Money of 200 orders
    # measured 2,000 more Python calls a W5 request.
    selection: tuple[Entry, ...] | None = None
    # Whether what the field answers settles with no work left to start (``GatewayExecutor.
    # field_settles_alone``); worked out on first use.
    alone: bool | None = None
    # A field with no arguments or literal ones, as ``GatewayExecutor.execute_resolved`` runs
    # it; False for any other; worked out on first use.
    resolved: Resolved | bool | None = None


@dataclass(frozen=True, slots=True)
class Quick:
    """How an object, or a list of objects, of a plain selection completes without
    graphql-core's walk: a resolver's answer (an order's items, its shipping address), or each
    object of a list (the orders of a page)."""

    non_null: bool
    listed: bool
    is_type_of: Callable[[Any, Any], Any] | None
    read: PlainReader


@dataclass(frozen=True, slots=True)
class Resolved:
    """What graphql-core's ``execute_field`` works out anew for every object: the field, its
    nodes, its resolver, its arguments (when the document spells them out); and how its answer
    may complete quickly."""

    field: GraphQLField
    parent_type: GraphQLObjectType
    nodes: list[FieldNode]
    resolve: Callable[..., Any]
    arguments: Mapping[str, Any]
    quick: Quick | None


# The values an argument memoized across requests may take: none of them can be changed by the
# resolver it is handed to.
_IMMUTABLE = (str, int, float, Decimal, enum.Enum, type(None))


# Per object type of a schema, per field name: its PlainField, or None (graphql-core's path).
_PLAIN: weakref.WeakKeyDictionary[GraphQLObjectType, dict[str, PlainField | None]] = (
    weakref.WeakKeyDictionary()
)


def plain_field(parent_type: GraphQLObjectType, name: str) -> PlainField | None:
    fields = _PLAIN.get(parent_type)
    if fields is None:
        fields = _PLAIN[parent_type] = {}
    if name not in fields:
        fields[name] = _plain_field(parent_type.fields.get(name))
    return fields[name]


def reads_attribute(field: GraphQLField | None) -> TypeGuard[GraphQLField]:
    """Whether the field is answered by strawberry's default resolver (``_is_default``), with
    no arguments: its value is an attribute of its parent, read at once."""
    return field is not None and not field.args and getattr(field.resolve, "_is_default", False)


def _plain_field(field: GraphQLField | None) -> PlainField | None:
    if not reads_attribute(field):
        return None
    definition = (field.extensions or {}).get(_DEFINITION)
    name = getattr(definition, "python_name", None)
    if not isinstance(name, str):
        return None
    of_type, non_null = field.type, isinstance(field.type, GraphQLNonNull)
    if isinstance(of_type, GraphQLNonNull):
        of_type = of_type.of_type
    if isinstance(of_type, GraphQLEnumType):
        return PlainField(attrgetter(name), name, non_null, _enum_coercion(of_type), None)
    if isinstance(of_type, GraphQLScalarType):
        return PlainField(attrgetter(name), name, non_null, of_type.coerce_output_value, None)
    if isinstance(of_type, GraphQLObjectType) and of_type.is_type_of is None:
        return PlainField(attrgetter(name), name, non_null, None, of_type)
    return None


def _enum_coercion(enum_type: GraphQLEnumType) -> Callable[[Any], Any]:
    """The enum's own coercion with its answers for Python enum members looked up, not
    searched (strawberry's compares the member with each value in turn)."""
    names: dict[Any, str] = {}
    wrapped = getattr(enum_type, "wrapped_cls", None)
    if isinstance(wrapped, type) and issubclass(wrapped, enum.Enum):
        for member in wrapped:
            names[member] = enum_type.coerce_output_value(member)
    slow = enum_type.coerce_output_value

    def coerce(value: Any) -> Any:
        try:
            return names[value]
        except (KeyError, TypeError):
            return slow(value)

    return coerce


Subselections = dict[
    tuple[GraphQLObjectType, int], tuple[FieldDetailsList, tuple[Entry, ...] | None]
]
# A selection of plain fields only, each a leaf or an object of plain fields only: per response
# key, its attribute, whether it is non-null, and its leaf's coercion or its object's own such
# selection. What :func:`plain_reader` compiles.
PlainSelection = tuple[
    tuple[str, str, bool, Callable[[Any], Any] | None, "PlainSelection | None"],
    ...,
]
# A plain selection's answer for an object, or None when some value in it is not simply fine.
PlainReader = Callable[[Any], "dict[str, Any] | None"]
# Per selection's entries (by identity, with the entries kept alive): its plain selection and
# that selection's reader, or None for both when some field in it is not plain.
Pure = dict[int, tuple[tuple[Entry, ...], PlainSelection | None, PlainReader | None]]


class Plan:
    """What executing one operation works out from its document alone, kept across requests:
    the root's grouped fields, each selection's entries and each object field's selection.

    Only for an operation whose fields do not depend on its variables
    (:func:`collects_alike`): then every request collects the same fields from the same nodes
    (``cached_parse`` hands the same text the same document), and the first request's grouped
    fields serve them all. Measured: a tenth of the Python calls of a one-order request.
    """

    __slots__ = ("root", "entries", "subselections", "pure")

    def __init__(self) -> None:
        self.root: GroupedFieldSet | None = None
        self.entries: dict[int, tuple[GroupedFieldSet, tuple[Entry, ...]]] = {}
        self.subselections: Subselections = {}
        self.pure: Pure = {}


_PLANS = "_commerce_graph_plans"  # the schema's memo of plans (graph/memo.py)


def plan_for(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
) -> Plan | None:
    """The operation's plan (made on first use), or None when its fields depend on variables."""
    plans: Lru[int, tuple[OperationDefinitionNode, Plan | None]] = on_schema(schema, _PLANS)
    key = id(operation)
    found = plans.find(key)
    if found is None:
        made = Plan() if collects_alike(operation, fragments) else None
        found = plans.keep(key, (operation, made))
    return found[1]


class _Dynamic(Visitor):
    """Finds what makes collecting fields depend on the request: a directive with a variable
    in its arguments (``@skip(if: $x)``), ``@defer`` or ``@stream``, a fragment's arguments."""

    def __init__(self) -> None:
        super().__init__()
        self.found = False
        self.in_directive = 0

    def enter_directive(self, node: DirectiveNode, *_: Any) -> Any:
        if node.name.value in ("defer", "stream"):
            self.found = True
            return Visitor.BREAK
        self.in_directive += 1
        return None

    def leave_directive(self, *_: Any) -> None:
        self.in_directive -= 1

    def enter_variable(self, *_: Any) -> Any:
        if self.in_directive:
            self.found = True
            return Visitor.BREAK
        return None

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_: Any) -> Any:
        if getattr(node, "arguments", None):
            self.found = True
            return Visitor.BREAK
        return None


def collects_alike(
    operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> bool:
    """Whether every request of ``operation`` collects the same fields, whatever its variables
    (its document's fragments are looked at too: the operation may spread any of them)."""
    dynamic = _Dynamic()
    for node in (operation, *fragments.values()):
        visit(node, dynamic)
        if dynamic.found:
            return False
    return True


class GatewayExecutor(StrawberryGraphQLCoreExecutionContext):
    """``execute_fields`` with the short path for plain fields; the rest is graphql-core's."""

    _short_path: bool | None = None
    # Memos of entries and selections: the operation's plan's, or this request's own.
    _entries: dict[int, tuple[GroupedFieldSet, tuple[Entry, ...]]] | None = None
    _subselections: Subselections | None = None
    _pure: Pure | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.async_helpers = weak_helpers(self)

    def short_path(self) -> bool:
        if self._short_path is None:
            manager = self.middleware_manager
            self._short_path = manager is None or manager.get_field_resolver(_probe) is _probe
        return self._short_path

    def execute_collected_root_fields(
        self,
        root_type: GraphQLObjectType,
        root_value: Any,
        grouped_field_set: GroupedFieldSet,
        serially: bool,
        new_defer_usages: Sequence[DeferUsage],
    ) -> Any:
        """The root's fields, as the operation's plan has them: the first request's grouped
        fields, whose entries and selections every later request finds worked out."""
        if self.short_path() and not new_defer_usages:
            plan = plan_for(self.schema, self.operation, self.fragment_definitions)
            if plan is not None:
                if plan.root is None:
                    plan.root = grouped_field_set
                grouped_field_set = plan.root
                self._entries, self._subselections = plan.entries, plan.subselections
                self._pure = plan.pure
        return super().execute_collected_root_fields(
            root_type, root_value, grouped_field_set, serially, new_defer_usages
        )

    def entries(
        self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
    ) -> tuple[Entry, ...]:
        """The selection's entries, made once per request (graphql-core collects a selection
        set once per request too, so the same dict comes back for every object of a list)."""
        if self._entries is None:
            self._entries = {}
        # Keyed by identity, holding the dict so that its id cannot be reused meanwhile.
        cached = self._entries.get(id(grouped_field_set))
        if cached is not None:
            return cached[1]
        entries = tuple(
            Entry(
                response_name,
                details,
                plain_field(parent_type, details[0].node.name.value),
            )
            for response_name, details in grouped_field_set.items()
        )
        self._entries[id(grouped_field_set)] = (grouped_field_set, entries)
        return entries

    def subselection(
        self, object_type: GraphQLObjectType, details: FieldDetailsList
    ) -> tuple[Entry, ...] | None:
        """The entries of an object field's selection, or None when it defers (which only
        graphql-core's path handles); made once per request and field."""
        if self._subselections is None:
            self._subselections = {}
        key = (object_type, id(details))
        cached = self._subselections.get(key)
        if cached is None:
            grouped, defer_usages, _ = self.collect_subfields(object_type, details)
            entries = None if defer_usages else self.entries(object_type, grouped)
            cached = self._subselections[key] = (details, entries)
        return cached[1]

    def plain_reader(self, entries: tuple[Entry, ...]) -> PlainReader | None:
        """The selection's reader (:func:`plain_reader`), or None when some field in it, or
        below it, is not plain; worked out once per request (or plan) and selection."""
        return self._plain(entries)[2]

    def _plain(
        self, entries: tuple[Entry, ...]
    ) -> tuple[tuple[Entry, ...], PlainSelection | None, PlainReader | None]:
        if self._pure is None:
            self._pure = {}
        found = self._pure.get(id(entries))
        if found is None:
            selection = self._plain_selection(entries)
            reader = None if selection is None else compiled(self.schema, selection)
            found = self._pure[id(entries)] = (entries, selection, reader)
        return found

    def _plain_selection(self, entries: tuple[Entry, ...]) -> PlainSelection | None:
        fields = []
        for entry in entries:
            plain = entry.plain
            if plain is None:
                return None
            below = None
            if plain.object_type is not None:
                selection = self.object_selection(entry, plain.object_type)
                below = self._plain(selection)[1] if selection else None
                if below is None:
                    return None
            fields.append(
                (entry.response_name, plain.attribute, plain.non_null, plain.coerce, below)
            )
        return tuple(fields)

    def object_selection(self, entry: Entry, object_type: GraphQLObjectType) -> tuple[Entry, ...]:
        """A plain object field's own selection (``Entry.selection``): its entries, () when it
        defers; worked out on first use."""
        if entry.selection is None:
            entry.selection = self.subselection(object_type, entry.field_details_list) or ()
        return entry.selection

    def collect_and_execute_subfields(
        self,
        return_type: GraphQLObjectType,
        field_details_list: FieldDetailsList,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        """Every object a resolver returns (each order of a list, say) goes straight to its
        selection's entries, not through graphql-core's three calls per object."""
        if position_context is None and self.short_path():
            entries = self.subselection(return_type, field_details_list)
            if entries is not None:
                return self.execute_entries(return_type, result, path, entries, None)
        return super().collect_and_execute_subfields(
            return_type, field_details_list, path, result, position_context
        )

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> Any:
        if not self.short_path():
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        entries = self.entries(parent_type, grouped_field_set)
        return self.execute_entries(parent_type, source_value, path, entries, position_context)

    def execute_entries(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        entries: tuple[Entry, ...],
        position_context: Any,
    ) -> Any:
        if position_context is None:
            read = self.plain_reader(entries)
            if read is not None:
                found = read(source_value)
                if found is not None:
                    return found
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        alone = position_context is None  # whether every awaitable field settles alone
        try:
            for entry in entries:
                response_name, plain = entry.response_name, entry.plain
                if plain is not None:
                    try:
                        value = plain.read(source_value)
                    except Exception:  # noqa: BLE001 - graphql-core's path reports it
                        value = Undefined
                    if value is None:
                        if not plain.non_null:
                            results[response_name] = None
                            continue
                    elif value is not Undefined:
                        if plain.coerce is not None:
                            try:
                                coerced = plain.coerce(value)
                            except Exception:  # noqa: BLE001 - as above
                                coerced = None
                            if coerced is not None and coerced is not Undefined:
                                results[response_name] = coerced
                                continue
                        else:
                            result = self.complete_plain_object(
                                entry, Path(path, response_name, parent_type.name), value,
                                position_context,
                            )  # fmt: skip
                            results[response_name] = result
                            if is_awaitable(result):
                                awaitable_fields.append(response_name)
                                alone = alone and completes_alone(result)
                            continue
                # graphql-core's path, exactly as its own execute_fields takes it (for a
                # field with no arguments or literal ones, its execute_field memoized:
                # ``execute_resolved``).
                resolved = entry.resolved
                if resolved is None:
                    resolved = entry.resolved = self.resolved(parent_type, entry)
                if isinstance(resolved, Resolved) and position_context is None:
                    result = self.execute_resolved(
                        resolved,
                        source_value,
                        entry.field_details_list,
                        Path(path, response_name, parent_type.name),
                    )
                else:
                    result = self.execute_field(
                        parent_type,
                        source_value,
                        entry.field_details_list,
                        Path(path, response_name, parent_type.name),
                        position_context,
                    )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
                        alone = alone and self.field_settles_alone(parent_type, entry)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        if alone:
            return self._settle(results, awaitable_fields)
        return self._gather(results, awaitable_fields)

    def resolved(self, parent_type: GraphQLObjectType, entry: Entry) -> Resolved | bool:
        """The entry's field as ``execute_resolved`` runs it, or False: a field whose arguments
        hold a variable (graphql-core coerces them for each request) or a value a resolver
        could change (a list, an input object), one whose literals do not coerce (graphql-core
        reports it), an unknown field, or an execution that can be aborted."""
        details = entry.field_details_list
        first = details[0]
        field = parent_type.fields.get(first.node.name.value)
        if field is None or field.resolve is None or self.abort_signal is not None:
            return False
        arguments: dict[str, Any] = {}
        if field.args or first.node.arguments:
            if any(_holds_variable(argument.value) for argument in first.node.arguments or ()):
                return False
            try:
                arguments = get_argument_values(
                    field, first.node, self.variable_values, first.fragment_variable_values
                )
            except Exception:  # noqa: BLE001 - graphql-core's path reports it
                return False
            if not all(isinstance(value, _IMMUTABLE) for value in arguments.values()):
                return False
        return Resolved(
            field,
            parent_type,
            [d.node for d in details],
            field.resolve,
            arguments,
            self.quick(field.type, details),
        )

    def quick(self, field_type: GraphQLOutputType, details: FieldDetailsList) -> Quick | None:
        """How an answer of ``field_type`` completes quickly, if it can: an object or a list of
        objects of a plain selection, and no directive on the field (``@stream``)."""
        if any(d.node.directives for d in details):
            return None
        non_null = isinstance(field_type, GraphQLNonNull)
        of_type: Any = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
        listed = isinstance(of_type, GraphQLList)
        if listed:
            of_type = of_type.of_type
            if isinstance(of_type, GraphQLNonNull):
                of_type = of_type.of_type
        if not isinstance(of_type, GraphQLObjectType):
            return None
        entries = self.subselection(of_type, details)
        read = None if entries is None else self.plain_reader(entries)
        if read is None:
            return None
        return Quick(non_null, listed, of_type.is_type_of, read)

    def execute_resolved(
        self, resolved: Resolved, source: Any, details: FieldDetailsList, path: Path
    ) -> Any:
        """graphql-core's ``execute_field`` for a field with no arguments or literal ones, with
        what it works out memoized (``Resolved``) and its answer completed quickly where it can
        be (``complete_resolved``); errors are handled exactly as there."""
        info = self.build_resolve_info(resolved.field, resolved.nodes, resolved.parent_type, path)
        try:
            result = resolved.resolve(source, info, **resolved.arguments)
            if self.is_awaitable(result):
                return self.complete_resolved_later(resolved, details, info, path, result)
            completed = self.complete_resolved(resolved, details, info, path, result)
            if self.is_awaitable(completed):
                return self.awaited(completed, resolved.field.type, details, path)
        except Exception as raw_error:  # noqa: BLE001 - handled as execute_field does
            self.handle_field_error(raw_error, resolved.field.type, details, path)
            return None
        return completed

    def complete_resolved(
        self,
        resolved: Resolved,
        details: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
    ) -> Any:
        """A resolver's answer: read whole when it is an object (or a list of objects) of a
        plain selection, every value simply fine; anything else as ``complete_value``."""
        quick = resolved.quick
        if quick is not None:
            if result is None:
                if not quick.non_null:
                    return None
            elif not quick.listed:
                found = self.quick_object(quick, result, info)
                if found is not None:
                    return found
            elif type(result) is list:
                completed = []
                for item in result:
                    found = self.quick_object(quick, item, info)
                    if found is None:
                        break
                    completed.append(found)
                else:
                    return completed
        return self.complete_value(resolved.field.type, details, info, path, result, None)

    def quick_object(self, quick: Quick, value: Any, info: GraphQLResolveInfo[Any]) -> Any:
        """``value`` read whole (``Quick.read``), or None when it is not simply fine."""
        if value is None:
            return None
        if quick.is_type_of is not None:
            if quick.is_type_of(value, info) is not True:
                return None
        elif self.is_awaitable(value):
            return None
        return quick.read(value)

    async def complete_resolved_later(
        self,
        resolved: Resolved,
        details: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Awaitable[Any],
    ) -> Any:
        """graphql-core's ``complete_awaitable_value`` (with no abort signal) through
        ``complete_resolved``."""
        try:
            completed = self.complete_resolved(resolved, details, info, path, await result)
            if self.is_awaitable(completed):
                completed = await completed
        except Exception as raw_error:  # noqa: BLE001 - handled as graphql-core does
            self.handle_field_error(raw_error, resolved.field.type, details, path)
            completed = None
        return completed

    def field_settles_alone(self, parent_type: GraphQLObjectType, entry: Entry) -> bool:
        """Whether the field's resolver starts its work at once (``direct_resolvers``: a plain
        function, which returns ``then(...)`` when it reads through a loader) and completing
        its answer starts none (every field selected below it reads an attribute: a plain
        field, or a list of plain values such as a repayment schedule's periods).

        Awaitables that all settle alone are awaited one after the other (``_settle``): each
        one's upstream read is already on its way, so none holds another back, and no task is
        made for any. Anything else is gathered concurrently, as graphql-core does: a field
        below, resolved once its parent's answer is in, must be asked for in the same turn as
        its cousins' to share their batch.
        """
        if entry.alone is None:
            field = parent_type.fields.get(entry.field_details_list[0].node.name.value)
            entry.alone = (
                field is not None
                and field.resolve in _STARTS_AT_ONCE
                and self.plain_below(field.type, entry.field_details_list)
            )
        return entry.alone

    def plain_below(self, field_type: Any, details: FieldDetailsList) -> bool:
        """Whether completing a value of ``field_type`` only reads attributes: every field
        selected below it is plain, or a list of what is (a schedule's periods)."""
        while isinstance(field_type, GraphQLNonNull | GraphQLList):
            field_type = field_type.of_type
        if isinstance(field_type, GraphQLScalarType | GraphQLEnumType):
            return True
        if not isinstance(field_type, GraphQLObjectType):
            return False
        entries = self.subselection(field_type, details)
        if entries is None:
            return False
        for entry in entries:
            plain = entry.plain
            below: GraphQLOutputType | None
            if plain is not None:
                below = plain.object_type
            else:  # a field read as an attribute all the same: a list of plain values
                field = field_type.fields.get(entry.field_details_list[0].node.name.value)
                if not reads_attribute(field):
                    return False
                below = field.type
            if below is not None and not self.plain_below(below, entry.field_details_list):
                return False
        return True

    def complete_plain_object(
        self, entry: Entry, path: Path, value: Any, position_context: Any
    ) -> Any:
        """``complete_value`` for an object needing no type check, errors handled alike."""
        plain = entry.plain
        assert plain is not None
        assert plain.object_type is not None
        object_type, details = plain.object_type, entry.field_details_list
        field_type = GraphQLNonNull(object_type) if plain.non_null else object_type
        try:
            selection = self.object_selection(entry, object_type)
            if selection:
                completed = self.execute_entries(
                    object_type, value, path, selection, position_context
                )
            else:
                completed = self.collect_and_execute_subfields(
                    object_type, details, path, value, position_context
                )
        except Exception as raw_error:  # noqa: BLE001 - handled as execute_field does
            self.handle_field_error(raw_error, field_type, details, path)
            return None
        if not self.is_awaitable(completed):
            return completed
        return self.awaiting(completed, field_type, details, path)

    def awaiting(
        self, completed: Awaitable[Any], field_type: Any, details: FieldDetailsList, path: Path
    ) -> Awaitable[Any]:
        """A completion still under way, to await with its error handled (``awaited``); still
        known to settle alone when it does (``awaited_alone``)."""
        wrap = self.awaited_alone if completes_alone(completed) else self.awaited
        return wrap(completed, field_type, details, path)

    async def awaited(
        self, completed: Awaitable[Any], field_type: Any, details: FieldDetailsList, path: Path
    ) -> Any:
        """A completion still under way, its error handled as graphql-core handles one."""
        try:
            return await completed
        except Exception as raw_error:  # noqa: BLE001 - handled as execute_field does
            self.handle_field_error(raw_error, field_type, details, path)
            return None

    async def awaited_alone(
        self, completed: Awaitable[Any], field_type: Any, details: FieldDetailsList, path: Path
    ) -> Any:
        """``awaited``, of a completion that settles alone (its code marks it so)."""
        return await self.awaited(completed, field_type, details, path)

    def complete_list_item_value(  # noqa: PLR0917 - graphql-core's signature
        self,
        item: Any,
        complete_results: list[Any],
        item_type: Any,
        field_details_list: FieldDetailsList,
        info: Any,
        item_path: Path,
        position_context: Any,
    ) -> bool:
        """An object of a list (each order of a page, each item of an order) goes straight to
        its selection once its type's check passes (graphql-core's ``complete_object_value``
        without the walk down ``complete_value``); a null, a failed check or anything but an
        object takes graphql-core's path."""
        object_type = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
        if (
            item is not None
            and isinstance(object_type, GraphQLObjectType)
            and (object_type.is_type_of is None or object_type.is_type_of(item, info) is True)
        ):
            try:
                completed = self.collect_and_execute_subfields(
                    object_type, field_details_list, item_path, item, position_context
                )
            except Exception as raw_error:  # noqa: BLE001 - handled as graphql-core does
                self.handle_field_error(raw_error, item_type, field_details_list, item_path)
                complete_results.append(None)
                return False
            if self.is_awaitable(completed):
                complete_results.append(
                    self.awaiting(completed, item_type, field_details_list, item_path)
                )
                return True
            complete_results.append(completed)
            return False
        return super().complete_list_item_value(
            item, complete_results, item_type, field_details_list, info, item_path, position_context
        )

    def complete_list_value(  # noqa: PLR0917 - graphql-core's signature
        self,
        return_type: GraphQLList[Any],
        field_details_list: FieldDetailsList,
        info: Any,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's for a list, but a list whose items all settle alone (each order of a
        page, say, with its items, addresses and plans on their way) is awaited item after
        item, with no task for any; graphql-core gathers them, one task each."""
        if (
            position_context is not None
            or not self.short_path()
            or not isinstance(result, list | tuple)
            or self.get_stream_usage(field_details_list, path) is not None
        ):
            return super().complete_list_value(
                return_type, field_details_list, info, path, result, position_context
            )
        item_type = return_type.of_type
        completed: list[Any] = []
        awaitable: list[int] = []
        alone = True
        is_awaitable, complete_item = self.is_awaitable, self.complete_list_item_value
        quick = self.quick(item_type, field_details_list)
        if quick is not None and quick.listed:  # a list of lists: each item is a list
            quick = None
        try:
            for index, item in enumerate(result):
                if quick is not None:
                    found = self.quick_object(quick, item, info)
                    if found is not None:
                        completed.append(found)
                        continue
                item_path = path.add_key(index, None)
                if is_awaitable(item):
                    completed.append(
                        self.complete_awaitable_list_item_value(
                            item, item_type, field_details_list, info, item_path, position_context
                        )
                    )
                    awaitable.append(index)
                    alone = False
                elif complete_item(
                    item,
                    completed,
                    item_type,
                    field_details_list,
                    info,
                    item_path,
                    position_context,
                ):
                    awaitable.append(index)
                    alone = alone and completes_alone(completed[-1])
        except Exception:
            if awaitable:
                self.settle_in_background([completed[i] for i in awaitable])
            raise
        if not awaitable:
            return completed
        if alone:
            return self._settle(completed, awaitable)
        return self._gather(completed, awaitable)

    async def _settle(self, completed: Completed, keys: list[Any]) -> Completed:
        """An object's fields or a list's items (``keys`` those awaited), one after the other:
        they all settle alone."""
        for n, key in enumerate(keys):
            try:
                completed[key] = await completed[key]
            except BaseException:
                self.settle_in_background([completed[k] for k in keys[n + 1 :]])
                raise
        return completed

    async def _gather(self, completed: Completed, keys: list[Any]) -> Completed:
        """An object's fields or a list's items (``keys`` those awaited), concurrently."""
        if len(keys) == 1:
            completed[keys[0]] = await completed[keys[0]]
            return completed
        awaited = await gather_with_cancel(*(completed[key] for key in keys))
        for key, value in zip(keys, awaited, strict=True):
            completed[key] = value
        return completed


def _holds_variable(value: ValueNode) -> bool:
    """Whether an argument's value is, or holds, a variable (``$n``, ``[$a]``, ``{a: $a}``)."""
    if isinstance(value, VariableNode):
        return True
    if isinstance(value, ListValueNode):
        return any(_holds_variable(item) for item in value.values)
    if isinstance(value, ObjectValueNode):
        return any(_holds_variable(item.value) for item in value.fields)
    return False


_READERS = "_commerce_graph_plain_readers"  # the schema's memo of readers (graph/memo.py)
# Scalars whose coercion answers a value of exactly this type as it is: the reader skips the
# call for such a value (a ``str`` for String and ID, a ``bool`` for Boolean).
_AS_IS: dict[Callable[[Any], Any], type] = {
    GraphQLString.coerce_output_value: str,
    GraphQLID.coerce_output_value: str,
    GraphQLBoolean.coerce_output_value: bool,
}


def compiled(schema: GraphQLSchema, selection: PlainSelection) -> PlainReader:
    """:func:`plain_reader` of ``selection``, made once per schema and selection (the readers
    of its objects' selections too, which the executor has usually compiled already)."""
    readers: Lru[PlainSelection, PlainReader] = on_schema(schema, _READERS)
    found = readers.find(selection)
    if found is None:
        found = readers.keep(selection, plain_reader(selection, partial(compiled, schema)))
    return found


def _is_name(attribute: str) -> bool:
    return attribute.isidentifier() and not keyword.iskeyword(attribute)


def plain_reader(
    selection: PlainSelection, below_reader: Callable[[PlainSelection], PlainReader] | None = None
) -> PlainReader:
    """A function that answers ``selection`` for an object, or None when some value in it is not
    simply fine (a read that raises, a null where the type says non-null, a value its scalar
    refuses): graphql-core's path then reads it again, and reports exactly what it always would.

    ``execute_entries`` for a selection with nothing to await, no resolver to call and, while
    every value is fine, no path to build: each order of a page of ``id number status total {
    amount currency }``, say. It is compiled, as graphql-jit compiles a query: one function per
    selection, each field's attribute read and coerced in line, the answer built as one dict
    display (measured: read in a loop over the selection, the reads were a sixth of W5's CPU).
    An object field's own selection is read by ``below_reader``'s reader for it (by default,
    one compiled here).
    """
    namespace: dict[str, Any] = {"Undefined": Undefined}
    lines = ["def read(source):", " try:"]
    keys = []
    for n, (name, attribute, non_null, coerce, below) in enumerate(selection):
        value = f"v{n}"
        read = f"source.{attribute}" if _is_name(attribute) else f"getattr(source, {attribute!r})"
        lines.append(f"  {value} = {read}")
        lines.append(f"  if {value} is None:")
        lines.append("   return None" if non_null else "   pass")
        if below is not None:
            namespace[f"read{n}"] = (below_reader or plain_reader)(below)
            lines.append(f"  else:\n   {value} = read{n}({value})")
            lines.append(f"   if {value} is None:\n    return None")
        else:
            namespace[f"coerce{n}"] = coerce
            as_is = _AS_IS.get(coerce) if coerce is not None else None
            if as_is is None:
                lines.append("  else:")
            else:
                namespace[f"as_is{n}"] = as_is
                lines.append(f"  elif type({value}) is not as_is{n}:")
            lines.append(f"   {value} = coerce{n}({value})")
            lines.append(f"   if {value} is None or {value} is Undefined:\n    return None")
        keys.append(f"{name!r}: {value}")
    lines.append(f"  return {{{', '.join(keys)}}}")
    lines.append(" except Exception:  # graphql-core's path reports it\n  return None")
    exec("\n".join(lines), namespace)  # noqa: S102 - the text is made from names only
    reader: PlainReader = namespace["read"]
    return reader


# The coroutines whose awaiting starts no work: the executor's own, for completions that settle
# alone. Told apart by their code, which costs nothing to look at.
_ALONE = frozenset(id(f.__code__) for f in (GatewayExecutor._settle, GatewayExecutor.awaited_alone))


def completes_alone(awaitable: Any) -> bool:
    """Whether ``awaitable`` is one of the executor's completions that settle alone."""
    code = getattr(awaitable, "cr_code", None)
    return code is not None and id(code) in _ALONE


# Resolvers of plain functions (``direct_resolvers``): the work they return is under way.
_STARTS_AT_ONCE: weakref.WeakSet[Callable[..., Any]] = weakref.WeakSet()


def weak_helpers(executor: GatewayExecutor) -> GraphQLResolveInfoHelpers:
    """The resolvers' helpers (``info.async_helpers``) without a strong reference back.

    graphql-core's hold bound methods of the executor, which holds them: a cycle through the
    request's context, its loaders and every model the request built, that only the cyclic
    garbage collector frees (measured: some 1,600 objects per W3 request, and most of the CPU a
    gen-2 collection takes). Weak, everything is freed by reference counting once the request is
    answered. Resolvers only run while the execution holds the executor, so the weak reference
    is always alive when called.
    """
    ref = weakref.ref(executor)

    def alive() -> GatewayExecutor:
        found = ref()
        if found is None:  # pragma: no cover - see above
            raise RuntimeError("the execution has finished")
        return found

    return GraphQLResolveInfoHelpers(
        gather=lambda values: alive().gather_async_work(values),
        track=lambda values: alive().track_async_work(values),
    )


def direct_resolvers(schema: Schema) -> int:
    """Call the resolvers of fields whose arguments need no converting directly; returns how
    many.

    strawberry wraps every resolver in a function that builds its ``Info``, converts the
    arguments, chains the field's extensions (permission classes are one) through partials made
    anew for each call and, for an ``async`` resolver, awaits it in a coroutine of its own. For
    a field whose arguments are scalars or enums (which strawberry hands on as graphql-core
    parsed them, under their Python names), whose only extensions are synchronous permission
    checks and which has no exception handlers, all of that reduces to renaming the arguments,
    running the checks (strawberry's own, chained once) and calling the resolver with the
    source and an ``Info``: what the direct resolver does. graphql-core then awaits what it
    returns as before. Schema extensions that wrap resolvers (``resolve`` hooks) wrap the
    direct ones as they wrapped strawberry's.

    It also notes every field whose resolver is a plain function, direct or not: what such a
    resolver returns to await has its work under way already (``GatewayExecutor.
    field_settles_alone``).
    """
    if schema.schema_converter._exception_handler_specs:
        return 0
    info_class, names = schema.config.info_class, schema.config.name_converter
    scalars = schema.schema_converter.scalar_registry
    count = 0
    for named in schema._schema.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named.name.startswith("__"):
            continue
        for field in named.fields.values():
            definition = (field.extensions or {}).get(_DEFINITION)
            direct = _direct_resolver(definition, info_class, names, scalars)
            if direct is not None:
                field.resolve = direct
                count += 1
            resolver = getattr(definition, "base_resolver", None)
            if resolver is not None and not resolver.is_async and field.resolve is not None:
                # A plain function, called directly or through strawberry's (synchronous)
                # wrapper: whatever awaitable it returns has its work under way already
                # (``resolvers.loaders.then``), so the executor may await it without a task.
                _STARTS_AT_ONCE.add(field.resolve)
    return count


def _direct_resolver(
    definition: Any, info_class: type[Any], names: NameConverter, scalars: Mapping[object, Any]
) -> Callable[..., Any] | None:
    if not isinstance(definition, StrawberryField):
        return None
    resolver = definition.base_resolver
    # strawberry's own permission checks, not a subclass that may change the arguments
    checks = [e for e in definition.extensions if type(e) is PermissionExtension]
    if (
        resolver is None
        or len(checks) != len(definition.extensions)
        or not all(check.supports_sync for check in checks)
        or not all(_as_parsed(argument.type, scalars) for argument in definition.arguments)
        or definition.is_subscription
        or resolver.parent_parameter is not None
        or resolver.root_parameter is not None
        or not callable(resolver.wrapped_func)
    ):
        return None
    function: Callable[..., Any] = resolver.wrapped_func
    takes_self = resolver.self_parameter is not None
    info_parameter = resolver.info_parameter
    info_name = None if info_parameter is None else info_parameter.name
    python_names = {names.from_argument(a): a.python_name for a in definition.arguments}

    def call(source: Any, info: Any, **arguments: Any) -> Any:
        args = (source,) if takes_self else ()
        if info_name is not None:
            arguments[info_name] = info
        return function(*args, **arguments)

    # strawberry's chain, made once: each check runs, then hands on to the next or the call
    chained = reduce(lambda next_, check: partial(check.resolve, next_), checks, call)
    # Most fields (an order's items, its addresses) neither check nor read their Info.
    needs_info = bool(checks) or info_name is not None

    def resolve(source: Any, info: Any, **arguments: Any) -> Any:
        kwargs = {python_names[name]: value for name, value in arguments.items()}
        if needs_info:
            info = info_class(_raw_info=info, _field=definition)
        return chained(source, info, **kwargs)

    return resolve


def _as_parsed(type_: Any, scalars: Mapping[object, Any]) -> bool:
    """Whether strawberry hands an argument of ``type_`` to the resolver as graphql-core parsed
    it: a scalar (not a relay ``GlobalID``, which it decodes) or an enum, optional or not.
    Lists are copied, input types built, ``Maybe`` wrapped: those stay strawberry's."""
    if isinstance(type_, StrawberryOptional) and not isinstance(type_, StrawberryMaybe):
        type_ = type_.of_type
    if isinstance(type_, StrawberryEnumDefinition):
        return True
    return type_ is not GlobalID and isinstance(type_, Hashable) and type_ in scalars


def _probe(*_args: Any, **_kwargs: Any) -> None:
    """A resolver that only a wrapping middleware would replace."""
