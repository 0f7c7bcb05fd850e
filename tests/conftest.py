from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from graph.config import Config
from graph.embedded import start_sandboxes
from providers.sandbox import SANDBOX_NAMES
from tests.harness import Gateway, serve, stop


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    """The embedded default, for real: every sandbox and the gateway, on loopback ports."""
    config, running = await start_sandboxes()
    async with started(config, {s.name: s for s in running}) as gw:
        yield gw
    for s in running:
        await s.close()


class started:
    """``async with started(config, sandboxes) as gw``: a gateway for a custom config."""

    def __init__(self, config: Config, sandboxes: dict[str, object] | None = None) -> None:
        self.config = config
        self.sandboxes = sandboxes or {}

    async def __aenter__(self) -> Gateway:
        self.server, self.task, url = await serve(self.config)
        self.session = aiohttp.ClientSession()
        gw = Gateway(f"{url}/graphql", self.session, self.sandboxes, self.config)  # type: ignore[arg-type]
        gw.app = self.server.config.app
        return gw

    async def __aexit__(self, *exc: object) -> None:
        await self.session.close()
        await stop(self.server, self.task)


@asynccontextmanager
async def gateway_with(
    settings: dict[str, dict[str, Any]] | None = None,
    *,
    names: tuple[str, ...] = SANDBOX_NAMES,
    server: dict[str, Any] | None = None,
    adjust: Callable[[Config], None] | None = None,
) -> AsyncIterator[Gateway]:
    """The sandboxes ``names`` (every one by default) and a gateway whose provider sections get
    ``settings`` merged in, its ``[server]`` section ``server``, and then ``adjust`` applied to
    the whole config."""
    config, running = await start_sandboxes(names)
    for name, extra in (settings or {}).items():
        if name in config.providers:
            config.providers[name].update(extra)
    config.server.extra.update(server or {})
    if adjust is not None:
        adjust(config)
    try:
        async with started(config, {s.name: s for s in running}) as gw:
            yield gw
    finally:
        for s in running:
            await s.close()
