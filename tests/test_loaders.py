"""resolvers/loaders.py: when a batch goes upstream, and how a large one is split.

The upstream call counts of real queries are asserted with the connectors' tests; these pin the
loader's timing, which those counts cannot see: a batch starts on the event loop's next turn,
before the tasks the executor started in the same turn (one per object of a page).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from providers.base import settled
from providers.model import ProviderName
from resolvers.loaders import MAX_BATCH, Loaders

AKINON = ProviderName.AKINON


def echo(seen: list[Any]) -> Any:
    async def batch(keys: Sequence[int]) -> list[int]:
        seen.append(("batch", list(keys)))
        return [k * 10 for k in keys]

    return batch


async def test_a_batch_starts_before_the_tasks_of_its_turn() -> None:
    seen: list[Any] = []
    loader = Loaders({}).get(AKINON, "echo", echo(seen))

    async def sibling(i: int) -> None:
        seen.append(("task", i))

    first = loader.load(1)
    tasks = [asyncio.ensure_future(sibling(i)) for i in range(3)]
    second = loader.load(2)  # asked for after the tasks were started, in the same turn

    assert list(await asyncio.gather(first, second)) == [10, 20]
    await asyncio.gather(*tasks)
    assert seen == [("batch", [1, 2]), ("task", 0), ("task", 1), ("task", 2)]


async def test_keys_asked_for_on_a_later_turn_make_a_second_batch() -> None:
    seen: list[Any] = []
    loader = Loaders({}).get(AKINON, "echo", echo(seen))

    assert await loader.load(1) == 10
    assert list(await asyncio.gather(loader.load(2), loader.load(1))) == [20, 10]  # 1 is cached
    assert seen == [("batch", [1]), ("batch", [2])]


async def test_a_batch_larger_than_max_batch_is_split() -> None:
    seen: list[Any] = []
    loader = Loaders({}).get(AKINON, "echo", echo(seen))
    keys = list(range(MAX_BATCH * 2 + 1))

    assert await asyncio.gather(*(loader.load(k) for k in keys)) == [k * 10 for k in keys]
    assert [len(batch) for _, batch in seen] == [MAX_BATCH, MAX_BATCH, 1]


async def test_known_answers_are_served_without_a_batch_until_forgotten() -> None:
    seen: list[Any] = []
    loaders = Loaders({})
    loader = loaders.get(AKINON, "echo", echo(seen))

    assert await loader.load(1) == 10  # cached before anything is known
    loader.know({1: "known", 2: "first", 3: "three"})
    loader.know({2: "second"})  # as with prime, what is known first is kept
    assert list(await asyncio.gather(loader.load(1), loader.load(2), loader.load(3))) == [
        10,
        "first",
        "three",
    ]
    loader.know({4: "four"})
    loaders.forget(AKINON, "echo", 3)  # a cached answer, as after a mutation
    loaders.forget(AKINON, "echo", 4)  # and one known but not yet asked for
    assert list(await asyncio.gather(loader.load(3), loader.load(4))) == [30, 40]
    assert seen == [("batch", [1]), ("batch", [3, 4])]


async def test_answers_known_before_their_loader_is_made_are_kept_for_it() -> None:
    seen: list[Any] = []
    loaders = Loaders({})
    loaders.know(AKINON, "echo", {1: "first", 2: "two", 3: "three"})
    loaders.know(AKINON, "echo", {1: "second"})  # what is known first is kept here too
    loaders.forget(AKINON, "echo", 3)  # as after a mutation, before any read
    assert loaders._loaders == {}  # knowing made no loader

    loader = loaders.get(AKINON, "echo", echo(seen))
    answers = await asyncio.gather(loader.load(1), loader.load(2), loader.load(3))
    assert list(answers) == ["first", "two", 30]
    assert seen == [("batch", [3])]


async def test_settled_answers_each_step_or_its_failure_in_order() -> None:
    async def step(n: int) -> int:
        await asyncio.sleep(0.001 * (3 - n))  # the last to start answers first
        if n == 1:
            raise ValueError("no 1")
        return n

    found = await settled(step(n) for n in range(3))
    assert [found[0], found[2]] == [0, 2]
    assert repr(found[1]) == "ValueError('no 1')"


async def test_settled_runs_one_step_in_its_callers_task() -> None:
    """The usual batch of one key makes no task (and no turn of the event loop) for its step."""
    caller = asyncio.current_task()

    async def step() -> asyncio.Task[Any] | None:
        return asyncio.current_task()

    assert await settled([step()]) == [caller]
    assert await settled([]) == []


async def test_a_cancelled_batch_is_cancelled_not_answered() -> None:
    started = asyncio.Event()

    async def step() -> int:
        started.set()
        await asyncio.sleep(10)
        return 1

    for count in (1, 2):
        started.clear()
        batch = asyncio.ensure_future(settled(step() for _ in range(count)))
        await started.wait()
        batch.cancel()
        with pytest.raises(asyncio.CancelledError):
            await batch
        assert batch.cancelled()
