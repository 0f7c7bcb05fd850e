"""The gateway's bounded memos: the least recently used entry out first.

Clients send the same few documents again and again, so what is worked out from one (its
measure, graph/limits.py; the executor's plan and lookahead, below) is remembered, for as many
documents as the parse cache keeps (``MEMO_SIZE``), in the one bounded memo the connectors use
too (providers/lru.py's ``Lru``). Registered persisted queries (graph/apq.py) are kept in an
``Lru`` of their own, bounded by ``apq_cache_size`` and ``apq_cache_bytes``.

An operation's plan (graph/execution.py) and a field's lookahead (graph/lookahead.py) depend on
the document's nodes only, and the parse cache hands the same text the same nodes, so both are
worked out once and remembered by the nodes' identities. Each entry holds the nodes it was keyed
by, so no other node can take their ids while it is kept.

The memo lives on the schema: what it holds reaches the schema (through its types), so a map
keyed weakly by schema would keep every schema alive; on the schema, it goes with it.
"""

from __future__ import annotations

from typing import Any

from providers.lru import Lru

__all__ = ["MEMO_SIZE", "Lru", "on_schema"]

# Documents (and operation + variables) whose checks are remembered; a passing document has at
# most max_tokens tokens, and strawberry's own parser and validation caches keep 128 too.
MEMO_SIZE = 128


def on_schema(schema: object, name: str) -> Lru[Any, Any]:
    """The memo called ``name`` on ``schema``, made on first use."""
    memo: Lru[Any, Any] | None = getattr(schema, name, None)
    if memo is None:
        memo = Lru(MEMO_SIZE)
        setattr(schema, name, memo)
    return memo
