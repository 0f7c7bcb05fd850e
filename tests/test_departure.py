"""A client that leaves: its query is cancelled with the upstream calls made for it, while a
mutation runs to its end (graph/departure.py)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest

from graph.logs import JsonFormatter
from providers.sandbox import frontpayment_data as fp_data
from providers.sandbox.akinon_data import EXAMPLE_ORDER_NUMBER
from tests.conftest import gateway_with
from tests.harness import Gateway
from tests.test_frontpayment import CANCEL, STATUS_ONLY, order_id

ONE_ORDER = """query One($n: String!) {
    orderByNumber(provider: AKINON, number: $n) { number } }"""
WITH_ITEMS = """query Items { orders(filter: {provider: AKINON}, first: 2) {
    edges { node { number items { id } } } } }"""
FOUND = {"orderByNumber": {"number": EXAMPLE_ORDER_NUMBER}}
SLOW_S = 5.0  # each Akinon answer's latency: far longer than the tests wait


def lines(caplog: pytest.LogCaptureFixture, message: str) -> list[dict[str, Any]]:
    formatter = JsonFormatter()
    found = [json.loads(formatter.format(r)) for r in caplog.records]
    return [x for x in found if x["message"] == message]


def upstream_calls(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """Every upstream attempt logged so far: those its request's line lists, then those that
    ended after that line was written, each on an ``upstream call`` line of its own."""
    listed = [c for r in lines(caplog, "graphql request") for c in r["upstream"]]
    return listed + lines(caplog, "upstream call")


async def until(check: Callable[[], Any], within_s: float = 2.0) -> Any:
    """``check()``'s first truthy answer, polled until ``within_s`` has passed."""
    end = time.monotonic() + within_s
    while not (found := check()):
        assert time.monotonic() < end, "not within the time allowed"
        await asyncio.sleep(0.01)
    return found


async def signed_in(gateway: Gateway, caplog: pytest.LogCaptureFixture) -> None:
    """The gateway holds Akinon's token (a token fetch is shielded from its first asker
    leaving: others may be waiting for it), and nothing is logged yet."""
    assert await gateway.ok(ONE_ORDER, {"n": EXAMPLE_ORDER_NUMBER}) == FOUND
    caplog.clear()


async def leave_while(
    gateway: Gateway, asking: Callable[[], bool], document: str, **kw: Any
) -> None:
    """Send ``document`` and leave (close the connection) once ``asking()`` is true."""
    client = asyncio.ensure_future(gateway.query(document, **kw))
    await until(asking)
    client.cancel()  # aiohttp closes the connection of a request given up
    with pytest.raises(asyncio.CancelledError):
        await client


async def test_a_query_whose_client_leaves_is_cancelled_with_its_upstream_call(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with gateway_with(names=("akinon",)) as gw:
        await signed_in(gw, caplog)
        gw.faults("akinon").latency_s = SLOW_S
        left = time.monotonic()
        await leave_while(
            gw, lambda: gw.in_flight("akinon").now > 0, ONE_ORDER, variables={"n": "1"}
        )
        [request] = await until(lambda: lines(caplog, "graphql request"))
        # Logged as soon as the client left, not once the provider answered 5 s later.
        assert time.monotonic() - left < SLOW_S / 2
        assert (request["operation"], request["outcome"], request["status"]) == (
            "One",
            "abandoned",
            499,
        )
        [call] = await until(lambda: upstream_calls(caplog))
        assert (call["provider"], call["status"]) == ("akinon", "cancelled")
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]  # no traceback
        view = gw.app.state.view
        assert view.schema.pipeline.budget.used == 0  # its admission is handed back

        # The gateway answers the next caller as before.
        gw.faults("akinon").latency_s = 0
        assert await gw.ok(ONE_ORDER, {"n": EXAMPLE_ORDER_NUMBER}) == FOUND


async def test_the_batches_its_loaders_had_under_way_are_cancelled_too(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with gateway_with(names=("akinon",)) as gw:
        await signed_in(gw, caplog)
        faults = gw.faults("akinon")
        faults.latency_s, faults.only_paths = SLOW_S, ["/order-items/"]
        await leave_while(gw, lambda: bool(gw.calls("akinon", "/order-items/")), WITH_ITEMS)
        [request] = await until(lambda: lines(caplog, "graphql request"))
        assert (request["outcome"], request["status"]) == ("abandoned", 499)
        await until(lambda: len(upstream_calls(caplog)) == 2)  # the batch's, cancelled
        calls = [(c["endpoint"], c["status"]) for c in upstream_calls(caplog)]
        assert calls == [("/api/i1/orders/", 200), ("/api/i1/order-items/", "cancelled")]


async def test_a_mutation_whose_client_leaves_runs_to_its_end(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with gateway_with(names=("frontpayment",)) as gw:
        gw.faults("frontpayment").latency_s = 0.5
        sent = order_id(fp_data.SENT_UUID)
        await leave_while(
            gw,
            lambda: gw.in_flight("frontpayment").now > 0,
            CANCEL,
            variables={"id": sent, "reason": "Wrong size"},
        )
        [request] = await until(lambda: lines(caplog, "graphql request"), within_s=5)
        assert (request["outcome"], request["status"]) == ("ok", 200)
        methods = [c.method for c in gw.calls("frontpayment")]
        assert methods == ["POST", "GET"]  # the cancel, then its re-read
        gw.faults("frontpayment").latency_s = 0
        found = await gw.ok(STATUS_ONLY, {"number": fp_data.SENT_UUID})
        assert found["orderByNumber"]["status"] == "CANCELLED"
