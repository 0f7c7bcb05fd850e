"""Per-request dataloaders: one per provider and kind, built lazily, never shared.

Each loader batches the keys asked for in one tick into one connector call per ``MAX_BATCH``
keys (which answers a list aligned with the keys) and caches the answer for the rest of the
request, so a query that names the same order twice asks its provider once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Hashable, Iterable, Sequence
from typing import Any, TypeAlias, TypeVar

from aiodataloader import DataLoader, Loader, dispatch_queue_batch

from providers.base import Provider, settled
from providers.errors import NotConfigured
from providers.model import Order, ProviderName

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")
R = TypeVar("R")
BatchFn = Callable[[Sequence[Any]], Awaitable[Sequence[Any]]]

MAX_BATCH = 100
_UNKNOWN = object()

# What a resolver that reads through a loader returns: the value, when it is already at hand,
# or an awaitable of it (see ``then``).
Later: TypeAlias = R | Awaitable[R]


async def then(pending: Awaitable[T], build: Callable[[T], R]) -> R:
    """``build`` applied to what ``pending`` answers.

    A resolver that reads through a loader is a plain function that calls ``load`` and returns
    ``then(future, build)``: the key joins the loader's batch while the executor is still
    walking the parent objects, so the batch goes upstream on the next turn of the event loop.
    An ``async def`` resolver would not even call ``load`` until the executor had scheduled and
    started its coroutine, after every sibling field of every object of the page (measured,
    W3 at 50 ms per upstream call: about 3 ms later, tests/benchmarks/HISTORY.md).
    """
    return build(await pending)


def each(fn: Callable[[Any], Awaitable[Any]]) -> BatchFn:
    """A batch function for an API without batch reads: the keys' calls run concurrently."""

    async def batch(keys: Sequence[Any]) -> Sequence[Any]:
        return await settled(map(fn, keys))

    return batch


def _guarded(fn: BatchFn) -> BatchFn:
    """A batch that fails as a whole fails each key with the same error, not the loader."""

    async def batch(keys: Sequence[Any]) -> Sequence[Any]:
        try:
            return list(await fn(keys))
        except Exception as exc:  # noqa: BLE001 - handed to each key's awaiter
            return [exc] * len(keys)

    return batch


def _counted(fn: BatchFn, count: Callable[[int], None]) -> BatchFn:
    async def batch(keys: Sequence[Any]) -> Sequence[Any]:
        count(len(keys))
        return await fn(keys)

    return batch


class PromptLoader(DataLoader[Any, Any]):
    """A loader whose batch goes upstream on the event loop's next turn, ahead of the rest.

    aiodataloader dispatches from a callback that starts a task that starts another task for
    the batch, each queued behind every task the executor started meanwhile (one per object of
    a page and one per field being resolved). Here the first ``load`` of a tick starts the
    batch's own task at once, so it runs first on the next turn: with every key asked for
    while the executor walked the objects in its queue, and before any of those tasks.
    Measured, W3 at 50 ms per upstream call: the child reads go out about 1.5 ms sooner
    (tests/benchmarks/HISTORY.md).
    """

    def __init__(self, batch_load_fn: BatchFn, *, max_batch_size: int) -> None:
        super().__init__(batch_load_fn, max_batch_size=max_batch_size)  # type: ignore[arg-type]
        # Answers known before anyone asked (``know``); each becomes a cached future when
        # its key is first loaded.
        self._known: dict[Any, Any] = {}
        self._batches: set[asyncio.Task[None]] = set()  # under way

    def know(self, values: dict[Any, Any]) -> None:
        """``prime`` for many keys at once, each made into a future only when it is loaded.

        A page of 100 orders is primed for later reads by id, which few requests make: 100
        futures made and resolved measured about 90 us a W5 request; a dict update is a few.
        As with ``prime``, an answer already cached or known is kept.
        """
        self._known = {**values, **self._known}

    def load(self, key: Any) -> asyncio.Future[Any]:
        if self._known:
            value = self._known.pop(key, _UNKNOWN)
            if value is not _UNKNOWN:
                self.prime(key, value)
        return super().load(key)

    def clear(self, key: Any) -> PromptLoader:
        self._known.pop(key, None)
        return super().clear(key)

    def do_resolve_reject(self, key: Any, future: asyncio.Future[Any]) -> None:
        self._queue.append(Loader(key=key, future=future))
        if len(self._queue) == 1:
            self._started(self._dispatch())

    async def _dispatch(self) -> None:
        queue, self._queue = self._queue, []
        size = self.max_batch_size or len(queue)
        first, *rest = (queue[i : i + size] for i in range(0, len(queue), size))
        for chunk in rest:
            self._started(dispatch_queue_batch(self, chunk))
        await dispatch_queue_batch(self, first)

    def _started(self, batch: Coroutine[Any, Any, None]) -> None:
        task = self.loop.create_task(batch)
        self._batches.add(task)
        task.add_done_callback(self._batches.discard)

    def cancel(self) -> None:
        """Cancel the batches still under way: nothing will ask for their answers."""
        for task in self._batches:
            task.cancel()


class Loaders:
    """The request's loaders, keyed by provider and kind (``"orders_by_key"``, ...)."""

    def __init__(
        self,
        providers: dict[ProviderName, Provider],
        on_batch: Callable[[ProviderName, str, int], None] | None = None,
    ) -> None:
        self.providers = providers
        self._loaders: dict[tuple[ProviderName, str], PromptLoader] = {}
        # Answers known for a loader not made yet (``know``), handed to it when it is.
        self._known: dict[tuple[ProviderName, str], dict[Any, Any]] = {}
        self._on_batch = on_batch  # told each batch's size (the metrics histogram)

    def provider(self, name: ProviderName) -> Provider:
        try:
            return self.providers[name]
        except KeyError:
            raise NotConfigured(name.value, "not configured in this gateway") from None

    def get(self, name: ProviderName, kind: str, batch: BatchFn | None = None) -> PromptLoader:
        """The loader for ``kind``: the provider's batch method of that name unless given."""
        loader = self._loaders.get((name, kind))
        if loader is None:
            fn = batch or getattr(self.provider(name), kind)
            on_batch = self._on_batch
            if on_batch is not None:
                fn = _counted(fn, lambda size: on_batch(name, kind, size))
            loader = PromptLoader(_guarded(fn), max_batch_size=MAX_BATCH)
            self._loaders[(name, kind)] = loader
            known = self._known.pop((name, kind), None)
            if known:
                loader.know(known)
        return loader

    def load(self, name: ProviderName, kind: str, key: Any) -> asyncio.Future[Any]:
        """The answer for ``key``, to await: the loader's own future (no coroutine around it)."""
        return self.get(name, kind).load(key)

    def known_orders(self, orders: Iterable[Order]) -> None:
        """Orders read some other way (by number, in a list, just placed): a later read by key
        in the same request (``order(id:)``, an item's ``order``) is answered from them."""
        by_provider: dict[ProviderName, dict[str, Order]] = {}
        for order in orders:
            known = by_provider.get(order.provider)
            if known is None:
                known = by_provider[order.provider] = {}
            known[order.key] = order
        for name, known in by_provider.items():
            self.know(name, "orders_by_key", known)

    def know(self, name: ProviderName, kind: str, values: dict[Any, Any]) -> None:
        """``PromptLoader.know`` for the loader of ``kind``, kept aside until that loader is
        made: most requests that read orders by number or in a list never read one by key
        (W2's four providers: four loaders fewer to make)."""
        loader = self._loaders.get((name, kind))
        if loader is not None:
            loader.know(values)
        else:  # as with ``PromptLoader.know``, what is known first is kept
            self._known[(name, kind)] = {**values, **self._known.get((name, kind), {})}

    def cancel(self) -> None:
        """The operation is over: cancel every batch still under way (its reads' answers
        would go to no one)."""
        for loader in self._loaders.values():
            loader.cancel()

    def forget(self, name: ProviderName, kind: str, key: Any) -> None:
        """Drop a cached answer, so a read after a mutation sees the new state."""
        loader = self._loaders.get((name, kind))
        if loader is not None:
            loader.clear(key)
        self._known.get((name, kind), {}).pop(key, None)
