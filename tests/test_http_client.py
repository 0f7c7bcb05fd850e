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


async def test_an_upstream_cookie_never_rides_along_on_a_later_call() -> None:
    """The session is shared by every caller: a cookie one answer sets (a provider's session,
    say) must not reach the provider again on a call made for someone else."""
    cookies: list[str | None] = []

    async def sets_a_cookie(request: web.Request) -> web.Response:
        cookies.append(request.headers.get("Cookie"))
        response = web.Response(text="{}")
        response.set_cookie("sessionid", "caller-one")
        return response

    app = web.Application()
    app.router.add_get("/thing", sets_a_cookie)
    async with TestServer(app) as server:
        client = HttpClient()
        # By name, as a real provider is: aiohttp keeps no cookies for a bare IP address.
        base = f"http://localhost:{server.port}"
        upstream = client.upstream(UpstreamSettings("test", base, 5.0, 4))
        first = await upstream.request("GET", "/thing")
        second = await upstream.request("GET", "/thing")
        await client.close()
    assert first.headers["Set-Cookie"].startswith("sessionid=caller-one")
    assert second.status == 200
    assert cookies == [None, None]
