"""``commerce-graph serve --workers N``: N gateway processes on one port.

uvicorn starts workers from an import string, so each worker builds its app with
:func:`app_from_env` from what the parent put in the environment: the config file's path
(``COMMERCE_GRAPH_CONFIG``), or, on the embedded default, the sandboxes' URLs and credentials
(``COMMERCE_GRAPH_EMBEDDED``). The parent starts the sandboxes once, on a thread of its own,
so every worker talks to the same sandboxes and an order placed through one worker can be read
through another.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from starlette.applications import Starlette

from graph import heap, logs
from graph.app import create_app
from graph.config import ENV_VAR, Config, embedded
from graph.embedded import start_sandboxes
from providers.sandbox import RunningSandbox

EMBEDDED_ENV = "COMMERCE_GRAPH_EMBEDDED"
FACTORY = "graph.workers:app_from_env"


def app_from_env() -> Starlette:
    """The app for one worker process (an ASGI factory: ``uvicorn --factory``)."""
    logs.configure()
    given = os.environ.get(EMBEDDED_ENV)
    if given:
        sandboxes = {name: (url, creds) for name, (url, creds) in json.loads(given).items()}
        app = create_app(embedded(sandboxes))
    else:
        config = Config.from_env()
        if config is None:
            raise RuntimeError(f"workers need {ENV_VAR} or {EMBEDDED_ENV} in the environment")
        app = create_app(config)
    heap.settle()
    return app


@contextmanager
def sandboxes_for_workers(host: str = "127.0.0.1") -> Iterator[list[RunningSandbox]]:
    """The embedded sandboxes on a background event loop, their addresses in the environment."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="sandboxes", daemon=True)
    thread.start()
    _, running = asyncio.run_coroutine_threadsafe(start_sandboxes(host=host), loop).result()
    os.environ[EMBEDDED_ENV] = json.dumps({s.name: [s.base_url, s.credentials] for s in running})
    try:
        yield running
    finally:
        os.environ.pop(EMBEDDED_ENV, None)

        async def close() -> None:
            for s in running:
                await s.close()

        asyncio.run_coroutine_threadsafe(close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
