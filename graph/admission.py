"""Admission by cost: how much estimated work may execute at once in this process.

Memory and CPU grow with what a query resolves, which its estimated cost (graph/limits.py:
list sizes from ``first:`` as execution coerces it, a variable's default included; introspection
by the schema's size) measures. A process lets operations execute while their costs add
up to at most ``[server] max_inflight_cost``; the rest wait their turn, first come first
served. Cheap lookups pass a crowd of cheap lookups at once, while a crowd of 50-order queries
cannot hold all their results in memory at the same time (with the CPU the bottleneck, they
would not finish sooner anyway). Measured: tests/benchmarks/HISTORY.md.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class CostBudget:
    """A first-come-first-served weighted semaphore over estimated query cost."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.used = 0
        self._waiting: deque[tuple[int, asyncio.Future[None]]] = deque()

    @asynccontextmanager
    async def hold(self, cost: int) -> AsyncIterator[None]:
        # A query costlier than the whole budget still runs, alone.
        cost = max(0, min(cost, self.capacity))
        await self._acquire(cost)
        try:
            yield
        finally:
            self._release(cost)

    async def _acquire(self, cost: int) -> None:
        if not self._waiting and self.used + cost <= self.capacity:
            self.used += cost
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((cost, turn))
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._release(cost)  # admitted as the caller gave up: hand the cost back
            else:
                if (cost, turn) in self._waiting:
                    self._waiting.remove((cost, turn))
                self._admit()  # a big query that gave up may have been holding others back
            raise

    def _release(self, cost: int) -> None:
        self.used -= cost
        self._admit()

    def _admit(self) -> None:
        while self._waiting and self.used + self._waiting[0][0] <= self.capacity:
            cost, turn = self._waiting.popleft()
            if turn.done():  # cancelled while waiting; its task has not run its cleanup yet
                continue
            self.used += cost
            turn.set_result(None)
