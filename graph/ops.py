"""Routes for the people who run the gateway: ``/healthz``, ``/readyz``, ``/metrics``.

None needs an API key (a load balancer or Prometheus has none); none shows a secret or a
provider's answer. Keep them off the public internet all the same (see the README).

- ``/healthz``: the process is up and serving. Always 200.
- ``/readyz``: each configured provider probed once, concurrently, bounded by
  ``[server].readiness_timeout_s`` (default 2 s), plus its circuit state from
  ``Gateway.health``. 200 ``ready`` when all are reachable with closed circuits, 200
  ``degraded`` when some are not (partial answers still serve the others, and taking every
  instance out of rotation would not bring a provider back), 503 ``unavailable`` when none is
  (every one unreachable or with its circuit open). Requests that arrive while a probe is under
  way share it: a flood of ``/readyz`` opens one connection per provider, not one per request
  (probes go around the providers' caps, and the pool has no limit of its own).
- ``/metrics``: the app's Prometheus registry, text format.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from graph.gateway import Gateway
from graph.metrics import CONTENT_TYPE, Metrics
from providers.model import ProviderName

DEFAULT_READINESS_TIMEOUT_S = 2.0


async def probe(gateway: Gateway, name: ProviderName, timeout_s: float) -> dict[str, Any]:
    """One provider: reachable (any HTTP answer to a HEAD of its base URL) and its circuit.

    A HEAD of the base URL needs no credentials and costs the provider nothing; any status,
    even 404, proves DNS, TCP and TLS work, which is what readiness is about.
    """
    health = gateway.health(name)
    base_url = gateway.providers[name].public_settings().get("base_url")
    entry: dict[str, Any] = {"status": health.status, "circuit": health.circuit}
    if not base_url:
        entry["reachable"] = None
        return entry
    started = time.perf_counter()
    try:
        async with gateway.http.session.head(
            base_url,
            timeout=aiohttp.ClientTimeout(total=timeout_s),
            allow_redirects=False,
        ) as response:
            entry["reachable"] = True
            entry["httpStatus"] = response.status
    except TimeoutError:
        entry["reachable"], entry["error"] = False, f"no answer within {timeout_s:g} s"
    except aiohttp.ClientError as exc:
        entry["reachable"], entry["error"] = False, type(exc).__name__
    entry["latencyMs"] = round((time.perf_counter() - started) * 1000, 1)
    return entry


def routes(gateway: Gateway, metrics: Metrics) -> list[Route]:
    timeout_s = float(
        gateway.config.server.extra.get("readiness_timeout_s", DEFAULT_READINESS_TIMEOUT_S)
    )

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    under_way: asyncio.Future[list[dict[str, Any]]] | None = None

    async def probe_all() -> list[dict[str, Any]]:
        return await asyncio.gather(*(probe(gateway, n, timeout_s) for n in gateway.providers))

    def probed(done: asyncio.Future[list[dict[str, Any]]]) -> None:
        nonlocal under_way
        under_way = None
        if not done.cancelled():
            done.exception()  # retrieved: a caller that gave up leaves no "never retrieved"

    async def readyz(request: Request) -> Response:
        nonlocal under_way
        if under_way is None:
            under_way = asyncio.ensure_future(probe_all())
            under_way.add_done_callback(probed)
        names = list(gateway.providers)
        # shield: a caller that goes away does not cancel the probe the others wait for
        entries = await asyncio.shield(under_way)
        providers = {n.value: e for n, e in zip(names, entries, strict=True)}
        good = [e["reachable"] is not False and e["circuit"] != "OPEN" for e in entries]
        if all(good):
            status, code = "ready", 200
        elif any(good):
            status, code = "degraded", 200
        else:
            status, code = "unavailable", 503
        return JSONResponse({"status": status, "providers": providers}, status_code=code)

    async def metrics_route(request: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    return [
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route("/readyz", readyz, methods=["GET", "HEAD"]),
        Route("/metrics", metrics_route, methods=["GET"]),
    ]
