"""Idempotency records for order creation, behind a small protocol.

A record says what happened to one idempotency key: ``RUNNING`` (a create is in flight, held
under a lease), ``DONE`` (the order it made), or ``UNKNOWN`` (a create was sent and its answer
lost). A definite failure deletes the record, so the key may be used again.

:class:`SqliteStore` is the embedded default: one SQLite file (or ``:memory:``) per gateway
process, no server needed. When several gateway processes share providers, a shared store
(Redis, Postgres) implements :class:`IdempotencyStore` the same way: ``begin`` must be atomic.
"""

from __future__ import annotations

import asyncio
import enum
import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import Protocol


class State(enum.Enum):
    RUNNING = "RUNNING"
    DONE = "DONE"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True, slots=True)
class Record:
    key: str
    fingerprint: str  # a hash of the input: the same key with another input is a conflict
    state: State
    order_key: str | None
    lease_until: float  # wall-clock seconds; a RUNNING record past it was abandoned


@dataclass(frozen=True, slots=True)
class Claim:
    """What :meth:`IdempotencyStore.begin` found. ``owned``: the caller now runs the create;
    ``previous`` is the record it took over (``UNKNOWN`` or an abandoned ``RUNNING``), whose
    create may have landed and must be looked up before anything is sent again."""

    record: Record
    owned: bool
    previous: Record | None = None


class IdempotencyStore(Protocol):
    """Where idempotency records live; ``begin`` is the one step that must be atomic."""

    async def get(self, key: str) -> Record | None: ...

    async def begin(self, key: str, fingerprint: str, lease_s: float) -> Claim:
        """Create a ``RUNNING`` record, or take over an ``UNKNOWN`` / expired one with the same
        fingerprint; otherwise answer the record as it is, not owned."""
        ...

    async def complete(self, key: str, order_key: str) -> None: ...

    async def fail(self, key: str, *, unknown: bool) -> None:
        """The create failed: delete the record, or keep it as ``UNKNOWN`` when it may have
        landed."""
        ...

    async def close(self) -> None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    state TEXT NOT NULL,
    order_key TEXT,
    lease_until REAL NOT NULL,
    updated_at REAL NOT NULL
)
"""


class SqliteStore:
    """Records in SQLite. Calls run in a worker thread under one lock, so a slow disk never
    stalls the event loop and ``begin`` is atomic within the process; ``BEGIN IMMEDIATE``
    makes it atomic across processes sharing the file."""

    def __init__(self, path: str = ":memory:", *, retention_s: float = 86_400.0) -> None:
        self.path = path
        self.retention_s = retention_s
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        if path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA busy_timeout=5000")
        self._db.execute(_SCHEMA)

    async def _run(self, sql: str, args: tuple[object, ...]) -> list[tuple[object, ...]]:
        def run() -> list[tuple[object, ...]]:
            with self._lock:
                return self._db.execute(sql, args).fetchall()

        return await asyncio.to_thread(run)

    async def get(self, key: str) -> Record | None:
        rows = await self._run(
            "SELECT key, fingerprint, state, order_key, lease_until FROM idempotency WHERE key = ?",
            (key,),
        )
        return _record(rows[0]) if rows else None

    async def begin(self, key: str, fingerprint: str, lease_s: float) -> Claim:
        def run() -> Claim:
            now = time.time()
            with self._lock:
                db = self._db
                db.execute("BEGIN IMMEDIATE")
                try:
                    db.execute(
                        "DELETE FROM idempotency WHERE updated_at < ? AND state != 'RUNNING'",
                        (now - self.retention_s,),
                    )
                    row = db.execute(
                        "SELECT key, fingerprint, state, order_key, lease_until "
                        "FROM idempotency WHERE key = ?",
                        (key,),
                    ).fetchone()
                    found = _record(row) if row else None
                    takeover = found is not None and (
                        found.fingerprint == fingerprint
                        and (
                            found.state is State.UNKNOWN
                            or (found.state is State.RUNNING and found.lease_until < now)
                        )
                    )
                    if found is not None and not takeover:
                        db.execute("COMMIT")
                        return Claim(found, owned=False)
                    mine = Record(key, fingerprint, State.RUNNING, None, now + lease_s)
                    db.execute(
                        "INSERT OR REPLACE INTO idempotency VALUES (?, ?, ?, ?, ?, ?)",
                        (key, fingerprint, State.RUNNING.value, None, mine.lease_until, now),
                    )
                    db.execute("COMMIT")
                    return Claim(mine, owned=True, previous=found)
                except BaseException:
                    db.execute("ROLLBACK")
                    raise

        return await asyncio.to_thread(run)

    async def complete(self, key: str, order_key: str) -> None:
        await self._run(
            "UPDATE idempotency SET state = ?, order_key = ?, updated_at = ? WHERE key = ?",
            (State.DONE.value, order_key, time.time(), key),
        )

    async def fail(self, key: str, *, unknown: bool) -> None:
        if unknown:
            await self._run(
                "UPDATE idempotency SET state = ?, updated_at = ? WHERE key = ?",
                (State.UNKNOWN.value, time.time(), key),
            )
        else:
            await self._run("DELETE FROM idempotency WHERE key = ?", (key,))

    async def close(self) -> None:
        with self._lock:
            self._db.close()


def _record(row: tuple[object, ...]) -> Record:
    key, fingerprint, state, order_key, lease_until = row
    return Record(
        str(key),
        str(fingerprint),
        State(state),
        None if order_key is None else str(order_key),
        float(lease_until),  # type: ignore[arg-type]
    )
