"""A query whose client has gone away is cancelled, with the upstream calls made for it.

ASGI tells an application that its client left only through ``receive``: once the request's
body is read, the next ``receive`` waits until the connection closes (``http.disconnect``) or
the response is complete. :class:`Departure` is that wait, one per request, started by
``HttpPolicy`` once it has read the body. While a query executes (graph/pipeline.py registers
its task with :func:`executing_query`), a departure cancels it: its fields stop where they
are, the upstream calls under way for it are dropped (their connections closed; the request
loaders' batches are cancelled by the pipeline as the operation ends), and the request is
logged with the outcome ``abandoned`` and status 499, nginx's "client closed request".

A mutation is never cancelled: a write cut off mid-way is worse than an answer nobody reads,
so it runs to its end as it would have (its reply is then dropped by the server).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Iterator

from starlette.types import Message, Receive

# The current request's departure, if its client can still leave (set by HttpPolicy).
DEPARTURE: contextvars.ContextVar[Departure | None] = contextvars.ContextVar(
    "departure", default=None
)

_GONE: Message = {"type": "http.disconnect"}


class Departure:
    """The wait for one request's client to leave (see the module docstring)."""

    __slots__ = ("_left", "_query", "_receive", "_watch", "abandoned")

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._query: asyncio.Task[object] | None = None
        self._left = asyncio.get_running_loop().create_future()
        self.abandoned = False  # a query was cancelled because its client left
        self._watch = asyncio.ensure_future(self._watching())

    async def _watching(self) -> None:
        while (await self._receive())["type"] != "http.disconnect":
            pass  # an empty body's trailing message: the client has not left
        self._left.set_result(None)
        if self._query is not None:
            self.abandoned = True
            self._query.cancel()

    async def receive(self) -> Message:
        """``receive`` for the application once the body is read: it answers
        ``http.disconnect`` when the client leaves, as the server's would (only this watch
        reads the server's)."""
        await asyncio.shield(self._left)
        return _GONE

    def stop(self) -> None:
        """The request is answered: stop watching."""
        self._watch.cancel()
        self._query = None


@contextlib.contextmanager
def executing_query() -> Iterator[None]:
    """The current task executes a query: cancel it if the request's client leaves."""
    departure = DEPARTURE.get()
    task = asyncio.current_task()
    if departure is None or task is None:
        yield
        return
    departure._query = task
    try:
        yield
    finally:
        departure._query = None
