"""The fault knobs every sandbox shares, over HTTP on their control routes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from providers.sandbox import load
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
        {"error_body": "html"},
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


async def test_error_body_is_shown_set_and_reset_like_the_other_knobs(client: Client) -> None:
    assert (await (await client.get("/_sandbox/faults")).json())["error_body"] == "provider"
    response = await client.put("/_sandbox/faults", json={"error_body": "proxy"})
    assert (await response.json())["error_body"] == "proxy"
    assert (await client.post("/_sandbox/reset-faults")).status == 204
    assert client.app[FAULTS].error_body == "provider"


PURCHASES_PROBLEMS = "https://core-v2-multi-country.herokuapp.com/problems/"
FP_DETAILS = "/api/v1/connect/orders/details/ODR986760186"


@pytest.mark.parametrize(
    ("name", "method", "path", "status", "body"),
    [
        (
            "frontpayment",  # the page's 510
            "GET",
            FP_DETAILS,
            510,
            {
                "status_code": 510,
                "status_message": "Execution Exception Occurred",
                "message": "Something Went Wrong",
                "is_error": True,
                "errors": [],
            },
        ),
        (
            "frontpayment",  # the page's 404, as an unknown order on the details route has
            "GET",
            FP_DETAILS,
            404,
            {
                "status_code": 404,
                "status_message": "Not Found",
                "message": "Order Not Found",
                "is_data": False,
                "data": None,
            },
        ),
        (
            "frontpayment",
            "POST",
            "/api/v1/connect/orders/cancel/ODR986760186",
            404,
            {
                "status_code": 404,
                "status_message": "Not Found",
                "message": "orderNotFound",
                "is_error": True,
                "errors": [],
            },
        ),
        (
            "lipalater",  # the platform's refusal, under the status the knob asks for
            "GET",
            "/open/op/order/100001/detail/1",
            503,
            {"code": 500, "msg": "Service Unavailable", "data": None, "success": False},
        ),
        (
            "lipalater",  # under a 200, as the platform's own refusals come
            "GET",
            "/open/op/order/100001/detail/1",
            200,
            {"code": 500, "msg": "Internal Server Error", "data": None, "success": False},
        ),
        (
            "lipalater",
            "GET",
            "/open/op/order/100001/detail/1",
            401,
            {"code": 500, "msg": "invalid token", "data": None, "success": False},
        ),
        (
            "lipalater",
            "GET",
            "/open/op/platform/token/",
            401,
            {"code": 500, "msg": "No credentials", "data": None, "success": False},
        ),
        (
            "kalixo",
            "GET",
            "/v1/orders/retrieve-order?id=59400",
            500,
            {
                "statusCode": "api_error",
                "message": "Internal server error",
                "error": "Internal Server Error",
            },
        ),
        (
            "kalixo",
            "POST",
            "/v1/auth/login",
            429,
            {
                "statusCode": "api_error",
                "message": "Too Many Requests",
                "error": "Too Many Requests",
            },
        ),
        (
            "lipalater_purchases",
            "GET",
            "/api/v2/purchases/e87a57de-4fe3-447e-bfdf-89b9a1a6cd4f",
            503,
            {
                "type": PURCHASES_PROBLEMS + "service-unavailable",
                "title": "Service Unavailable",
                "status": 503,
                "detail": "Service Unavailable",
            },
        ),
        (
            "lipalater_purchases",  # the token route speaks OAuth
            "POST",
            "/api/v2/oauth/token",
            503,
            {"error": "temporarily_unavailable", "error_description": "Service Unavailable"},
        ),
        ("akinon", "GET", "/api/i1/orders/", 500, {"detail": "A server error occurred."}),
        ("akinon", "GET", "/api/i1/orders/", 429, {"detail": "Request was throttled."}),
    ],
)
async def test_an_injected_error_speaks_the_providers_envelope(
    aiohttp_client: MakeClient, name: str, method: str, path: str, status: int, body: Any
) -> None:
    """Every sandbox answered ``{"detail": "sandbox fault"}``, whatever its provider's envelope;
    ``error_body: "proxy"`` still does, as a proxy in front of the provider would."""
    sandbox = await aiohttp_client(load(name).create_app())
    knobs = {"fail_next": 2, "error_status": status, "retry_after": 7}
    assert (await sandbox.put("/_sandbox/faults", json=knobs)).status == 200
    response = await sandbox.request(method, path)
    assert (response.status, await response.json()) == (status, body)
    assert response.headers["Retry-After"] == "7"

    assert (await sandbox.put("/_sandbox/faults", json={"error_body": "proxy"})).status == 200
    response = await sandbox.request(method, path)
    assert (response.status, await response.json()) == (status, {"detail": "sandbox fault"})
    assert sandbox.app[FAULTS].fail_next == 0


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
