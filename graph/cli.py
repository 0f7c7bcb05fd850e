"""``commerce-graph``: ``serve`` the gateway, or ``export-schema`` (the SDL of schema.graphql)."""

from __future__ import annotations

import argparse
import asyncio
import sys

import uvicorn

from graph import logs
from graph.app import create_app
from graph.config import DEV_KEY, Config, ConfigError
from graph.embedded import start_sandboxes
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
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False)
    )
    if config.embedded:
        print(  # noqa: T201 - the one thing serve says to a person
            f"Commerce Graph on its embedded default: {len(running)} sandbox providers\n"
            f"  GraphiQL:   http://{host}:{port}/graphql\n"
            f"  API key:    {DEV_KEY}   (send Authorization: Bearer {DEV_KEY})\n"
            + "".join(f"  sandbox {s.name}: {s.base_url}\n" for s in running),
            flush=True,
        )
    try:
        await server.serve()
    finally:
        for s in running:
            await s.close()


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
    commands.add_parser("export-schema", help="print the schema as SDL")
    args = parser.parse_args(argv)

    if args.command == "export-schema":
        sys.stdout.write(sdl())
        return 0
    logs.configure()
    try:
        asyncio.run(_serve(args))
    except (ConfigError, SettingsError) as exc:
        print(f"commerce-graph: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
