"""Per-request dataloaders: one per provider and kind, built lazily, never shared.

Each loader batches the keys asked for in one tick into one connector call (which answers a
list aligned with the keys) and caches the answer for the rest of the request, so a query that
names the same order twice asks its provider once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from typing import Any, TypeVar

from aiodataloader import DataLoader

from providers.base import Provider
from providers.errors import NotConfigured
from providers.model import Order, ProviderName

K = TypeVar("K", bound=Hashable)
BatchFn = Callable[[Sequence[Any]], Awaitable[Sequence[Any]]]

MAX_BATCH = 100


def each(fn: Callable[[Any], Awaitable[Any]]) -> BatchFn:
    """A batch function for an API without batch reads: the keys' calls run concurrently."""

    async def batch(keys: Sequence[Any]) -> Sequence[Any]:
        return await asyncio.gather(*(fn(k) for k in keys), return_exceptions=True)

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


class Loaders:
    """The request's loaders, keyed by provider and kind (``"orders_by_key"``, ...)."""

    def __init__(
        self,
        providers: dict[ProviderName, Provider],
        on_batch: Callable[[ProviderName, str, int], None] | None = None,
    ) -> None:
        self.providers = providers
        self._loaders: dict[tuple[ProviderName, str], DataLoader[Any, Any]] = {}
        self._on_batch = on_batch  # told each batch's size (the metrics histogram)

    def provider(self, name: ProviderName) -> Provider:
        try:
            return self.providers[name]
        except KeyError:
            raise NotConfigured(
                name.value, f"{name.value} is not configured in this gateway"
            ) from None

    def get(
        self, name: ProviderName, kind: str, batch: BatchFn | None = None
    ) -> DataLoader[Any, Any]:
        """The loader for ``kind``: the provider's batch method of that name unless given."""
        loader = self._loaders.get((name, kind))
        if loader is None:
            fn = batch or getattr(self.provider(name), kind)
            on_batch = self._on_batch
            if on_batch is not None:
                fn = _counted(fn, lambda size: on_batch(name, kind, size))
            loader = DataLoader(_guarded(fn), max_batch_size=MAX_BATCH)  # type: ignore[arg-type]
            self._loaders[(name, kind)] = loader
        return loader

    def load(self, name: ProviderName, kind: str, key: Any) -> asyncio.Future[Any]:
        """The answer for ``key``, to await: the loader's own future (no coroutine around it)."""
        return self.get(name, kind).load(key)

    def known_orders(self, orders: Iterable[Order]) -> None:
        """Orders read some other way (by number, in a list, just placed): a later read by key
        in the same request (``order(id:)``, an item's ``order``) is answered from them."""
        for order in orders:
            self.get(order.provider, "orders_by_key").prime(order.key, order)

    def forget(self, name: ProviderName, kind: str, key: Any) -> None:
        """Drop a cached answer, so a read after a mutation sees the new state."""
        loader = self._loaders.get((name, kind))
        if loader is not None:
            loader.clear(key)
