"""``python -m tests.benchmarks.inproc W1``: the gateway's CPU per request, without the server.

The app is called over raw ASGI in this process (no uvicorn, no load generator), with the
sandboxes in their own process, so the figure is the gateway's own CPU per request, and a
change to one part of it shows in seconds rather than in a whole benchmark run. It is what the
seventh round in HISTORY.md measured logging and metrics with. Options: ``--concurrency 64``,
``--requests 6000``, ``--log-level WARNING`` (the lines' cost: compare with INFO),
``--no-metrics`` (the observers' cost), ``--profile FILE`` (cProfile's stats, and the Python
calls per request).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import logging
import os
import pstats
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import uvloop
from starlette.types import ASGIApp, Message

from graph import heap, logs
from graph.app import create_app
from graph.config import DEV_KEY, Config
from tests.benchmarks import procs
from tests.benchmarks.workloads import workloads


@contextlib.asynccontextmanager
async def lifespan(app: ASGIApp) -> AsyncIterator[None]:
    """The app's startup and shutdown, as a server runs them."""
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    started = asyncio.Event()

    async def send(message: Message) -> None:
        if message["type"] == "lifespan.startup.complete":
            started.set()

    await inbox.put({"type": "lifespan.startup"})
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    running = asyncio.ensure_future(app(scope, inbox.get, send))
    await started.wait()
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await running


def caller(app: ASGIApp, body: bytes) -> Any:
    """A coroutine function that POSTs ``body`` to ``/graphql`` and returns its status."""
    headers = [
        (b"host", b"127.0.0.1"),
        (b"content-type", b"application/json"),
        (b"authorization", f"Bearer {DEV_KEY}".encode()),
        (b"content-length", str(len(body)).encode()),
    ]

    async def post() -> int:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "POST", "scheme": "http", "path": "/graphql", "raw_path": b"/graphql",
            "query_string": b"", "root_path": "", "headers": headers,
            "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000), "state": {},
        }  # fmt: skip
        answered = asyncio.Event()
        sent = False
        status = 0

        async def receive() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await answered.wait()  # the client stays until its answer is in
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif not message.get("more_body"):
                answered.set()

        await app(scope, receive, send)
        return status

    return post


async def measure(config: Config, document: str, args: argparse.Namespace) -> dict[str, Any]:
    app = create_app(config)
    if args.no_metrics:
        app.state.gateway.http.observers[:] = []
        app.state.metrics.observe_request = lambda *_: None
    post = caller(app, json.dumps({"query": document}).encode())
    async with lifespan(app):
        heap.settle()  # as a serving process does
        for _ in range(3):  # connections open, caches warm
            statuses = await asyncio.gather(*(post() for _ in range(args.concurrency)))
        if set(statuses) != {200}:
            raise RuntimeError(f"the gateway answered {sorted(set(statuses))}")
        each = max(1, args.requests // args.concurrency)

        async def worker() -> None:
            for _ in range(each):
                await post()

        profile = cProfile.Profile() if args.profile else None
        cpu, wall = time.process_time(), time.perf_counter()
        if profile is not None:
            profile.enable()
        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        if profile is not None:
            profile.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    total = each * args.concurrency
    found: dict[str, Any] = {
        "requests": total,
        "cpu_ms_per_request": round(1000 * cpu / total, 3),
        "rps": round(total / wall, 1),
    }
    if profile is not None:
        profile.dump_stats(args.profile)
        calls = pstats.Stats(profile).total_calls  # type: ignore[attr-defined]
        found["python_calls_per_request"] = round(calls / total, 1)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("workload")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--no-metrics", action="store_true")
    parser.add_argument("--profile")
    args = parser.parse_args(argv)

    sandbox_proc, sandboxes = procs.start_sandboxes(0.0)
    try:
        chosen = {w.name: w for w in workloads(set(sandboxes))[0]}[args.workload]
        path = procs.gateway_config(sandboxes, 0, Path(tempfile.mkdtemp()) / "gateway.toml")
        with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(devnull):
            logs.configure(logging.getLevelName(args.log_level.upper()))
            config = Config.from_env(str(path))
            assert config is not None
            found = uvloop.run(measure(config, chosen.document, args))
    finally:
        sandbox_proc.stop()
    print(json.dumps({"workload": args.workload, **found}))  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
