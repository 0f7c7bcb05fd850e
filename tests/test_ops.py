"""Operations over HTTP: /healthz, /readyz, /metrics, the JSON log lines, --workers."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.types import Message

from graph import observe
from graph.app import create_app
from graph.config import DEV_KEY
from graph.embedded import start_sandboxes
from graph.gateway import Gateway as GatewayCore
from graph.logs import JsonFormatter
from graph.metrics import MAX_ENDPOINTS
from providers.http import AFTERWARDS, REQUEST_ID, Afterwards
from providers.model import ProviderName
from providers.sandbox.akinon_data import EXAMPLE_ORDER_NUMBER, PLAN_ORDER_NUMBER
from providers.sandbox.kalixo_data import EXAMPLE_PIN
from tests.harness import Gateway

ONE_ORDER = """
query OneOrder($n: String!) {
  orderByNumber(provider: AKINON, number: $n) { id number items { sku } }
}"""
TWO_ORDERS = f"""
query TwoOrders {{
  a: orderByNumber(provider: AKINON, number: "{EXAMPLE_ORDER_NUMBER}") {{ number }}
  b: orderByNumber(provider: AKINON, number: "{PLAN_ORDER_NUMBER}") {{ number }}
}}"""


def base(gw: Gateway) -> str:
    return gw.url.rsplit("/graphql", 1)[0]


async def get(gw: Gateway, path: str) -> tuple[int, Any]:
    async with gw.session.get(base(gw) + path) as response:
        text = await response.text()
        if response.content_type == "application/json":
            return response.status, json.loads(text)
        return response.status, text


async def scrape(gw: Gateway) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample on /metrics, keyed by name and labels."""
    status, text = await get(gw, "/metrics")
    assert status == 200
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def delta(before: dict[Any, float], after: dict[Any, float], name: str, **labels: str) -> float:
    """How much the samples named ``name`` whose labels include ``labels`` moved."""

    def total(samples: dict[Any, float]) -> float:
        want = set(labels.items())
        return sum(v for (n, ls), v in samples.items() if n == name and want <= ls)

    return total(after) - total(before)


async def test_healthz_needs_no_key_and_says_ok(gateway: Gateway) -> None:
    status, body = await get(gateway, "/healthz")
    assert (status, body["status"]) == (200, "ok")


async def test_readyz_probes_every_configured_provider(gateway: Gateway) -> None:
    status, body = await get(gateway, "/readyz")
    assert status == 200, body
    assert body["status"] == "ready"
    assert set(body["providers"]) == set(gateway.sandboxes)
    for entry in body["providers"].values():
        assert entry["reachable"] is True
        assert entry["circuit"] == "CLOSED"


async def test_concurrent_readyz_requests_share_one_probe(gateway: Gateway) -> None:
    gateway.clear_calls()
    answers = await asyncio.gather(*(get(gateway, "/readyz") for _ in range(20)))
    assert {(status, body["status"]) for status, body in answers} == {(200, "ready")}
    heads = {name: len(gateway.calls(name, method="HEAD")) for name in gateway.sandboxes}
    assert heads == dict.fromkeys(gateway.sandboxes, 1)


async def test_readyz_is_degraded_when_a_provider_is_down_and_stays_fast(
    gateway: Gateway,
) -> None:
    await gateway.sandboxes["kalixo"].close()
    started = time.perf_counter()
    status, body = await get(gateway, "/readyz")
    assert time.perf_counter() - started < 3.0  # bounded by readiness_timeout_s (2 s)
    assert status == 200
    assert body["status"] == "degraded"
    assert body["providers"]["kalixo"]["reachable"] is False
    assert body["providers"]["akinon"]["reachable"] is True


async def test_metrics_count_a_known_query_exactly(gateway: Gateway) -> None:
    await gateway.ok(ONE_ORDER, {"n": EXAMPLE_ORDER_NUMBER})  # warm: login, connections
    gateway.clear_calls()
    before = await scrape(gateway)

    await gateway.ok(ONE_ORDER, {"n": EXAMPLE_ORDER_NUMBER})
    await gateway.ok(TWO_ORDERS)
    answer = await gateway.query("{ nope }")
    assert answer.codes == ["BAD_USER_INPUT"]
    unauthenticated = await gateway.query(ONE_ORDER, {"n": "1"}, key=None)
    assert unauthenticated.status == 401

    after = await scrape(gateway)
    requests = "commerce_graph_requests_total"
    assert delta(before, after, requests, operation="OneOrder", outcome="ok") == 1
    assert delta(before, after, requests, operation="TwoOrders", outcome="ok") == 1
    assert delta(before, after, requests, operation="anonymous", outcome="error") == 1
    assert delta(before, after, requests, outcome="unauthenticated") == 1
    assert delta(before, after, requests) == 4
    latency = "commerce_graph_request_duration_seconds_count"
    assert delta(before, after, latency, operation="OneOrder") == 1

    # Upstream: exactly what the sandbox saw, by endpoint and status.
    akinon_calls = gateway.calls("akinon")
    upstream = "commerce_graph_upstream_requests_total"
    assert delta(before, after, upstream, provider="akinon") == len(akinon_calls) > 0
    assert delta(before, after, upstream, provider="akinon", status="200") == len(akinon_calls)
    assert delta(before, after, upstream, provider="kalixo") == 0
    upstream_latency = "commerce_graph_upstream_duration_seconds_count"
    assert delta(before, after, upstream_latency, provider="akinon") == len(akinon_calls)
    endpoints = {dict(ls)["endpoint"] for (n, ls), v in after.items() if n == upstream}
    assert all("45243493" not in e for e in endpoints), endpoints  # ids are not labels

    # TwoOrders asked for two orders in one tick: one batch of 2.
    batch = "commerce_graph_dataloader_batch_size"
    labels = {"provider": "akinon", "kind": "orders_by_ref"}
    assert delta(before, after, f"{batch}_count", **labels) == 2  # OneOrder's 1, TwoOrders' 2
    assert delta(before, after, f"{batch}_sum", **labels) == 3

    circuits = {
        dict(ls)["provider"]: v
        for (n, ls), v in after.items()
        if n == "commerce_graph_circuit_open"
    }
    assert circuits == {name: 0.0 for name in gateway.sandboxes}


async def test_upstream_endpoint_labels_stay_bounded_whatever_callers_send(
    gateway: Gateway,
) -> None:
    """A path segment a caller chose is a label value unless it is taken for an id: one with a
    capital first or a dot is, but an order number "orderaa" looks like one of the API's own
    words. Each such number was a series of its own, without end; past ``MAX_ENDPOINTS`` a
    provider's endpoints are ``other``, and every call is still counted."""
    by_number = """query($n: String!, $c: String!) {
        orderByNumber(provider: LIPALATER, number: $n, customerId: $c) { number } }"""
    await gateway.query(by_number, {"n": "AbCd", "c": "Cust.A"})
    words = [f"order{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(MAX_ENDPOINTS + 10)]
    for word in words:
        await gateway.query(by_number, {"n": word, "c": word})
    after = await scrape(gateway)

    def endpoints(name: str) -> set[str]:
        return {
            labels["endpoint"]
            for labels in (dict(ls) for (n, ls) in after if n == name)
            if labels["provider"] == "lipalater"
        }

    upstream = "commerce_graph_upstream_requests_total"
    labels = endpoints(upstream)
    assert "GET /open/op/order/{id}/detail/{id}" in labels  # AbCd and Cust.A
    assert "GET /open/op/order/orderaa/detail/orderaa" in labels  # one of the first 50
    assert "other" in labels
    assert len(labels) == MAX_ENDPOINTS + 1
    assert endpoints("commerce_graph_upstream_duration_seconds_count") == labels
    calls = gateway.calls("lipalater")
    assert len(calls) == 1 + 1 + len(words)  # the token, then one read each
    assert delta({}, after, upstream, provider="lipalater") == len(calls)
    # The token's and the templated endpoint, then 48 words: the other 12 calls are "other".
    assert delta({}, after, upstream, provider="lipalater", endpoint="other") == 12


async def test_one_log_line_per_request_listing_its_upstream_calls(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    place = """
    mutation Place($input: PlaceOrderInput!) {
      placeOrder(input: $input) { order { id items { codes { code } } } userErrors { code } }
    }"""
    order = {
        "provider": "KALIXO",
        "externalReference": "log-test-1",
        "currency": "GBP",
        "items": [
            {"productId": "2", "sku": "GB-EN-4251604177278", "unitPrice": "32.99", "quantity": 1}
        ],
    }
    answer = await gateway.query(place, {"input": order}, headers={"X-Request-ID": "req-log-1"})
    assert answer.headers["X-Request-ID"] == "req-log-1"
    assert answer.data["placeOrder"]["userErrors"] == [], answer.body
    pins = [c["code"] for i in answer.data["placeOrder"]["order"]["items"] for c in i["codes"]]
    assert pins
    await gateway.ok(ONE_ORDER, {"n": EXAMPLE_ORDER_NUMBER}, headers={"X-Request-ID": "req-log-2"})

    formatter = JsonFormatter()
    lines = [json.loads(formatter.format(r)) for r in caplog.records]
    requests = [x for x in lines if x["message"] == "graphql request"]
    assert [(x["request_id"], x["operation"]) for x in requests] == [
        ("req-log-1", "Place"),
        ("req-log-2", "OneOrder"),
    ]
    assert requests[1]["outcome"] == "ok"
    assert requests[1]["status"] == 200
    assert requests[1]["providers"] == ["akinon"]
    assert requests[1]["duration_ms"] > 0
    # Each upstream attempt is listed in its request's line, not logged on a line of its own.
    assert not [x for x in lines if x["message"] == "upstream call"]
    mine = requests[1]["upstream"]
    assert [
        (x["provider"], x["method"], x["endpoint"], x["status"], x["attempt"]) for x in mine
    ] == [
        ("akinon", "POST", "/api/i1/auth/login/", 200, 0),
        ("akinon", "GET", "/api/i1/orders/", 200, 0),  # without its query
        ("akinon", "GET", "/api/i1/order-items/", 200, 0),
    ]
    assert all(x["duration_ms"] > 0 for x in mine)
    assert requests[1]["upstream_calls"] == len(mine)
    kalixo = requests[0]["upstream"]
    assert kalixo
    assert {x["provider"] for x in kalixo} == {"kalixo"}
    assert requests[0]["upstream_calls"] == len(kalixo)

    # Never a secret, a token, a PIN or the development key in any line.
    text = "\n".join(formatter.format(r) for r in caplog.records)
    secrets = [DEV_KEY, EXAMPLE_PIN, *pins] + [
        v for s in gateway.sandboxes.values() for v in s.credentials.values() if len(v) > 5
    ]
    for secret in secrets:
        assert secret not in text
    assert "Bearer" not in text
    assert "Authorization" not in text


async def test_a_request_line_lists_so_many_calls_and_logs_the_rest_on_their_own(
    gateway: Gateway, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request's line lists at most ``LISTED`` upstream attempts (a query of 50 aliases
    paging through a provider would write a line of hundreds of kB); any more are logged on
    lines of their own, so that none goes missing."""
    monkeypatch.setattr(observe, "LISTED", 1)
    caplog.set_level(logging.INFO)
    await gateway.ok(ONE_ORDER, {"n": EXAMPLE_ORDER_NUMBER}, headers={"X-Request-ID": "req-many"})
    formatter = JsonFormatter()
    lines = [json.loads(formatter.format(r)) for r in caplog.records]
    [request] = [x for x in lines if x["message"] == "graphql request"]
    listed = [c["endpoint"] for c in request["upstream"]]
    apart = [x for x in lines if x["message"] == "upstream call"]
    assert request["upstream_calls"] == len(listed) + len(apart) >= 2  # noqa: PLR2004
    assert len(listed) == 1
    assert {(x["request_id"], x["operation"]) for x in apart} == {("req-many", "OneOrder")}
    assert "/api/i1/orders/" in listed + [x["endpoint"] for x in apart]
    # The request's line comes first, then the calls it could not list.
    order = [x["message"] for x in lines if x["message"] in ("graphql request", "upstream call")]
    assert order == ["graphql request", *["upstream call"] * len(apart)]


async def test_a_requests_upstream_entries_and_metrics_are_written_once_it_is_answered() -> None:
    """Each upstream call's metrics and its entry in the request's line wait until the caller
    has its answer: at concurrency 1 they stood between the two (graph/observe.py,
    ``Afterwards``). The app is called over raw ASGI, so that its sends and its log lines fall
    in one sequence."""
    config, running = await start_sandboxes(("akinon",))
    app = create_app(config)
    events: list[str] = []

    records: list[logging.LogRecord] = []

    class Noted(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            events.append(record.getMessage())
            records.append(record)

    answered = asyncio.Event()
    asked: list[bool] = []

    async def receive() -> Message:
        if not asked:
            asked.append(True)
            return {"type": "http.request", "body": body, "more_body": False}
        await answered.wait()  # the client stays until its answer is in
        return {"type": "http.disconnect"}

    def counted() -> float:
        """The upstream calls the app's metrics have counted so far."""
        families = app.state.metrics.registry.collect()
        return float(
            sum(
                s.value for f in families for s in f.samples
                if s.name == "commerce_graph_upstream_requests_total"
            )
        )  # fmt: skip

    async def send(message: Message) -> None:
        events.append(f"{message['type']} ({counted():g} upstream calls counted)")
        if message["type"] == "http.response.body":
            answered.set()

    body = json.dumps({"query": ONE_ORDER, "variables": {"n": EXAMPLE_ORDER_NUMBER}}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"authorization", f"Bearer {DEV_KEY}".encode()),
    ]
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/graphql", "raw_path": b"/graphql", "query_string": b"",
        "root_path": "", "headers": headers, "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000), "state": {},
    }  # fmt: skip
    handler, root = Noted(), logging.getLogger()
    root.addHandler(handler)
    level, root.level = root.level, logging.INFO
    try:
        await app(scope, receive, send)
        assert counted() == 3  # the login, the order, its items
    finally:
        root.removeHandler(handler)
        root.level = level
        await app.state.gateway.close()
        for s in running:
            await s.close()
    assert events == [
        "http.response.start (0 upstream calls counted)",
        "http.response.body (0 upstream calls counted)",
        "graphql request",
    ]
    endpoints = [(c["method"], c["endpoint"]) for c in vars(records[-1])["upstream"]]
    assert endpoints == [
        ("POST", "/api/i1/auth/login/"),
        ("GET", "/api/i1/orders/"),
        ("GET", "/api/i1/order-items/"),
    ]


def test_bookkeeping_noted_after_its_request_is_answered_is_done_at_once() -> None:
    """A call that outlives its request (its client left, a shared token's renewal) still logs
    its line: once the request's ``Afterwards`` have run, later work is not kept for them, and
    is told there is no request line to list it in."""
    done: list[tuple[str, object]] = []
    afterwards = Afterwards()
    afterwards.add(lambda calls: done.append(("first", calls)))
    assert done == []
    afterwards.run()
    assert done == [("first", afterwards.calls)]
    afterwards.add(lambda calls: done.append(("late", calls)))
    assert done == [("first", afterwards.calls), ("late", None)]


async def test_a_call_that_outlives_its_request_logs_its_own_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An attempt that ends after its request's line was written (no ``Afterwards`` list to
    join) is logged on an ``upstream call`` line of its own, with the request it served."""
    config, running = await start_sandboxes(("akinon",))
    gateway = GatewayCore(config)
    caplog.set_level(logging.INFO)
    afterwards = Afterwards()
    afterwards.run()  # its request has been answered and logged
    token, request = AFTERWARDS.set(afterwards), REQUEST_ID.set("req-late-1")
    try:
        upstream = gateway.providers[ProviderName.AKINON].up  # type: ignore[attr-defined]
        response = await upstream.request("GET", "/api/i1/orders/", params={"number": "1"})
        assert response.status == 401  # no token: the provider's refusal, logged all the same
    finally:
        AFTERWARDS.reset(token)
        REQUEST_ID.reset(request)
        await gateway.close()
        for s in running:
            await s.close()
    formatter = JsonFormatter()
    [line] = [json.loads(formatter.format(r)) for r in caplog.records]
    assert {k: line[k] for k in ("message", "provider", "method", "endpoint", "status")} == {
        "message": "upstream call",
        "provider": "akinon",
        "method": "GET",
        "endpoint": "/api/i1/orders/",
        "status": 401,
    }
    assert (line["request_id"], line["attempt"]) == ("req-late-1", 0)
    assert afterwards.calls == []


async def test_an_operation_name_that_is_no_graphql_name_is_logged_as_other(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    """The client's ``operationName`` of a document that did not parse was logged as it came:
    a 900 kB line, or a card number."""
    caplog.set_level(logging.INFO)
    names = ["A" * 900, "card 4111111111111111", "Fine_1"]
    for name in names:
        payload = {"query": "{", "operationName": name}
        headers = {"Authorization": f"Bearer {DEV_KEY}"}
        async with gateway.session.post(gateway.url, json=payload, headers=headers) as response:
            assert (await response.json())["errors"][0]["message"].startswith("Syntax Error")
    formatter = JsonFormatter()
    lines = [json.loads(formatter.format(r)) for r in caplog.records]
    logged = [x["operation"] for x in lines if x["message"] == "graphql request"]
    assert logged == ["other", "other", "Fine_1"]
    assert "4111111111111111" not in "".join(formatter.format(r) for r in caplog.records)


async def test_user_errors_are_logged_and_counted_selected_or_not(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    refused = {"provider": "KALIXO", "items": [{"sku": "x", "quantity": 0, "unitPrice": "-1"}]}
    before = await scrape(gateway)
    answer = await gateway.query(
        """mutation Refused($input: PlaceOrderInput!) {
          placeOrder(input: $input) { order { id } userErrors { field code } } }""",
        {"input": refused},
    )
    assert answer.data["placeOrder"]["userErrors"] == [
        {"field": ["input", "items", "0", "quantity"], "code": "BAD_USER_INPUT"},
        {"field": ["input", "items", "0", "unitPrice"], "code": "BAD_USER_INPUT"},
    ]
    # The same refusal, userErrors not asked for: still seen.
    unseen = await gateway.query(
        "mutation Quiet($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id } } }",
        {"input": {**refused, "items": []}},
    )
    assert unseen.data == {"placeOrder": {"order": None}}
    after = await scrape(gateway)

    counted = "commerce_graph_user_errors_total"
    assert delta(before, after, counted, operation="Refused", code="BAD_USER_INPUT") == 2
    assert delta(before, after, counted, operation="Quiet", code="BAD_USER_INPUT") == 1
    assert delta(before, after, counted) == 3
    formatter = JsonFormatter()
    lines = [json.loads(formatter.format(r)) for r in caplog.records]
    requests = [x for x in lines if x["message"] == "graphql request"]
    assert [(x["operation"], x["outcome"], x["user_error_codes"]) for x in requests] == [
        ("Refused", "ok", ["BAD_USER_INPUT"]),
        ("Quiet", "ok", ["BAD_USER_INPUT"]),
    ]
    assert gateway.calls("kalixo", "/orders/") == []  # nothing was sent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]


async def test_serve_with_workers_runs_several_processes_on_one_port() -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "COMMERCE_GRAPH_CONFIG"}
    proc = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "graph.cli", "serve", "--workers", "2", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            deadline = time.monotonic() + 20
            while True:
                try:
                    async with session.get(f"{url}/healthz") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                assert time.monotonic() < deadline, "workers did not come up"
                assert proc.returncode is None, "serve --workers exited"
                await asyncio.sleep(0.1)
            body = {"query": ONE_ORDER, "variables": {"n": EXAMPLE_ORDER_NUMBER}}
            headers = {"Authorization": f"Bearer {DEV_KEY}"}
            for _ in range(4):
                async with session.post(f"{url}/graphql", json=body, headers=headers) as r:
                    answer = await r.json()
                assert answer["data"]["orderByNumber"]["number"] == EXAMPLE_ORDER_NUMBER
        # uvicorn's supervisor and its workers (plus the resource tracker of multiprocessing)
        workers = [c for c in _children(proc.pid) if b"spawn_main" in _cmdline(c)]
        assert len(workers) == 2
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            proc.kill()
            await proc.wait()
        assert proc.stdout is not None
        printed = await proc.stdout.read()
    assert b"2 worker processes" in printed


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


async def test_an_answer_whose_every_field_failed_is_an_error_and_its_lines_carry_the_id(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    """During an outage of the one provider a query asks, ``{"data": {"f": null}}`` was counted
    ``partial``, never reaching an alert on ``error``; its ``graphql error`` line had no request
    id to tie it to the request."""
    caplog.set_level(logging.INFO)
    gateway.faults("akinon").update({"error_rate": 1.0, "error_status": 500})
    before = await scrape(gateway)
    both = """query Both { a: orderByNumber(provider: AKINON, number: "1") { id }
        k: orderByNumber(provider: KALIXO, number: "59400") { id } }"""
    failed = await gateway.query(ONE_ORDER, {"n": "1"}, headers={"X-Request-ID": "req-out-1"})
    partial = await gateway.query(both)
    after = await scrape(gateway)
    assert failed.data == {"orderByNumber": None}
    [code] = failed.codes  # PROVIDER_UNAVAILABLE when the login is what failed
    assert code.startswith("PROVIDER_")
    assert partial.data["k"] is not None
    assert partial.codes == [code]
    requests = "commerce_graph_requests_total"
    assert delta(before, after, requests, operation="OneOrder", outcome="error") == 1
    assert delta(before, after, requests, operation="Both", outcome="partial") == 1

    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records]
    [error] = [
        x for x in lines if x["message"] == "graphql error" and x["request_id"] == "req-out-1"
    ]
    assert (error["code"], error["path"]) == (code, ["orderByNumber"])
    [request] = [
        x for x in lines if x["message"] == "graphql request" and x["request_id"] == "req-out-1"
    ]
    assert request["outcome"] == "error"
