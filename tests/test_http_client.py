"""The shared upstream client on its own, against a real loopback server."""

from __future__ import annotations

import asyncio
import itertools

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from providers.errors import BadResponse, CircuitOpen, NotSent, ProviderUnavailable
from providers.http import USER_AGENT, HttpClient, UpstreamSettings, counting
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


async def test_every_call_names_the_gateway_as_its_one_user_agent() -> None:
    agents: list[list[str]] = []

    async def thing(request: web.Request) -> web.Response:
        agents.append(request.headers.getall("User-Agent"))
        return web.Response(text="{}")

    app = web.Application()
    app.router.add_get("/thing", thing)
    app.router.add_post("/thing", thing)
    async with TestServer(app) as server:
        client = HttpClient()
        upstream = client.upstream(UpstreamSettings("test", str(server.make_url("")), 5.0, 4))
        await upstream.request("GET", "/thing", headers={"Accept": "application/json"})
        await upstream.request("POST", "/thing", json={"a": 1})
        await client.close()
    assert agents == [[USER_AGENT], [USER_AGENT]]


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


async def test_an_absolute_url_is_asked_at_the_base_urls_origin_only() -> None:
    """A link a provider answered (Akinon's ``next``) may name another host, port or scheme:
    the credentials sent with it must go to the configured provider and nowhere else, so only
    its path and query are taken."""
    seen: dict[str, list[tuple[str, str | None]]] = {"provider": [], "elsewhere": []}

    def recording(name: str) -> web.Application:
        async def handler(request: web.Request) -> web.Response:
            seen[name].append((request.path_qs, request.headers.get("Authorization")))
            return web.Response(text="{}")

        app = web.Application()
        app.router.add_get("/{tail:.*}", handler)
        return app

    async with (
        TestServer(recording("provider")) as provider,
        TestServer(recording("elsewhere")) as elsewhere,
    ):
        client = HttpClient()
        upstream = client.upstream(UpstreamSettings("test", str(provider.make_url("/base")), 5.0))
        secret = {"Authorization": "Bearer secret"}
        for link in (
            str(elsewhere.make_url("/base/list/?page=2&q=a%20b")),
            f"https://127.0.0.1:{provider.port}/base/list/?page=3",
            f"//127.0.0.1:{elsewhere.port}/base/list/?page=4",
        ):
            assert (await upstream.request("GET", link, headers=secret)).status == 200
        with pytest.raises(BadResponse, match="a link that is not a URL"):
            await upstream.request("GET", "http://[::1/base/list/", headers=secret)
        await client.close()
    assert seen == {
        "provider": [
            ("/base/list/?page=2&q=a%20b", "Bearer secret"),
            ("/base/list/?page=3", "Bearer secret"),
            ("/base/list/?page=4", "Bearer secret"),
        ],
        "elsewhere": [],
    }


@pytest.mark.parametrize("status", [503, 504])
async def test_a_get_marked_unsafe_is_sent_once_on_a_5xx(status: int) -> None:
    """A GET that changes state (Lipa Later's acceptContract) may have been applied before the
    5xx: marked ``safe=False`` it is treated like a write, sent once, its answer returned."""
    hits: list[str] = []

    async def failing(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(status=status, text="{}")

    app = web.Application()
    app.router.add_get("/apply", failing)
    async with TestServer(app) as server:
        client = HttpClient()
        upstream = client.upstream(
            UpstreamSettings("test", str(server.make_url("")), 5.0, 4, Policy(backoff_s=0.01))
        )
        unsafe = await upstream.request("GET", "/apply", safe=False)
        assert hits == ["/apply"]
        by_method = await upstream.request("GET", "/apply")  # the default: a GET is retried
        await client.close()
    assert unsafe.status == by_method.status == status
    assert hits == ["/apply"] * (2 + Policy().retries)


async def test_a_get_marked_unsafe_is_not_resent_after_a_dropped_connection() -> None:
    """Nor by aiohttp, which on its own resends a GET once when a kept-alive connection drops:
    the request may have been applied before the connection went."""
    hits: list[str] = []

    async def drops(request: web.Request) -> web.Response:
        hits.append(request.path)
        if hits.count("/read") > 1:  # the read's second try is answered
            return web.Response(text="{}")
        assert request.transport is not None
        request.transport.close()
        raise asyncio.CancelledError

    app = web.Application()
    app.router.add_get("/apply", drops)
    app.router.add_get("/read", drops)
    async with TestServer(app) as server:
        client = HttpClient()
        upstream = client.upstream(
            UpstreamSettings("test", str(server.make_url("")), 5.0, 4, Policy(backoff_s=0.01))
        )
        with pytest.raises(ProviderUnavailable) as failed:
            await upstream.request("GET", "/apply", safe=False)
        assert not isinstance(failed.value, NotSent)
        assert hits == ["/apply"]
        read = await upstream.request("GET", "/read")  # a read is tried again
        await client.close()
    assert read.status == 200
    assert hits == ["/apply", "/read", "/read"]


async def test_counting_counts_the_attempts_that_may_reach_the_provider_and_no_other() -> None:
    """What placeOrder tells "nothing was sent" by: every attempt that got a connection slot
    counts (a retried 503 twice); a body that cannot be encoded and an open circuit none."""
    hits: list[str] = []

    async def flaky(request: web.Request) -> web.Response:
        hits.append(request.method)
        return web.Response(status=503 if len(hits) == 1 else 200, text="{}")

    app = web.Application()
    app.router.add_route("*", "/thing", flaky)
    async with TestServer(app) as server:
        client = HttpClient()
        upstream = client.upstream(
            UpstreamSettings("test", str(server.make_url("")), 5.0, 4, Policy(backoff_s=0.01))
        )
        with counting() as retried:
            answer = await upstream.request("GET", "/thing")
        with counting() as unencodable, pytest.raises(orjson.JSONEncodeError):
            await upstream.request("POST", "/thing", json={"price": 10**30})
        for _ in range(upstream.breaker.threshold):
            upstream.breaker.failure()  # the circuit opens
        with counting() as refused, pytest.raises(CircuitOpen):
            await upstream.request("POST", "/thing", json={})
        await client.close()
    assert answer.status == 200
    assert (retried.attempts, unencodable.attempts, refused.attempts) == (2, 0, 0)
    assert hits == ["GET", "GET"]
