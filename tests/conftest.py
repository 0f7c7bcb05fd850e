from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from graph.config import Config
from graph.embedded import start_sandboxes
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
