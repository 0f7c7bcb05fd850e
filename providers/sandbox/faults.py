"""What every sandbox shares: the request log and the fault knobs.

Each sandbox is an ``aiohttp.web.Application`` made by :func:`sandbox_app`. Its middleware
records every provider request (method, path, query, body) so tests can assert exact upstream
call counts, then applies the fault knobs before or instead of the real handler:

- ``latency_s``: added before every answer (the benchmark's L);
- ``error_rate`` / ``error_status`` / ``retry_after``: that fraction of requests, chosen by a
  seeded RNG so runs repeat, answered with that status;
- ``fail_next``: the next that many requests answered with ``error_status`` (counted down), so
  a test can fail a first attempt and let its retry through;
- ``error_body``: what those errors say. ``"provider"`` (the default): the provider's own error
  envelope, from the builder its sandbox registered (``sandbox_app(error_body=...)``), under
  the status the knob asks for; ``"proxy"``: a bare ``{"detail": "sandbox fault"}``, as a
  proxy in front of the provider answers (and any sandbox that registered no builder);
- ``hang``: never answer (the client's deadline must fire);
- ``malformed``: a truncated JSON body with status 200;
- ``wrong_shape``: valid JSON of the wrong shape (``[]``);
- ``body``: this JSON instead of the real answer, with status 200 (``{}``, an envelope without
  its data: a shape the page does not show);
- ``answer_status``: the real answer (the handler runs: a write is made) with this status
  instead (a 201 or 202 where the page shows 200);
- ``merge``: the real answer's JSON with this object merged into it, nested objects key by key
  (``{"success": None}``, ``{"data": {"orderNo": "1"}}``: an answer the handler made, changed);
- ``reset``: close the connection without an answer;
- ``drip_s``: send the real body one byte at a time, ``drip_s`` apart.

``only_paths`` limits the faults to paths that contain one of its strings, and
``only_methods`` to requests of one of its methods (a DELETE failing where the GET before it
on the same path does not).

It also counts the provider requests in flight and the most there have been at once
(``app[IN_FLIGHT]``), so tests can see how many calls a client lets through at a time.

Knobs are set in-process (``app[FAULTS].latency_s = 0.05``) or over HTTP on the control routes,
which are never logged nor faulted: ``GET/DELETE /_sandbox/requests`` (a delete also starts the
in-flight peak afresh), ``GET /_sandbox/in-flight``, ``GET/PUT /_sandbox/faults``, ``POST
/_sandbox/reset-faults``. A knob of the wrong type or out of range is refused (400) and changes
nothing; a reset, or a PUT that sets ``error_rate``, starts the RNG afresh from its seed, so the
same requests meet the same errors run after run.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Literal

import orjson
from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# A sandbox's error envelope for an injected fault: (status, request path) -> JSON body.
ErrorBody = Callable[[int, str], Any]

PROXY_BODY = {"detail": "sandbox fault"}

CONTROL_PREFIX = "/_sandbox/"


@dataclass
class Faults:
    """Fault knobs of one sandbox; every field off by default."""

    latency_s: float = 0.0
    error_rate: float = 0.0
    error_status: int = 500
    retry_after: int | None = None
    fail_next: int = 0
    error_body: Literal["provider", "proxy"] = "provider"
    hang: bool = False
    malformed: bool = False
    wrong_shape: bool = False
    reset: bool = False
    drip_s: float = 0.0
    body: Any = None
    answer_status: int | None = None
    merge: dict[str, Any] | None = None
    only_paths: list[str] = field(default_factory=list)
    only_methods: list[str] = field(default_factory=list)

    def applies_to(self, method: str, path: str) -> bool:
        if self.only_methods and method.upper() not in map(str.upper, self.only_methods):
            return False
        return not self.only_paths or any(p in path for p in self.only_paths)

    def update(self, values: dict[str, Any]) -> None:
        """Set the knobs given, each checked first; one bad value sets none of them."""
        names = {f.name for f in dataclasses.fields(self)}
        for key, value in values.items():
            if key not in names:
                raise ValueError(f"unknown fault knob {key!r}")
            if not _KNOB_OK.get(key, _any)(value):
                raise ValueError(f"fault knob {key!r} cannot be {value!r}")
        for key, value in values.items():
            setattr(self, key, value)


def _number(value: Any) -> bool:
    return type(value) in (int, float) and value >= 0


def _flag(value: Any) -> bool:
    return type(value) is bool


def _any(value: Any) -> bool:
    return True


_KNOB_OK: dict[str, Callable[[Any], bool]] = {
    "latency_s": _number,
    "error_rate": lambda v: _number(v) and v <= 1,
    "error_status": lambda v: type(v) is int and 100 <= v <= 599,
    "fail_next": lambda v: type(v) is int and v >= 0,
    "retry_after": lambda v: v is None or (type(v) is int and v >= 0),
    "error_body": lambda v: type(v) is str and v in ("provider", "proxy"),
    "hang": _flag,
    "malformed": _flag,
    "wrong_shape": _flag,
    "reset": _flag,
    "drip_s": _number,
    "answer_status": lambda v: v is None or (type(v) is int and 100 <= v <= 599),
    "merge": lambda v: v is None or type(v) is dict,
    # A string would match character by character ("/" matches every path).
    "only_paths": lambda v: type(v) is list and all(type(p) is str for p in v),
    "only_methods": lambda v: type(v) is list and all(type(m) is str for m in v),
}


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the sandbox saw it (headers are left out: they carry secrets)."""

    method: str
    path: str
    query: dict[str, str]
    body: str


@dataclass
class InFlight:
    """Provider requests being answered now, and the most there have been at once."""

    now: int = 0
    peak: int = 0

    def enter(self) -> None:
        self.now += 1
        self.peak = max(self.peak, self.now)

    def leave(self) -> None:
        self.now -= 1


FAULTS = web.AppKey("faults", Faults)
IN_FLIGHT = web.AppKey("in_flight", InFlight)
REQUESTS = web.AppKey("requests", list[RecordedRequest])
RNG = web.AppKey("rng", random.Random)
SEED = web.AppKey("seed", int)
ERROR_BODY = web.AppKey[ErrorBody]("error_body")


def phrase(status: int) -> str:
    """The status's reason phrase ("Service Unavailable"); "Error" for a code with none."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def requests_to(
    app: web.Application, path_part: str = "", method: str | None = None
) -> list[RecordedRequest]:
    """The recorded requests whose path contains ``path_part`` (and of ``method``, if given)."""
    return [
        r for r in app[REQUESTS] if path_part in r.path and (method is None or r.method == method)
    ]


def encoded(data: Any) -> bytes:
    """JSON by orjson (stdlib json took a quarter of the sandboxes' CPU serving pages of
    orders), or by json for what orjson refuses: integers beyond 64 bits, which tests seed."""
    try:
        return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return json.dumps(data).encode()


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=encoded(data),
        status=status,
        content_type="application/json",
        headers=headers,
    )


@web.middleware
async def _fault_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(CONTROL_PREFIX):
        return await handler(request)
    # body_exists, not can_read_body: a sandbox's own middleware may have read it already
    # (Lipa Later's Sign check), and aiohttp keeps what was read.
    body = await request.text() if request.body_exists else ""
    request.app[REQUESTS].append(
        RecordedRequest(request.method, request.path, dict(request.query), body)
    )
    in_flight = request.app[IN_FLIGHT]
    in_flight.enter()
    try:
        return await _faulted(request, handler)
    finally:
        in_flight.leave()


async def _faulted(request: web.Request, handler: Handler) -> web.StreamResponse:
    faults = request.app[FAULTS]
    if not faults.applies_to(request.method, request.path):
        return await handler(request)
    if faults.latency_s:
        await asyncio.sleep(faults.latency_s)
    if faults.hang:
        await asyncio.sleep(3600)
    if faults.reset:
        if request.transport is not None:
            request.transport.close()
        raise asyncio.CancelledError
    if faults.fail_next > 0:
        faults.fail_next -= 1
        return _error(request, faults)
    if faults.error_rate and request.app[RNG].random() < faults.error_rate:
        return _error(request, faults)
    if faults.malformed:
        return web.Response(body=b'{"truncated": [1, 2', content_type="application/json")
    if faults.wrong_shape:
        return json_response([])
    if faults.body is not None:
        return json_response(faults.body)
    response = await handler(request)
    if faults.answer_status is not None or faults.merge is not None:
        response = _changed(response, faults)
    if faults.drip_s and isinstance(response, web.Response) and response.body:
        return await _drip(request, response, faults.drip_s)
    return response


def _changed(response: web.StreamResponse, faults: Faults) -> web.StreamResponse:
    """The handler's answer with ``answer_status`` and ``merge`` applied."""
    if not isinstance(response, web.Response) or not isinstance(response.body, bytes):
        return response
    body = response.body
    if faults.merge is not None:
        body = json.dumps(_merged(json.loads(body), faults.merge)).encode()
    status = response.status if faults.answer_status is None else faults.answer_status
    kept = {k: v for k, v in response.headers.items() if k.lower() not in _REWRITTEN_HEADERS}
    return web.Response(body=body, status=status, headers=kept, content_type=response.content_type)


_REWRITTEN_HEADERS = frozenset({"content-length", "content-type"})


def _merged(value: Any, changes: dict[str, Any]) -> Any:
    if not isinstance(value, dict):
        return changes
    merged = dict(value)
    for key, change in changes.items():
        merged[key] = _merged(merged.get(key), change) if type(change) is dict else change
    return merged


def _error(request: web.Request, faults: Faults) -> web.Response:
    headers = {"Retry-After": str(faults.retry_after)} if faults.retry_after is not None else {}
    build = request.app.get(ERROR_BODY)
    if faults.error_body == "provider" and build is not None:
        body = build(faults.error_status, request.path)
    else:
        body = PROXY_BODY
    return json_response(body, faults.error_status, headers)


async def _drip(request: web.Request, response: web.Response, delay: float) -> web.StreamResponse:
    body = response.body
    assert isinstance(body, bytes)
    stream = web.StreamResponse(status=response.status, headers=response.headers)
    stream.content_length = len(body)
    await stream.prepare(request)
    for i in range(len(body)):
        await stream.write(body[i : i + 1])
        await asyncio.sleep(delay)
    await stream.write_eof()
    return stream


async def _get_requests(request: web.Request) -> web.Response:
    return json_response([dataclasses.asdict(r) for r in request.app[REQUESTS]])


def clear_requests(app: web.Application) -> None:
    """Forget the recorded requests, and start the in-flight peak afresh."""
    app[REQUESTS].clear()
    in_flight = app[IN_FLIGHT]
    in_flight.peak = in_flight.now


async def _clear_requests(request: web.Request) -> web.Response:
    clear_requests(request.app)
    return web.Response(status=204)


async def _get_in_flight(request: web.Request) -> web.Response:
    return json_response(dataclasses.asdict(request.app[IN_FLIGHT]))


async def _get_faults(request: web.Request) -> web.Response:
    return json_response(dataclasses.asdict(request.app[FAULTS]))


async def _put_faults(request: web.Request) -> web.Response:
    try:
        values = await request.json()
        if not isinstance(values, dict):
            raise ValueError("faults are an object of knobs")
        request.app[FAULTS].update(values)
    except (ValueError, TypeError) as exc:
        return json_response({"detail": str(exc)}, 400)
    if "error_rate" in values:
        request.app[RNG].seed(request.app[SEED])
    return json_response(dataclasses.asdict(request.app[FAULTS]))


async def _reset_faults(request: web.Request) -> web.Response:
    request.app[FAULTS].update(dataclasses.asdict(Faults()))
    request.app[RNG].seed(request.app[SEED])
    return web.Response(status=204)


def sandbox_app(
    faults: Faults | None = None, seed: int = 0, *, error_body: ErrorBody | None = None
) -> web.Application:
    """A bare sandbox application with the request log, the fault knobs and control routes;
    ``error_body`` builds the provider's envelope for an injected error (``Faults.error_body``).
    """
    app = web.Application(middlewares=[_fault_middleware])
    if error_body is not None:
        app[ERROR_BODY] = error_body
    app[FAULTS] = faults or Faults()
    app[REQUESTS] = []
    app[IN_FLIGHT] = InFlight()
    app[RNG] = random.Random(seed)
    app[SEED] = seed
    app.router.add_get(CONTROL_PREFIX + "requests", _get_requests)
    app.router.add_delete(CONTROL_PREFIX + "requests", _clear_requests)
    app.router.add_get(CONTROL_PREFIX + "in-flight", _get_in_flight)
    app.router.add_get(CONTROL_PREFIX + "faults", _get_faults)
    app.router.add_put(CONTROL_PREFIX + "faults", _put_faults)
    app.router.add_post(CONTROL_PREFIX + "reset-faults", _reset_faults)
    return app
