from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from graph.config import Config
from graph.embedded import start_sandboxes
from providers.sandbox import SANDBOX_NAMES, RunningSandbox
from tests.harness import Gateway, serve, stop


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    """The embedded default, for real: every sandbox and the gateway, on loopback ports."""
    async with gateway_with() as gw:
        yield gw


class started:
    """``async with started(config, sandboxes) as gw``: a gateway for a custom config."""

    def __init__(
        self, config: Config, sandboxes: Mapping[str, RunningSandbox] | None = None
    ) -> None:
        self.config = config
        self.sandboxes = dict(sandboxes or {})

    async def __aenter__(self) -> Gateway:
        self.server, self.task, url = await serve(self.config)
        self.session = aiohttp.ClientSession()
        gw = Gateway(f"{url}/graphql", self.session, self.sandboxes, self.config)
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
    """The sandboxes ``names`` (every one by default) and a gateway over them, its config changed
    as a config file would change it, then by ``adjust`` for anything else.

    ``settings`` (provider name -> settings) are merged into the provider sections; a setting of
    None removes the key, as leaving it out of the file would. ``server`` is read as the file's
    ``[server]`` section is (limits, ``mode``, ``api_keys``, the rest in ``extra``); ``api_keys``
    keeps the development key unless it is given. The sandboxes are closed however it ends."""
    if any(0 < s.get("timeout_s", 10) <= 2 for s in (settings or {}).values()):
        # A test on deadlines of a second or two: a full collection of this test process's
        # heap, hundreds of tests old, takes up to a second (measured: 45 in a full run, the
        # longest 995 ms; the serving process collects on a clock instead, graph/heap.py).
        # Collected now, none falls due mid-test.
        gc.collect()
    config, running = await start_sandboxes(names)
    try:
        for name, changes in (settings or {}).items():
            section = config.providers.get(name, {})
            for key, value in changes.items():
                if value is None:
                    section.pop(key, None)
                else:
                    section[key] = value
        if server:
            read = {"api_keys": config.server.api_keys, **server}
            config.server = Config.from_dict({"server": read}).server
        if adjust is not None:
            adjust(config)
        async with started(config, {s.name: s for s in running}) as gw:
            yield gw
    finally:
        for s in running:
            await s.close()
