"""The embedded default: every sandbox on a loopback port, and a config pointing at them."""

from __future__ import annotations

from graph.config import Config, embedded
from providers import sandbox


async def start_sandboxes(
    names: tuple[str, ...] = sandbox.SANDBOX_NAMES, host: str = "127.0.0.1"
) -> tuple[Config, list[sandbox.RunningSandbox]]:
    running = await sandbox.start_all(names, host=host)
    config = embedded({s.name: (s.base_url, s.credentials) for s in running})
    return config, running
