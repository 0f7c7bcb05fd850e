"""placeOrder never creates two upstream orders for one idempotency key (or reference).

Kalixo is the provider here: it places orders, refuses a second order under one
externalOrderCode (so a create sent again cannot buy twice) but cannot be asked for an order by
it, and its sandbox keeps every order it placed, so the tests count orders where they land.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from graph.embedded import start_sandboxes
from providers.model import ProviderName
from providers.registry import connector_built
from tests.conftest import gateway_with, started
from tests.harness import Gateway

pytestmark = pytest.mark.skipif(
    not connector_built(ProviderName.KALIXO), reason="the Kalixo connector is not built yet"
)

PLACE = """
mutation($in: PlaceOrderInput!) {
  placeOrder(input: $in) {
    order { id number externalReference }
    userErrors { field message code }
  }
}"""
READ = '{ orderByNumber(provider: KALIXO, number: "59400") { number } }'
ITEMS = [
    {"productId": "2", "sku": "GB-EN-4251604177278", "unitPrice": "32.99", "quantity": 1},
    {"productId": "6", "sku": "GB-EN-4251604133182", "unitPrice": "8.39", "quantity": 1},
]


def new_order(ref: str, key: str | None = None, items: list[Any] | None = None) -> Any:
    fields = {"provider": "KALIXO", "externalReference": ref, "currency": "GBP"}
    return {"in": fields | {"items": items or ITEMS, "idempotencyKey": key}}


def placed_refs(gw: Gateway) -> Counter[str]:
    """Orders per reference, as the Kalixo sandbox holds them."""
    from providers.sandbox.kalixo import STATE

    return Counter(o.external_code for o in gw.sandboxes["kalixo"].app[STATE].orders.values())


def payload(data: Any) -> tuple[Any, list[str]]:
    answer = data["placeOrder"]
    return answer["order"], [e["code"] for e in answer["userErrors"]]


@asynccontextmanager
async def kalixo(**section: Any) -> AsyncIterator[Gateway]:
    async with gateway_with({"kalixo": section}, names=("kalixo",)) as gw:
        await gw.ok(READ)  # log in before any fault
        gw.clear_calls()
        yield gw


async def test_a_retry_after_success_answers_the_first_order_without_a_create() -> None:
    async with kalixo() as gw:
        first, errors = payload(await gw.ok(PLACE, new_order("I-ONE", "key-1")))
        assert errors == []
        again, errors = payload(await gw.ok(PLACE, new_order("I-ONE", "key-1")))
        assert errors == []
        assert again["id"] == first["id"]
        assert len(gw.calls("kalixo", "place-order")) == 1
        assert placed_refs(gw)["I-ONE"] == 1


async def test_the_same_key_with_another_input_is_a_conflict() -> None:
    async with kalixo() as gw:
        await gw.ok(PLACE, new_order("I-TWO", "key-2"))
        other = [{"productId": "1", "sku": "GB-EN-4251604177261", "unitPrice": "10.99"}]
        order, errors = payload(await gw.ok(PLACE, new_order("I-TWO", "key-2", other)))
        assert order is None
        assert errors == ["IDEMPOTENCY_CONFLICT"]
        assert len(gw.calls("kalixo", "place-order")) == 1


async def test_many_concurrent_identical_calls_with_create_timeouts_make_one_order_per_key() -> (
    None
):
    async with kalixo(timeout_s=0.4) as gw:
        faults = gw.faults("kalixo")
        # Every create lands, but only after the gateway stopped waiting for its answer.
        faults.latency_s, faults.only_paths = 0.6, ["place-order"]
        keys = [f"dup-{n}" for n in range(3)]
        calls = [gw.ok(PLACE, new_order(f"REF-{key}", key)) for key in keys for _ in range(8)]
        started_at = time.perf_counter()
        answers = [payload(a) for a in await asyncio.gather(*calls)]
        # Each key's 8 calls share one create (waiters in this process), bounded in time.
        assert time.perf_counter() - started_at < 8
        for order, errors in answers:
            assert (order is not None and errors == []) or errors == ["OUTCOME_UNKNOWN"]
        # At most the connector's own create + one retry after a lookup, per key; never 8.
        assert len(gw.calls("kalixo", "place-order")) <= 2 * len(keys)

        faults.latency_s = 0.0
        await asyncio.sleep(0.7)  # the delayed creates land
        creates = len(gw.calls("kalixo", "place-order"))
        for key, (first, _) in zip(keys, answers[::8], strict=True):
            order, errors = payload(await gw.ok(PLACE, new_order(f"REF-{key}", key)))
            if first is None:  # unknown: Kalixo cannot be asked by reference, nothing is sent
                assert errors == ["OUTCOME_UNKNOWN"]
            else:
                assert errors == []
                assert order["externalReference"] == f"REF-{key}"
        assert len(gw.calls("kalixo", "place-order")) == creates
        refs = placed_refs(gw)
        assert [refs[f"REF-{key}"] for key in keys] == [1, 1, 1]


async def test_an_unknown_outcome_is_never_sent_again_blindly() -> None:
    async with kalixo(timeout_s=0.3) as gw:
        faults = gw.faults("kalixo")
        faults.latency_s, faults.only_paths = 0.5, ["/v1/orders/"]  # create and lookup slow
        order, errors = payload(await gw.ok(PLACE, new_order("I-LIMBO", "key-limbo")))
        assert order is None
        assert errors == ["OUTCOME_UNKNOWN"]
        creates = len(gw.calls("kalixo", "place-order"))

        faults.latency_s = 0.0
        await asyncio.sleep(0.4)
        gw.clear_calls()
        order, errors = payload(await gw.ok(PLACE, new_order("I-LIMBO", "key-limbo")))
        # Kalixo cannot be asked for an order by its reference: still unknown, nothing sent.
        assert order is None
        assert errors == ["OUTCOME_UNKNOWN"]
        assert gw.calls("kalixo") == []
        assert creates >= 1
        assert placed_refs(gw)["I-LIMBO"] == 1


async def test_another_process_running_the_key_answers_in_progress(tmp_path: Path) -> None:
    """Two gateways sharing one SQLite store: the second sees the first's create running."""
    config, running = await start_sandboxes(names=("kalixo",))
    config.server.extra["idempotency_db"] = str(tmp_path / "idempotency.sqlite3")
    config.providers["kalixo"]["timeout_s"] = 3
    sandboxes = {s.name: s for s in running}
    try:
        async with started(config, sandboxes) as one, started(config, sandboxes) as two:
            await one.ok(READ)
            await two.ok(READ)
            one.faults("kalixo").latency_s = 0.8
            one.faults("kalixo").only_paths = ["place-order"]
            first = asyncio.create_task(one.ok(PLACE, new_order("I-SHARED", "key-shared")))
            await asyncio.sleep(0.3)
            order, errors = payload(await two.ok(PLACE, new_order("I-SHARED", "key-shared")))
            assert order is None
            assert errors == ["IDEMPOTENCY_IN_PROGRESS"]
            placed, errors = payload(await first)
            assert errors == []
            again, errors = payload(await two.ok(PLACE, new_order("I-SHARED", "key-shared")))
            assert errors == []
            assert again["id"] == placed["id"]
            assert placed_refs(one)["I-SHARED"] == 1
    finally:
        for s in running:
            await s.close()
