"""``commerce-graph``: ``serve`` the gateway, or ``export-schema`` (the SDL of schema.graphql)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from urllib.parse import quote

import uvicorn
from uvicorn.loops.auto import auto_loop_factory

from graph import graphiql, heap, logs, workers
from graph.app import create_app
from graph.apq import PersistedQueries
from graph.config import DEV_KEY, ENV_VAR, Config, ConfigError
from graph.embedded import start_sandboxes
from graph.gateway import Gateway
from graph.schema import sdl
from providers.sandbox import RunningSandbox
from providers.settings import SettingsError


async def _serve(args: argparse.Namespace) -> None:
    config = Config.from_env(args.config)
    running: list[RunningSandbox] = []
    if config is None:
        config, running = await start_sandboxes()
    host = args.host or config.server.host
    port = args.port if args.port is not None else config.server.port
    app = create_app(config)
    heap.settle()
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False)
    )
    if config.embedded:
        _banner(host, port, running)
    try:
        await server.serve()
    finally:
        for s in running:
            await s.close()


def _banner(host: str, port: int, running: list[RunningSandbox], workers: int = 1) -> None:
    # The GraphiQL link carries the development key in its headers editor, ready to run.
    headers = quote(f'{{"Authorization": "Bearer {DEV_KEY}"}}')
    print(  # noqa: T201 - the one thing serve says to a person
        f"Commerce Graph on its embedded default: {len(running)} sandbox providers"
        + (f", {workers} worker processes" if workers > 1 else "")
        + "\n"
        f"  GraphiQL:   http://{host}:{port}/graphql?headers={headers}\n"
        f"  API key:    {DEV_KEY}   (send Authorization: Bearer {DEV_KEY})\n"
        + "".join(f"  sandbox {s.name}: {s.base_url}\n" for s in running),
        flush=True,
    )


def _serve_workers(args: argparse.Namespace) -> None:
    """Several processes on one port (uvicorn's supervisor); see graph/workers.py."""
    config = Config.from_env(args.config)
    if config is not None:
        # Everything a worker builds is built once here first, so a mistake (a provider's
        # setting, the persisted-query file, the idempotency database) fails here, once: in a
        # worker it crashed it, and uvicorn restarted it, forever.
        PersistedQueries.from_config(config.server)
        asyncio.run(Gateway(config).close())
        os.environ[ENV_VAR] = os.path.abspath(args.config or os.environ[ENV_VAR])
    host = args.host or (config.server.host if config else "127.0.0.1")
    port = args.port if args.port is not None else (config.server.port if config else 8000)
    run = dict(
        host=host,
        port=port,
        workers=args.workers,
        factory=True,
        log_config=None,
        access_log=False,
    )
    if config is not None:
        uvicorn.run(workers.FACTORY, **run)
        return
    with workers.sandboxes_for_workers() as running:
        _banner(host, port, running, args.workers)
        uvicorn.run(workers.FACTORY, **run)


def _at_least_one(text: str) -> int:
    """``--workers``: a whole number of processes, 1 or more (0 and -1 served as one)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="commerce-graph", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="start the gateway")
    serve.add_argument(
        "--config",
        help="TOML config file (default: $COMMERCE_GRAPH_CONFIG, else the embedded sandboxes)",
    )
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument(
        "--workers",
        type=_at_least_one,
        default=1,
        help="gateway processes sharing the port (default 1); see README, Running several",
    )
    commands.add_parser("export-schema", help="print the schema as SDL")
    commands.add_parser(
        "vendor-graphiql",
        help="fetch GraphiQL's JS/CSS with npm into graph/static (GraphiQL without a CDN)",
    )
    args = parser.parse_args(argv)

    if args.command == "export-schema":
        sys.stdout.write(sdl())
        return 0
    if args.command == "vendor-graphiql":
        for path in graphiql.vendor():
            print(path)  # noqa: T201
        return 0
    logs.configure()
    try:
        if args.workers > 1:
            _serve_workers(args)
        else:
            # uvicorn's own choice of loop (uvloop, from uvicorn[standard]), as ``uvicorn.run``
            # makes it; plain ``asyncio.run`` would serve on the pure-Python loop.
            with asyncio.Runner(loop_factory=auto_loop_factory()) as runner:
                runner.run(_serve(args))
    except (ConfigError, SettingsError) as exc:
        print(f"commerce-graph: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
