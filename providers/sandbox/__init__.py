"""Simulated providers: one aiohttp application per provider API, faithful to its page.

Every sandbox module exposes the same two names, so the gateway, the tests and the benchmark
treat them alike:

- ``create_app(*, faults: Faults | None = None, seed: int = 0) -> web.Application``
- ``CREDENTIALS: dict[str, str]``: the ``[providers.<name>]`` settings (besides ``base_url``)
  that this sandbox accepts, used by the embedded default configuration.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

from aiohttp import web

from providers.sandbox.faults import Faults

SANDBOX_NAMES = ("lipalater", "lipalater_purchases", "frontpayment", "kalixo", "akinon")


def load(name: str) -> ModuleType:
    """The sandbox module for the provider configured as ``name``."""
    if name not in SANDBOX_NAMES:
        raise KeyError(name)
    return importlib.import_module(f"providers.sandbox.{name}")


@dataclass
class RunningSandbox:
    """A sandbox listening on a loopback port."""

    name: str
    app: web.Application
    runner: web.AppRunner
    base_url: str
    credentials: dict[str, str]

    async def close(self) -> None:
        await self.runner.cleanup()


async def start(
    name: str,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    faults: Faults | None = None,
    seed: int = 0,
) -> RunningSandbox:
    """Start the named sandbox on ``host:port`` (0: any free port) and say where it listens."""
    module = load(name)
    app: web.Application = module.create_app(faults=faults, seed=seed)
    # A request held by the hang knob never finishes: cleanup must not wait aiohttp's 60 s.
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server
    assert server is not None
    sockets = getattr(server, "sockets", [])
    bound_port = sockets[0].getsockname()[1]
    return RunningSandbox(
        name, app, runner, f"http://{host}:{bound_port}", dict(module.CREDENTIALS)
    )


async def start_all(
    names: tuple[str, ...] = SANDBOX_NAMES, *, host: str = "127.0.0.1", latency_s: float = 0.0
) -> list[RunningSandbox]:
    """The named sandboxes that exist, each on its own port with its own fault knobs."""
    running = []
    for name in names:
        try:
            load(name)
        except ModuleNotFoundError:
            continue  # a provider whose sandbox is not written yet is simply not served
        running.append(await start(name, host=host, faults=Faults(latency_s=latency_s)))
    return running
