"""Memos of what the executor works out from a document alone, kept on the schema.

An operation's plan (graph/execution.py) and a field's lookahead (graph/lookahead.py) depend on
the document's nodes only, and the parse cache hands the same text the same nodes, so both are
worked out once and remembered by the nodes' identities. Each entry holds the nodes it was keyed
by, so no other node can take their ids while it is kept.

The memo lives on the schema: what it holds reaches the schema (through its types), so a map
keyed weakly by schema would keep every schema alive; on the schema, it goes with it.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, TypeVar

from graph.limits import MEMO_SIZE

K = TypeVar("K")
V = TypeVar("V")


class Lru(OrderedDict[K, V]):
    """At most ``size`` entries (as many documents as the parse cache keeps), the least
    recently used out first."""

    def __init__(self, size: int = MEMO_SIZE) -> None:
        super().__init__()
        self.size = size

    def find(self, key: K) -> V | None:
        found = self.get(key)
        if found is not None:
            self.move_to_end(key)
        return found

    def keep(self, key: K, value: V) -> V:
        self[key] = value
        if len(self) > self.size:
            self.popitem(last=False)
        return value


def on_schema(schema: object, name: str) -> Lru[Any, Any]:
    """The memo called ``name`` on ``schema``, made on first use."""
    memo: Lru[Any, Any] | None = getattr(schema, name, None)
    if memo is None:
        memo = Lru()
        setattr(schema, name, memo)
    return memo
