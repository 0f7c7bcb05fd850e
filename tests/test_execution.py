"""GatewayExecutor's short path answers exactly as graphql-core's own executor does.

The same documents run against one schema twice, once with graphql-core's path for every field
and once with the gateway's; data and errors (messages, paths, locations) must be identical. The
schema holds every case the short path has to hand back: nulls in non-null fields, a property
that raises, a scalar that refuses its value, an enum value outside the enum, aliases, fragments,
directives, lists, and fields with resolvers or arguments.
"""

from __future__ import annotations

import asyncio
import enum
import gc
import subprocess
import sys
from collections import Counter
from typing import Any

import pytest
import strawberry
from graphql import FragmentDefinitionNode, OperationDefinitionNode
from graphql.execution import executor as graphql_executor
from strawberry.extensions import SchemaExtension
from strawberry.permission import BasePermission
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from graph import execution
from graph.execution import GatewayExecutor, collects_alike, direct_resolvers, plan_for
from graph.memo import on_schema
from graph.pipeline import cached_parse, cached_validate
from resolvers.loaders import Later, then
from tests.harness import Gateway


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Leaf:
    name: str
    colour: Colour
    maybe: str | None = None


@strawberry.type
class Bunch:
    leaves: list[Leaf]


@strawberry.type
class Node:
    id: strawberry.ID
    count: int
    ratio: float
    label: str | None
    required: str  # set to None by some nodes: a null in a non-null field
    colour: Colour  # set to a stray value by some nodes
    leaf: Leaf
    optional_leaf: Leaf | None
    leaves: list[Leaf]
    flag: bool = True

    @strawberry.field
    def doubled(self, by: int = 2) -> int:
        return self.count * by

    @strawberry.field
    async def later(self) -> Leaf:
        return self.leaf

    @strawberry.field
    def where(self, info: strawberry.Info) -> str:
        """A direct resolver that reads its Info."""
        return f"{info.field_name} at {info.path.as_list()} of {info.python_name}"

    @strawberry.field
    async def failing(self, info: strawberry.Info) -> str | None:
        raise ValueError(f"failed at {info.path.as_list()}")

    @strawberry.field
    def refused(self) -> int:
        return "not a number"  # type: ignore[return-value]

    @strawberry.field(graphql_type=Leaf)
    def soon(self) -> Later[Leaf]:
        """A plain function returning work under way, as a loader read does: it settles
        alone when only plain fields are selected below it."""
        return then(answered(self.leaf), lambda leaf: leaf)

    @strawberry.field(graphql_type=Bunch)
    def bunch(self) -> Later[Bunch]:
        """Work under way whose answer holds a list of plain objects: it settles alone too."""
        return then(answered(Bunch(leaves=self.leaves)), lambda bunch: bunch)

    broken: str = ""


def answered(value: Any) -> asyncio.Future[Any]:
    future = asyncio.get_running_loop().create_future()
    future.set_result(value)
    return future


class Unreadable(Node):
    """A Node whose ``broken`` attribute raises when the default resolver reads it."""

    def __getattribute__(self, name: str) -> Any:
        if name == "broken":
            raise ValueError("cannot read this")
        return super().__getattribute__(name)


class Shout(str):
    __slots__ = ()


def node(n: int, **overrides: Any) -> Node:
    leaf = Leaf(name=f"leaf-{n}", colour=Colour.BLUE)
    values: dict[str, Any] = {
        "id": strawberry.ID(f"N{n}"),
        "count": n,
        "ratio": n / 4,
        "label": None if n % 2 else f"label-{n}",
        "required": f"r{n}",
        "colour": Colour.RED,
        "leaf": leaf,
        "optional_leaf": None if n % 3 else leaf,
        "leaves": [Leaf(name=f"{n}.{i}", colour=Colour.RED, maybe="m") for i in range(3)],
    }
    values.update(overrides)
    return Unreadable(**values)


NODES = [
    node(0),
    node(1),
    node(2, required=None),  # non-null violated: the error nulls the node
    node(3, count="not a number"),  # Int refuses it
    node(4, colour="purple"),  # not a Colour
    node(5, leaf=Leaf(name=None, colour=Colour.RED)),  # type: ignore[arg-type]
    # Values a scalar coerces (the compiled reader passes exact str and bool as they are):
    # an int for an ID and a Boolean, a str subclass for a String, a float for a String.
    node(6, id=7, flag=0, label=Shout("loud"), required=2.5),
]


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Pet(Named):
    """Implements an interface, so strawberry checks each value's type (``is_type_of``)."""

    legs: int


class Stray:
    """Looks like a Pet, is not one: Pet's type check refuses it."""

    name = "stray"
    legs = 3


def pets() -> list[Any]:
    return [
        Pet(name="a", legs=4),
        None,  # a null in a list of non-null pets
        Stray(),
        Pet(name=None, legs=2),  # type: ignore[arg-type]  # a null in a non-null field
        Pet(name="b", legs="x"),  # type: ignore[arg-type]  # Int refuses it
        Pet(name="c", legs=2),
    ]


class NotBlue(BasePermission):
    """Refuses blue paint: a check that reads the field's arguments by their Python names."""

    message = "no blue here"
    error_extensions = {"code": "FORBIDDEN"}  # noqa: RUF012 - strawberry's own attribute

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return kwargs["in_colour"] is not Colour.BLUE


@strawberry.type
class Query:
    @strawberry.field
    def nodes(self) -> list[Node | None]:
        return list(NODES)

    @strawberry.field(permission_classes=[NotBlue])
    def painted(
        self, info: strawberry.Info, in_colour: Colour, times: int = 1, note: str | None = None
    ) -> str | None:
        """Arguments strawberry hands on as parsed (an enum, a default, an optional) and a
        permission check: a direct resolver."""
        return f"{in_colour.name} x{times} {note} at {info.path.as_list()}"

    @strawberry.field
    def tally(self, counts: list[int]) -> int:
        """A list argument, which strawberry copies: the field stays strawberry's."""
        return sum(counts)

    @strawberry.field
    def pets(self) -> list[Pet] | None:
        return pets()

    @strawberry.field
    def maybe_pets(self) -> list[Pet | None]:
        return pets()

    @strawberry.field
    def good_pets(self) -> list[Pet]:
        return [p for p in pets() if isinstance(p, Pet) and p.name and p.legs == 2]

    @strawberry.field
    def first(self) -> Node:
        return NODES[0]

    @strawberry.field
    def some_leaves(self) -> list[Leaf | None]:
        """Objects of plain fields with no type check, a null and a null name among them."""
        return [Leaf(name="a", colour=Colour.RED), None, Leaf(name=None, colour=Colour.BLUE)]  # type: ignore[arg-type]


class Wrapping(SchemaExtension):
    """A resolver-wrapping extension: with one, every field takes graphql-core's path."""

    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        return _next(root, info, *args, **kwargs)


REFERENCE = strawberry.Schema(
    query=Query, execution_context_class=StrawberryGraphQLCoreExecutionContext
)
GATEWAY = strawberry.Schema(query=Query, execution_context_class=GatewayExecutor)
WRAPPED = strawberry.Schema(
    query=Query, execution_context_class=GatewayExecutor, extensions=[Wrapping]
)
DIRECT = {name: direct_resolvers(schema) for name, schema in [("gw", GATEWAY), ("wr", WRAPPED)]}

DOCUMENTS = {
    "plain fields": "{ nodes { id count ratio label colour leaf { name colour maybe } } }",
    "coerced values": "{ nodes { id flag label required } first { flag } }",
    "non-null null": "{ nodes { id required } }",
    "raising property": "{ nodes { id broken } }",
    "refused scalar": "{ nodes { id count } }",
    "stray enum": "{ nodes { colour } first { colour } }",
    "null deep in a non-null object": "{ nodes { id leaf { name } } }",
    "aliases and typename": "{ a: first { x: id, y: id, __typename, l: leaf { __typename n: name } } }",  # noqa: E501
    "fragments merged": """
        { first { ...A leaf { colour } ... on Node { count leaf { name } } } }
        fragment A on Node { id leaf { maybe } }
    """,
    "directives": """
        query($yes: Boolean!) {
          first { id @include(if: $yes) count @skip(if: $yes) leaf @include(if: $yes) { name } }
        }
    """,
    "lists and optionals": "{ nodes { optionalLeaf { name } leaves { name maybe colour } } }",
    "resolvers and arguments": "{ nodes { doubled triple: doubled(by: 3) later { name } } }",
    "mixed": "{ first { id later { name colour } leaf { name } doubled } nodes { label } }",
    "direct resolvers": "{ nodes { w: where failing later { name } } again: nodes { refused } }",
    "arguments and checks": """
        { red: painted(inColour: RED) twice: painted(inColour: RED, times: 2, note: "n")
          blue: painted(inColour: BLUE) tally(counts: [1, 2]) }
    """,
    "plain objects and nulls": "{ someLeaves { name colour } first { leaves { maybe } } }",
    "listed objects": "{ pets { name legs } maybePets { name legs __typename } goodPets { name } }",
    "settling alone": "{ nodes { id soon { name colour } s: soon { maybe } } first { soon { name } } }",  # noqa: E501
    "settling alone and not": "{ nodes { soon { name } later { name } } }",
    "alone, typename below": "{ nodes { soon { name } } first { soon { __typename } } }",
    "alone, a list below": "{ nodes { bunch { leaves { name maybe } } soon { colour } } }",
}


def outcome(schema: strawberry.Schema, document: str) -> dict[str, Any]:
    result = schema.execute_sync(document, variable_values={"yes": True})
    return {"data": result.data, "errors": [e.formatted for e in result.errors or []]}


async def outcome_async(schema: strawberry.Schema, document: str) -> dict[str, Any]:
    result = await schema.execute(document, variable_values={"yes": True})
    return {"data": result.data, "errors": [e.formatted for e in result.errors or []]}


@pytest.mark.parametrize("name", DOCUMENTS)
async def test_short_path_answers_as_graphql_core(name: str) -> None:
    document = DOCUMENTS[name]
    expected = await outcome_async(REFERENCE, document)
    assert await outcome_async(GATEWAY, document) == expected
    assert await outcome_async(WRAPPED, document) == expected


async def test_the_cases_are_real() -> None:
    """The reference answers hold the errors the documents are meant to provoke."""
    found = {name: await outcome_async(REFERENCE, d) for name, d in DOCUMENTS.items()}
    assert found["non-null null"]["data"]["nodes"][2] is None
    assert found["non-null null"]["errors"][0]["path"] == ["nodes", 2, "required"]
    assert found["raising property"]["errors"][0]["message"] == "cannot read this"
    assert [e["path"] for e in found["refused scalar"]["errors"]] == [["nodes", 3, "count"]]
    assert found["stray enum"]["errors"][0]["path"] == ["nodes", 4, "colour"]
    assert found["null deep in a non-null object"]["errors"][0]["path"] == [
        "nodes", 5, "leaf", "name",
    ]  # fmt: skip
    assert found["plain fields"]["data"]["nodes"][0]["colour"] == "RED"
    assert found["resolvers and arguments"]["data"]["nodes"][1]["triple"] == 3
    direct = found["direct resolvers"]
    assert direct["data"]["nodes"][0]["w"] == "where at ['nodes', 0, 'w'] of where"
    assert "failed at ['nodes', 0, 'failing']" in [e["message"] for e in direct["errors"]]
    assert direct["data"]["again"][0] is None  # refused is non-null: its error nulls the node
    checked = found["arguments and checks"]
    assert checked["data"] == {
        "red": "RED x1 None at ['red']",
        "twice": "RED x2 n at ['twice']",
        "blue": None,
        "tally": 3,
    }
    assert [(e["path"], e["message"], e["extensions"]) for e in checked["errors"]] == [
        (["blue"], "no blue here", {"code": "FORBIDDEN"})
    ]
    listed = found["listed objects"]
    assert listed["data"]["pets"] is None  # a null among non-null pets nulls the list
    assert listed["data"]["maybePets"] == [
        {"name": "a", "legs": 4, "__typename": "Pet"}, None, None, None, None,
        {"name": "c", "legs": 2, "__typename": "Pet"},
    ]  # fmt: skip
    assert listed["data"]["goodPets"] == [{"name": "c"}]
    nulls = found["plain objects and nulls"]
    assert nulls["data"]["someLeaves"] == [{"name": "a", "colour": "RED"}, None, None]
    assert [e["path"] for e in nulls["errors"]] == [["someLeaves", 2, "name"]]
    messages = " ".join(e["message"] for e in listed["errors"])
    assert "Expected value of type 'Pet' but got" in messages  # the Stray, refused
    alone = found["settling alone"]
    assert alone["data"]["nodes"][0]["soon"] == {"name": "leaf-0", "colour": "BLUE"}
    assert alone["data"]["nodes"][5] is None  # soon.name is null: the error nulls the node
    assert alone["errors"][0]["path"] == ["nodes", 5, "soon", "name"]
    # Query.nodes, first, someLeaves, pets, maybePets, goodPets and painted (arguments as
    # parsed and a check), Node.doubled (an argument), later, where, failing, refused, soon
    # and bunch: tally's list argument keeps strawberry's wrapper, and every other field is
    # plain.
    assert DIRECT == {"gw": 14, "wr": 14}


async def tasks_made(document: str) -> list[str]:
    """The tasks the gateway's executor makes to execute ``document``."""
    made: list[str] = []

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        made.append(coro.__qualname__)
        return asyncio.Task(coro, loop=loop, **kwargs)

    loop = asyncio.get_running_loop()
    loop.set_task_factory(factory)
    try:
        await GATEWAY.execute(document)
    finally:
        loop.set_task_factory(None)
    return made


async def test_fields_that_settle_alone_are_awaited_without_tasks() -> None:
    """Each node's ``soon`` (work under way, plain fields below) is awaited in turn, and so is
    each node; ``later`` (an ``async def``, started only when run) is gathered, a task each."""
    assert await tasks_made("{ nodes { id soon { name } } }") == []
    # A list of plain objects below (a schedule's periods) starts no work either.
    assert await tasks_made("{ nodes { bunch { leaves { name } } soon { name } } }") == []
    nodes = len(NODES)
    assert len(await tasks_made("{ nodes { id later { name } } }")) == nodes
    # One node's awaitable that does not settle alone, and the list is gathered too.
    assert len(await tasks_made("{ nodes { soon { name } later { name } } }")) == 3 * nodes


class Counting(GatewayExecutor):
    """Counts the fields that take graphql-core's path (``execute_field``, or for a field
    without arguments its memoized form, ``execute_resolved``)."""

    slow: list[str] = []

    def execute_field(self, parent_type: Any, source: Any, details: Any, *rest: Any) -> Any:
        Counting.slow.append(f"{parent_type.name}.{details[0].node.name.value}")
        return super().execute_field(parent_type, source, details, *rest)

    def execute_resolved(self, resolved: Any, source: Any, details: Any, path: Any) -> Any:
        Counting.slow.append(f"{resolved.parent_type.name}.{details[0].node.name.value}")
        return super().execute_resolved(resolved, source, details, path)


async def test_plain_fields_take_the_short_path() -> None:
    schema = strawberry.Schema(query=Query, execution_context_class=Counting)
    Counting.slow.clear()
    await schema.execute("{ nodes { id count leaf { name } leaves { name } doubled } }")
    # Only the root's resolver, each node's ``doubled`` (a resolver) and ``leaves`` (a list) and
    # the fallbacks for the nodes whose plain values are not fine: node 3's count, node 5's leaf.
    assert sorted(set(Counting.slow)) == [
        "Leaf.name", "Node.count", "Node.doubled", "Node.leaves", "Query.nodes",
    ]  # fmt: skip
    # Nodes 3 and 5 are nulled by those errors before their ``doubled`` is reached, as with
    # graphql-core's own executor (test_short_path_answers_as_graphql_core).
    assert Counting.slow.count("Node.doubled") == len(NODES) - 2
    assert Counting.slow.count("Node.count") == 1
    assert Counting.slow.count("Leaf.name") == 1


class Entering(GatewayExecutor):
    """Notes the object types whose selections are walked entry by entry."""

    walked: list[str] = []

    def execute_entries(self, parent_type: Any, *rest: Any) -> Any:
        Entering.walked.append(parent_type.name)
        return super().execute_entries(parent_type, *rest)


async def test_objects_of_plain_fields_are_read_without_the_walk() -> None:
    schema = strawberry.Schema(query=Query, execution_context_class=Entering)
    Entering.walked.clear()
    result = await schema.execute("{ nodes { id ratio leaf { name colour } } }")
    assert result.data is not None
    assert result.data["nodes"][0] == {
        "id": "N0", "ratio": 0.0, "leaf": {"name": "leaf-0", "colour": "BLUE"},
    }  # fmt: skip
    # The root's fields are walked; each node is read whole, with its leaf (``read_plain``),
    # but node 5, whose leaf's non-null name is null: it takes the walk, which reports it.
    assert Entering.walked == ["Query", "Node", "Leaf"]
    assert [e.path for e in result.errors or []] == [["nodes", 5, "leaf", "name"]]


class Completing(GatewayExecutor):
    """Notes the fields whose answers graphql-core completes (``complete_value``)."""

    completed: list[str] = []

    def complete_value(self, return_type: Any, details: Any, info: Any, *rest: Any) -> Any:
        Completing.completed.append(f"{info.parent_type.name}.{info.field_name}")
        return super().complete_value(return_type, details, info, *rest)


async def test_a_resolvers_object_of_plain_fields_is_read_without_graphql_cores_walk() -> None:
    """A field without arguments whose resolver answers an object, or a list of objects, of
    plain fields (an order's items or address, read through a loader) is read whole once its
    answer is in; graphql-core completes only what is not simply fine (node 5's leaf, whose
    non-null name is null), and reports it as it always would."""
    schema = strawberry.Schema(query=Query, execution_context_class=Completing)
    direct_resolvers(schema)
    Completing.completed.clear()
    result = await schema.execute("{ nodes { id soon { name colour } } goodPets { name } }")
    assert result.data is not None
    assert result.data["nodes"][0] == {"id": "N0", "soon": {"name": "leaf-0", "colour": "BLUE"}}
    assert result.data["goodPets"] == [{"name": "c"}]
    # Query.nodes: its nodes' selection has a resolver (soon), so graphql-core completes the
    # list; every soon but node 5's, and goodPets, are read whole. Node 5's soon and its name
    # take graphql-core's walk (each completed twice: the non-null type, then the one in it).
    assert Completing.completed == [
        "Query.nodes", "Query.nodes", "Node.soon", "Node.soon", "Leaf.name", "Leaf.name",
    ]  # fmt: skip
    assert [e.path for e in result.errors or []] == [["nodes", 5, "soon", "name"]]


W3_LIKE = """{ orders(first: 20) { nodes { id number total { amount currency }
    items { id sku unitPrice { amount } } shippingAddress { id city }
    cancellationPlans { id } } } }"""


async def test_a_request_leaves_no_cyclic_garbage(gateway: Gateway) -> None:
    """Reference counting frees everything a request built (graph/heap.py relies on it): the
    cyclic collector finds none of the gateway's objects after a few requests."""
    await gateway.ok(W3_LIKE)  # caches warmed, connections open
    gc.collect()
    gc.disable()
    try:
        for _ in range(3):
            assert len((await gateway.ok(W3_LIKE))["orders"]["nodes"]) == 20
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        ours = Counter(
            type(o).__qualname__
            for o in gc.garbage
            if type(o).__module__.startswith(
                ("graph.", "resolvers.", "providers.model", "providers.http")
            )
        )
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert ours == Counter()


def test_a_serving_process_collects_cycles_on_a_clock() -> None:
    """graph/heap.py: after ``settle`` the allocation-triggered collector is off, startup's heap
    is frozen, and cyclic garbage is still freed, by the clock."""
    script = """
import gc, time, weakref
from graph import heap
heap.settle(interval_s=0.05)
assert not gc.isenabled() and gc.get_freeze_count() > 0

class Cycle:
    pass

a, b = Cycle(), Cycle()
a.other, b.other = b, a
gone = weakref.ref(a)
del a, b
for _ in range(100):
    if gone() is None:
        break
    time.sleep(0.02)
print("freed" if gone() is None else "kept")
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "freed", out.stderr


async def test_a_document_is_parsed_and_validated_once(gateway: Gateway) -> None:
    """graph/pipeline.py: the same document again is neither parsed nor validated again."""
    document = '{ orderByNumber(provider: AKINON, number: "45243493") { id } } # once-only'
    parsed, validated = cached_parse.cache_info(), cached_validate.cache_info()
    for _ in range(3):
        assert (await gateway.ok(document))["orderByNumber"]["id"]
    assert cached_parse.cache_info().misses - parsed.misses == 1
    assert cached_parse.cache_info().hits - parsed.hits == 2
    assert cached_validate.cache_info().misses - validated.misses == 1
    assert cached_validate.cache_info().hits - validated.hits == 2


def operation_of(
    document: str,
) -> tuple[OperationDefinitionNode, dict[str, FragmentDefinitionNode]]:
    """The parsed document's (cached, as the gateway parses it) operation and fragments."""
    parsed = cached_parse(document)
    operations = [d for d in parsed.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {
        d.name.value: d for d in parsed.definitions if isinstance(d, FragmentDefinitionNode)
    }
    return operations[0], fragments


@pytest.mark.parametrize(
    ("document", "alike"),
    [
        ("{ a b { c } }", True),
        ("query($n: Int) { a(n: $n) @include(if: true) b @skip(if: false) }", True),
        ("query($x: Boolean!) { a @skip(if: $x) }", False),
        ("query($x: Boolean!) { ... @include(if: $x) { a } }", False),
        ("query($x: Boolean!) { ...F } fragment F on Q { a @include(if: $x) }", False),
        ("{ a ... @defer { b } }", False),
        ("{ list @stream { a } }", False),
    ],
)
def test_an_operation_collects_alike_unless_a_directive_reads_the_request(
    document: str, alike: bool
) -> None:
    assert collects_alike(*operation_of(document)) is alike


PLANNED = """query($number: String!) { orderByNumber(provider: AKINON, number: $number) {
    number total { amount currency } items { sku quantity } ...Shipping } }
    fragment Shipping on Order { shippingAddress { city } }"""


async def test_one_plan_serves_every_request_of_a_document(gateway: Gateway) -> None:
    """graph/execution.py's Plan: the first request's collected fields serve the document's
    later requests; each request's variables are still its own."""
    listed = await gateway.ok("{ orders(first: 2) { nodes { number } } }")
    numbers = [n["number"] for n in listed["orders"]["nodes"]]
    assert len(set(numbers)) == 2
    answers = [await gateway.ok(PLANNED, {"number": n}) for n in [*numbers, *numbers]]
    assert [a["orderByNumber"]["number"] for a in answers] == [*numbers, *numbers]
    assert answers[0] == answers[2]
    assert answers[1] == answers[3]
    assert answers[0] != answers[1]
    assert answers[0]["orderByNumber"]["items"]
    assert answers[0]["orderByNumber"]["shippingAddress"]

    schema = gateway.app.state.view.schema._schema
    plan = plan_for(schema, *operation_of(PLANNED))
    assert plan is not None
    assert plan.root is not None
    assert list(plan.root) == ["orderByNumber"]
    # Order's selection, Money's, OrderItem's and the address's, each worked out once.
    assert len(plan.subselections) == 4


async def test_a_documents_literal_arguments_are_coerced_once(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Arguments the document spells out are the same in every request of it: coerced for the
    first and kept with its plan. Arguments that hold a variable are coerced per request."""
    coerced: list[str] = []

    def counting(original: Any) -> Any:
        def coerce(field: Any, node: Any, *rest: Any, **kwargs: Any) -> Any:
            coerced.append(node.name.value)
            return original(field, node, *rest, **kwargs)

        return coerce

    for module in (execution, graphql_executor):
        monkeypatch.setattr(module, "get_argument_values", counting(module.get_argument_values))
    literal = "{ orders(first: 2) { nodes { number } } }"
    answers = [await gateway.ok(literal) for _ in range(3)]
    assert [len(a["orders"]["nodes"]) for a in answers] == [2, 2, 2]
    assert answers[0] == answers[2]
    assert coerced == ["orders"]
    coerced.clear()
    variable = "query($n: Int!) { orders(first: $n) { nodes { number } } }"
    sizes = [len((await gateway.ok(variable, {"n": n}))["orders"]["nodes"]) for n in (1, 3)]
    assert sizes == [1, 3]
    assert coerced == ["orders", "orders"]


async def test_a_directive_that_reads_a_variable_is_collected_per_request(
    gateway: Gateway,
) -> None:
    document = """query($full: Boolean!) { orderByNumber(provider: AKINON, number: "45243493") {
        number @include(if: $full) total @skip(if: $full) { amount } } }"""
    answers = [await gateway.ok(document, {"full": full}) for full in (True, False, True, False)]
    assert [sorted(a["orderByNumber"]) for a in answers] == [["number"], ["total"]] * 2
    assert plan_for(gateway.app.state.view.schema._schema, *operation_of(document)) is None


async def test_a_selections_reader_is_compiled_once(gateway: Gateway) -> None:
    """graph/execution.py's ``plain_reader``: a plain selection's reader is compiled for its
    first request and kept on the schema, so even a document collected per request (its fields
    depend on a variable, so it has no plan) compiles nothing after its first requests."""
    document = """query($full: Boolean!) { orderByNumber(provider: AKINON, number: "45243493") {
        number @include(if: $full) total @skip(if: $full) { amount currency } } }"""
    readers = on_schema(gateway.app.state.view.schema._schema, execution._READERS)
    before = dict(readers.items())
    first = [await gateway.ok(document, {"full": full}) for full in (True, False)]
    compiled = {k: v for k, v in readers.items() if k not in before}
    # Order's {number}; Order's {total {...}} and Money's {amount currency} below it.
    assert sorted(len(selection) for selection in compiled) == [1, 1, 2]
    # The order's reader reads its total with Money's own reader, not a second compile of it.
    total = next(s for s in compiled if s[0][0] == "total")
    assert compiled[total].__globals__["read0"] is compiled[total[0][4]]
    again = [await gateway.ok(document, {"full": full}) for full in (True, False)]
    assert again == first
    assert first[0] == {"orderByNumber": {"number": "45243493"}}
    assert first[1]["orderByNumber"]["total"]["currency"] == "USD"
    assert {k: v for k, v in readers.items() if k not in before} == compiled


def test_a_schema_memo_keeps_the_most_recently_used() -> None:
    """graph/memo.py: what plans and lookaheads are kept in, on the schema they belong to (and,
    off it, the measures of graph/limits.py and the persisted queries of graph/apq.py)."""
    from graph.memo import Lru

    class Schema:
        pass

    schema = Schema()
    memo: Lru[str, int] = on_schema(schema, "_memo")
    assert on_schema(schema, "_memo") is memo
    memo.size = 2
    memo.keep("a", 1)
    memo.keep("b", 2)
    assert memo.find("a") == 1  # "a" is now the most recently used
    assert memo.keep("c", 3) == 3
    assert list(memo.items()) == [("a", 1), ("c", 3)]
    assert memo.find("b") is None
    memo.keep("a", 4)  # kept again: the most recently used, with its new value
    memo.keep("d", 5)
    assert list(memo.items()) == [("a", 4), ("d", 5)]
