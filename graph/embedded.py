"""The embedded default: every sandbox on a loopback port, and a config pointing at them."""

from __future__ import annotations

from graph.config import Config, embedded
from providers import sandbox
from providers.sandbox.faults import Faults


async def start_sandboxes(
    names: tuple[str, ...] = sandbox.SANDBOX_NAMES,
    host: str = "127.0.0.1",
    faults: Faults | None = None,
) -> tuple[Config, list[sandbox.RunningSandbox]]:
    running = []
    for name in names:
        try:
            sandbox.load(name)
        except ModuleNotFoundError:
            continue  # a provider whose sandbox is not written yet is simply not served
        running.append(await sandbox.start(name, host=host, faults=faults))
    config = embedded({s.name: (s.base_url, s.credentials) for s in running})
    return config, running
