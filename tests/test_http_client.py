"""The shared upstream client on its own, against a real loopback server."""

from __future__ import annotations

import itertools

from aiohttp import web
from aiohttp.test_utils import TestServer

from providers.http import HttpClient, UpstreamSettings
from providers.resilience import Policy


async def test_a_retried_get_carries_fresh_headers_from_the_factory() -> None:
    seen: list[str] = []

    async def flaky(request: web.Request) -> web.Response:
        seen.append(request.headers["Noncestr"])
        return web.Response(status=503 if len(seen) == 1 else 200, text="{}")

    app = web.Application()
    app.router.add_get("/thing", flaky)
    nonces = (f"nonce-{i}" for i in itertools.count())
    async with TestServer(app) as server:
        client = HttpClient()
        upstream = client.upstream(
            UpstreamSettings("test", str(server.make_url("")), 5.0, 4, Policy(backoff_s=0.01))
        )
        response = await upstream.request(
            "GET", "/thing", headers=lambda: {"Noncestr": next(nonces)}
        )
        await client.close()
    assert response.status == 200
    assert seen == ["nonce-0", "nonce-1"]
