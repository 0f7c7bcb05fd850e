"""The gateway's bounded memos: the least recently used entry out first.

Clients send the same few documents again and again, so what is worked out from one (its
checks and measure, graph/limits.py; a persisted query's text, graph/apq.py; the executor's
plan and lookahead, below) is remembered, for as many documents as the parse cache keeps.

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

K = TypeVar("K")
V = TypeVar("V")

# Documents (and operation + variables) whose checks are remembered; a passing document has at
# most max_tokens tokens, and strawberry's own parser and validation caches keep 128 too.
MEMO_SIZE = 128


class Lru(OrderedDict[K, V]):
    """At most ``size`` entries (by default as many documents as the parse cache keeps), the
    least recently used out first."""

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
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)
        return value


def on_schema(schema: object, name: str) -> Lru[Any, Any]:
    """The memo called ``name`` on ``schema``, made on first use."""
    memo: Lru[Any, Any] | None = getattr(schema, name, None)
    if memo is None:
        memo = Lru()
        setattr(schema, name, memo)
    return memo
