"""Running the real thing for tests: sandboxes on loopback, the gateway under uvicorn."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import uvicorn

from graph.app import create_app
from graph.config import DEV_KEY, Config
from providers.sandbox import RunningSandbox
from providers.sandbox.faults import (
    FAULTS,
    IN_FLIGHT,
    Faults,
    InFlight,
    RecordedRequest,
    clear_requests,
    requests_to,
)


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    headers: Mapping[str, str]

    @property
    def data(self) -> Any:
        return self.body.get("data")

    @property
    def errors(self) -> list[dict[str, Any]]:
        return list(self.body.get("errors") or [])

    @property
    def codes(self) -> list[str]:
        return [e.get("extensions", {}).get("code") for e in self.errors]


@dataclass
class Gateway:
    """A gateway on a loopback port and the sandboxes behind it."""

    url: str
    session: aiohttp.ClientSession
    sandboxes: dict[str, RunningSandbox]
    config: Config
    key: str | None = DEV_KEY
    _server: Any = field(default=None, repr=False)
    app: Any = field(default=None, repr=False)  # the Starlette app, for tests that look inside

    async def query(
        self,
        document: str,
        variables: dict[str, Any] | None = None,
        *,
        key: str | None = "default",
        headers: dict[str, str] | None = None,
    ) -> Answer:
        send = dict(headers or {})
        use = self.key if key == "default" else key
        if use is not None:
            send["Authorization"] = f"Bearer {use}"
        payload: dict[str, Any] = {"query": document}
        if variables is not None:
            payload["variables"] = variables
        async with self.session.post(self.url, json=payload, headers=send) as response:
            body = await response.json(content_type=None)
            return Answer(response.status, body, response.headers.copy())

    async def ok(self, document: str, variables: dict[str, Any] | None = None, **kw: Any) -> Any:
        """The data of an answer that must have no errors."""
        answer = await self.query(document, variables, **kw)
        assert answer.status == 200, answer.body
        assert not answer.errors, answer.errors
        return answer.data

    def faults(self, provider: str) -> Faults:
        return self.sandboxes[provider].app[FAULTS]

    def calls(
        self, provider: str, path_part: str = "", method: str | None = None
    ) -> list[RecordedRequest]:
        return requests_to(self.sandboxes[provider].app, path_part, method)

    def clear_calls(self) -> None:
        for s in self.sandboxes.values():
            clear_requests(s.app)

    def in_flight(self, provider: str) -> InFlight:
        """The provider's requests in flight now, and the most at once since ``clear_calls``."""
        return self.sandboxes[provider].app[IN_FLIGHT]


async def serve(config: Config) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    app = create_app(config)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.005)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, task, f"http://127.0.0.1:{port}"


async def stop(server: uvicorn.Server, task: asyncio.Task[None]) -> None:
    server.should_exit = True
    await task
