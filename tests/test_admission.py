"""Admission by estimated cost: costly operations take turns, cheap ones are not held back."""

from __future__ import annotations

import asyncio
import time

from graph.admission import CostBudget
from tests.conftest import gateway_with

BIG = "{ orders(first: 50) { nodes { number items { sku } } } }"  # costs over 300


async def test_costly_queries_beyond_the_budget_take_turns() -> None:
    async with gateway_with(names=("akinon",), server={"max_inflight_cost": 600}) as gw:
        await gw.ok(BIG)  # logs in first
        gw.clear_calls()
        gw.faults("akinon").update({"latency_s": 0.25, "only_paths": ["/orders/"]})
        began = time.perf_counter()
        answers = await asyncio.gather(gw.ok(BIG), gw.ok(BIG))
        elapsed = time.perf_counter() - began
        assert [len(a["orders"]["nodes"]) for a in answers] == [50, 50]
        # Each costs more than half the budget: the second starts when the first is done.
        assert elapsed >= 0.5
        assert len(gw.calls("akinon", "/orders/")) == 2


async def test_the_budget_is_first_come_first_served_and_survives_a_cancelled_waiter() -> None:
    budget = CostBudget(10)
    order: list[str] = []

    async def run(name: str, cost: int, hold_s: float) -> None:
        async with budget.hold(cost):
            order.append(name)
            await asyncio.sleep(hold_s)

    first = asyncio.create_task(run("first", 8, 0.05))
    await asyncio.sleep(0)
    gives_up = asyncio.create_task(run("gives-up", 8, 0))
    big = asyncio.create_task(run("big", 9, 0))
    small = asyncio.create_task(run("small", 1, 0))  # fits now, but waits behind "big"
    await asyncio.sleep(0.01)
    gives_up.cancel()
    await asyncio.gather(first, big, small, return_exceptions=True)
    assert order == ["first", "big", "small"]
    assert budget.used == 0
    async with budget.hold(50):  # costlier than the whole budget: runs, alone
        assert budget.used == 10
