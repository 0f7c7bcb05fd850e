"""The fault knobs every sandbox shares, over HTTP on their control routes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from providers.sandbox.faults import FAULTS, Faults
from providers.sandbox.frontpayment import STATIC_TOKEN, create_app
from providers.sandbox.frontpayment_data import EXAMPLE_UUID

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[[web.Application], Awaitable[Client]]

DETAILS = f"/api/v1/connect/orders/details/{EXAMPLE_UUID}"
AUTH = {"Authorization": f"Bearer {STATIC_TOKEN}"}


@pytest.fixture
async def client(aiohttp_client: MakeClient) -> Client:
    return await aiohttp_client(create_app())


async def statuses(client: Client, count: int) -> list[int]:
    return [(await client.get(DETAILS, headers=AUTH)).status for _ in range(count)]


@pytest.mark.parametrize(
    "knobs",
    [
        {"error_rate": "0.5"},  # every request answered a plain-text 500
        {"error_rate": 2},
        {"latency_s": "1"},
        {"error_status": 42},
        {"hang": 1},
        {"only_paths": "/zzz"},  # matched character by character: "/" matched every path
        {"latency_s": 0.5, "retry_after": -1},  # one bad value sets none of them
        {"no_such_knob": True},
        {"answer_status": 700},
        {"merge": ["success", None]},
    ],
)
async def test_a_knob_of_the_wrong_type_or_range_is_refused(
    client: Client, knobs: dict[str, Any]
) -> None:
    response = await client.put("/_sandbox/faults", json=knobs)
    assert response.status == 400
    assert client.app[FAULTS] == Faults()
    assert await statuses(client, 3) == [200, 200, 200]


async def test_an_error_rate_meets_the_same_requests_run_after_run(client: Client) -> None:
    """The RNG was seeded once, at start: after a reset the same run met other errors."""
    runs = []
    for _ in range(3):
        assert (await client.put("/_sandbox/faults", json={"error_rate": 0.5})).status == 200
        runs.append(await statuses(client, 12))
        assert (await client.post("/_sandbox/reset-faults")).status == 204
    assert runs[0] == runs[1] == runs[2]
    assert set(runs[0]) == {200, 500}


async def test_the_body_knob_answers_its_json_instead(client: Client) -> None:
    assert (await client.put("/_sandbox/faults", json={"body": {}})).status == 200
    response = await client.get(DETAILS, headers=AUTH)
    assert (response.status, await response.json()) == (200, {})
    assert (await client.post("/_sandbox/reset-faults")).status == 204
    assert (await (await client.get(DETAILS, headers=AUTH)).json())["data"]["orderUuid"]


async def test_answer_status_and_merge_change_the_real_answer(client: Client) -> None:
    """The handler runs (a write is made); its answer goes out with another status, and with
    the merged values in place of its own, nested objects merged key by key."""
    real = await (await client.get(DETAILS, headers=AUTH)).json()
    knobs = {"answer_status": 202, "merge": {"is_data": None, "data": {"orderUuid": "other"}}}
    assert (await client.put("/_sandbox/faults", json=knobs)).status == 200
    response = await client.get(DETAILS, headers=AUTH)
    changed = await response.json()
    assert response.status == 202
    assert changed["is_data"] is None
    assert changed["data"] == real["data"] | {"orderUuid": "other"}
    assert changed["status_code"] == real["status_code"]
