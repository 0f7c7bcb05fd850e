"""Every sandbox on a loopback port in one process, with a fixed added latency per request.

``python -m tests.benchmarks.sandboxes --latency-ms 50`` prints one JSON line, ``{name:
{"base_url": ..., "settings": {...}}}``, where ``settings`` is the ``[providers.<name>]``
section that reaches the sandbox with a static token (so no login call ever lands in a
measurement), then serves until killed. The latency can be changed later over each sandbox's
``PUT /_sandbox/faults``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

import uvloop

from providers import sandbox


def static_settings(name: str, module: Any) -> dict[str, str]:
    """The provider section with the sandbox's static token instead of a login flow."""
    settings = dict(module.CREDENTIALS)
    token = getattr(module, "STATIC_TOKEN", None)
    if token:
        for login in ("username", "password", "email", "client_id", "client_secret"):
            settings.pop(login, None)
        settings["token"] = token
    return settings


async def _main(latency_ms: float) -> None:
    running = await sandbox.start_all(latency_s=latency_ms / 1000)
    described = {
        s.name: {"base_url": s.base_url, "settings": static_settings(s.name, sandbox.load(s.name))}
        for s in running
    }
    sys.stdout.write(json.dumps(described) + "\n")
    sys.stdout.flush()
    try:
        await asyncio.Event().wait()
    finally:
        for s in running:
            await s.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    try:
        uvloop.run(_main(args.latency_ms))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
