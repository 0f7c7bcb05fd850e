"""One bounded memo for the whole gateway: the least recently used entry out first.

The graph layer's memos (graph/memo.py: plans, lookaheads, limit checks, persisted queries) and
the connectors' (Akinon's order currencies and numbers, Kalixo's externalOrderCode maps) keep
their entries in it. It lives here, below the graph layer, because connectors do not import
graph/.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Lru(OrderedDict[K, V]):
    """At most ``size`` entries, the least recently used out first."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def find(self, key: K) -> V | None:
        found = self.get(key)
        if found is not None:
            self.move_to_end(key)
        return found

    def keep(self, key: K, value: V) -> V:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)
        return value
