"""Direct HTTP tests of the Kalixo sandbox."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from providers.sandbox.faults import FAULTS, requests_to
from providers.sandbox.kalixo import CREDENTIALS, STATE, STATIC_TOKEN, create_app
from providers.sandbox.kalixo_data import (
    CATALOGUE,
    ERROR_PRODUCT_ID,
    EXAMPLE_ORDER_ID,
    EXAMPLE_PIN,
    FAILING_PRODUCT_ID,
    NEXT_ORDER_ID,
    SEEDED_IDS,
)

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[[web.Application], Awaitable[Client]]

LOGIN = "/v1/auth/login"
REFRESH = "/v1/auth/refresh"
PLACE = "/v1/orders/place-order"
RETRIEVE = "/v1/orders/retrieve-order"
PIN_FORMAT = re.compile(r"^[A-Z0-9]{5}(-[A-Z0-9]{5}){4}$")

# The page's place-order example body, verbatim (its price 4398 is not 3299 + 839).
EXAMPLE_BODY: dict[str, Any] = {
    "externalOrderCode": "O-12345",
    "price": 4398,
    "currency": "GBP",
    "orderProducts": [
        {
            "productId": 2,
            "price": 3299,
            "sku": "GB-EN-4251604177278",
            "currency": "GBP",
            "quantity": 1,
        },
        {
            "productId": 6,
            "price": 839,
            "sku": "GB-EN-4251604133182",
            "currency": "GBP",
            "quantity": 1,
        },
    ],
}
STATIC = {"Authorization": f"Bearer {STATIC_TOKEN}"}
EXAMPLE_QUERY = {"id": "59400"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def order_body(code: str, *product_ids: int, quantity: int = 1) -> dict[str, Any]:
    """One line of each product at its catalogue sku and price (made up for one not in it)."""
    lines: list[dict[str, Any]] = []
    for pid in product_ids:
        known = CATALOGUE.get(pid)
        price, sku = (known.price, known.sku) if known else (100, f"GB-EN-{pid}")
        lines.append(
            {"productId": pid, "price": price, "sku": sku, "currency": "GBP", "quantity": quantity}
        )
    price = sum(line["price"] * quantity for line in lines)
    return {"externalOrderCode": code, "price": price, "currency": "GBP", "orderProducts": lines}


def example_with(**line: Any) -> dict[str, Any]:
    """The page's example body, its first line (product 2) changed by ``line``."""
    first, second = EXAMPLE_BODY["orderProducts"]
    return {**EXAMPLE_BODY, "orderProducts": [first | line, second]}


def api_error(message: str, error: str) -> dict[str, str]:
    return {"statusCode": "api_error", "message": message, "error": error}


async def login(client: Client) -> dict[str, Any]:
    resp = await client.post(LOGIN, json=CREDENTIALS)
    assert resp.status == 201
    tokens: dict[str, Any] = await resp.json()
    return tokens


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_login_returns_jwt_tokens(aiohttp_client: MakeClient) -> None:
    client = await aiohttp_client(create_app())
    tokens = await login(client)
    assert set(tokens) == {"accessToken", "refreshToken", "expiresIn", "refreshExpiresIn"}
    assert tokens["expiresIn"] == 14400
    assert tokens["refreshExpiresIn"] == 28800
    assert tokens["accessToken"].count(".") == 2
    resp = await client.get(RETRIEVE, params=EXAMPLE_QUERY, headers=bearer(tokens["accessToken"]))
    assert resp.status == 200


@pytest.mark.parametrize(
    "body",
    [{"email": CREDENTIALS["email"], "password": "wrong"}, {"email": "x@y.z", "password": "p"}],
)
async def test_login_refuses_wrong_credentials(
    aiohttp_client: MakeClient, body: dict[str, str]
) -> None:
    client = await aiohttp_client(create_app())
    resp = await client.post(LOGIN, json=body)
    assert resp.status == 401
    assert await resp.json() == api_error("Unauthorized", "Invalid email or password")


async def test_login_refuses_missing_fields(aiohttp_client: MakeClient) -> None:
    client = await aiohttp_client(create_app())
    resp = await client.post(LOGIN, json={"email": CREDENTIALS["email"]})
    assert resp.status == 400
    assert await resp.json() == api_error("email and password are required", "Bad Request")


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "Missing bearer token"),
        ({"Authorization": "Basic abc"}, "Missing bearer token"),
        ({"Authorization": "Bearer nope"}, "Invalid token"),
    ],
)
async def test_order_routes_refuse_bad_tokens(
    aiohttp_client: MakeClient, headers: dict[str, str], reason: str
) -> None:
    app = create_app()
    client = await aiohttp_client(app)
    for resp in (
        await client.get(RETRIEVE, params=EXAMPLE_QUERY, headers=headers),
        await client.post(PLACE, json=EXAMPLE_BODY, headers=headers),
    ):
        assert resp.status == 401
        assert await resp.json() == api_error("Unauthorized", reason)
    assert "O-12345" not in app[STATE].ids_by_code


async def test_tokens_expire_and_refresh(aiohttp_client: MakeClient) -> None:
    clock = FakeClock()
    client = await aiohttp_client(create_app(clock=clock))
    tokens = await login(client)
    # A refresh token is no access token and the other way round.
    resp = await client.get(RETRIEVE, params=EXAMPLE_QUERY, headers=bearer(tokens["refreshToken"]))
    assert await resp.json() == api_error("Unauthorized", "Invalid token")
    resp = await client.post(REFRESH, headers=bearer(tokens["accessToken"]))
    assert resp.status == 401

    clock.now += 14400
    resp = await client.get(RETRIEVE, params=EXAMPLE_QUERY, headers=bearer(tokens["accessToken"]))
    assert resp.status == 401
    assert await resp.json() == api_error("Unauthorized", "Token expired")
    # The static token never expires.
    resp = await client.get(RETRIEVE, params=EXAMPLE_QUERY, headers=STATIC)
    assert resp.status == 200

    resp = await client.post(REFRESH, headers=bearer(tokens["refreshToken"]))
    assert resp.status == 201
    fresh = await resp.json()
    assert fresh["accessToken"] != tokens["accessToken"]
    resp = await client.get(RETRIEVE, params=EXAMPLE_QUERY, headers=bearer(fresh["accessToken"]))
    assert resp.status == 200

    clock.now += 28800 - 14400
    resp = await client.post(REFRESH, headers=bearer(tokens["refreshToken"]))
    assert resp.status == 401
    assert await resp.json() == api_error("Unauthorized", "Token expired")
    resp = await client.post(REFRESH, headers=STATIC)
    assert await resp.json() == api_error("Unauthorized", "Invalid token")


async def test_retrieve_example_order_verbatim(aiohttp_client: MakeClient) -> None:
    client = await aiohttp_client(create_app())
    resp = await client.get(RETRIEVE, params=EXAMPLE_QUERY, headers=STATIC)
    assert resp.status == 200
    pin = {"PIN": EXAMPLE_PIN}
    assert await resp.json() == {
        "orderId": EXAMPLE_ORDER_ID,
        "orderStatus": "completed",
        "products": [
            {"price": 1099, "productId": 1, "quantity": 1, "pin": [pin]},
            {"price": 3299, "productId": 2, "quantity": 2, "pin": [pin, pin]},
        ],
    }


@pytest.mark.parametrize("body", [{"id": 59400}, {"id": "59400"}, {"id": 59400, "x": 1}])
async def test_retrieve_takes_the_id_in_a_json_body_too(
    aiohttp_client: MakeClient, body: dict[str, Any]
) -> None:
    """The page says retrieve-order "accepts a JSON payload in the request body"; its example
    sends ``?id=``. Either way, and both when they agree, is the same answer."""
    app = create_app()
    client = await aiohttp_client(app)
    by_query = await (await client.get(RETRIEVE, params=EXAMPLE_QUERY, headers=STATIC)).json()
    resp = await client.get(RETRIEVE, json=body, headers=STATIC)
    assert resp.status == 200
    assert await resp.json() == by_query
    resp = await client.get(RETRIEVE, params=EXAMPLE_QUERY, json=body, headers=STATIC)
    assert resp.status == 200
    assert await resp.json() == by_query
    assert [r.query for r in requests_to(app, "retrieve-order")] == [
        EXAMPLE_QUERY,
        {},
        EXAMPLE_QUERY,
    ]


@pytest.mark.parametrize(
    ("params", "body", "status", "message"),
    [
        ({}, {"id": 1}, 404, "Order not found"),
        ({}, {"id": "abc"}, 400, "id must be a number"),
        ({}, {"id": True}, 400, "id must be a number"),
        ({}, {"id": -1}, 400, "id must be a number"),
        ({}, {"id": None}, 400, "id is required"),
        ({}, {"externalOrderCode": "O-SEED-59400"}, 400, "id is required"),
        ({}, [59400], 400, "Request body must be an object"),
        ({"id": "59400"}, {"id": 59401}, 400, "id in the query and in the body differ"),
    ],
)
async def test_retrieve_body_refusals(
    aiohttp_client: MakeClient, params: dict[str, str], body: Any, status: int, message: str
) -> None:
    client = await aiohttp_client(create_app())
    resp = await client.get(RETRIEVE, params=params, json=body, headers=STATIC)
    assert resp.status == status
    assert await resp.json() == api_error(message, "Not Found" if status == 404 else "Bad Request")


async def test_retrieve_refuses_a_body_that_is_not_json(aiohttp_client: MakeClient) -> None:
    client = await aiohttp_client(create_app())
    resp = await client.get(RETRIEVE, data=b"{not json", headers=STATIC)
    assert resp.status == 400
    assert await resp.json() == api_error("Invalid JSON body", "Bad Request")


async def test_place_example_order_then_retrieve(aiohttp_client: MakeClient) -> None:
    client = await aiohttp_client(create_app())
    resp = await client.post(PLACE, json=EXAMPLE_BODY, headers=STATIC)
    assert resp.status == 201
    placed = await resp.json()
    assert placed["orderId"] == str(NEXT_ORDER_ID)
    assert [(p["productId"], p["price"], p["quantity"]) for p in placed["products"]] == [
        (2, 3299, 1),
        (6, 839, 1),
    ]
    pins = [pin["PIN"] for p in placed["products"] for pin in p["pin"]]
    assert len(pins) == 2
    assert all(PIN_FORMAT.match(pin) for pin in pins)

    resp = await client.get(RETRIEVE, params={"id": placed["orderId"]}, headers=STATIC)
    # The page's fields and no others: no externalOrderCode, no currency.
    assert await resp.json() == {
        "orderId": NEXT_ORDER_ID,
        "orderStatus": "completed",
        "products": placed["products"],
    }


async def test_pins_follow_quantity_and_seed(aiohttp_client: MakeClient) -> None:
    first = await aiohttp_client(create_app(seed=7))
    second = await aiohttp_client(create_app(seed=7))
    answers = []
    for client in (first, second):
        resp = await client.post(PLACE, json=order_body("Q-1", 1, quantity=3), headers=STATIC)
        answers.append(await resp.json())
    assert len(answers[0]["products"][0]["pin"]) == 3
    assert answers[0] == answers[1]


async def test_lifecycle_requested_processing_completed(aiohttp_client: MakeClient) -> None:
    clock = FakeClock()
    app = create_app(processing_after_s=1.0, completed_after_s=3.0, clock=clock)
    client = await aiohttp_client(app)
    resp = await client.post(PLACE, json=order_body("L-1", 2, quantity=2), headers=STATIC)
    placed = await resp.json()
    assert placed["products"][0]["pin"] == []

    async def read() -> dict[str, Any]:
        resp = await client.get(RETRIEVE, params={"id": placed["orderId"]}, headers=STATIC)
        answer: dict[str, Any] = await resp.json()
        return answer

    assert (await read())["orderStatus"] == "requested"
    clock.now += 1.0
    answer = await read()
    assert answer["orderStatus"] == "processing"
    assert answer["products"][0]["pin"] == []
    clock.now += 2.0
    answer = await read()
    assert answer["orderStatus"] == "completed"
    assert len(answer["products"][0]["pin"]) == 2


@pytest.mark.parametrize(
    ("product_id", "status"), [(FAILING_PRODUCT_ID, "failed"), (ERROR_PRODUCT_ID, "error")]
)
async def test_trigger_products_end_without_pins(
    aiohttp_client: MakeClient, product_id: int, status: str
) -> None:
    client = await aiohttp_client(create_app())
    resp = await client.post(PLACE, json=order_body("T-1", 1, product_id), headers=STATIC)
    assert resp.status == 201
    placed = await resp.json()
    assert all(p["pin"] == [] for p in placed["products"])
    resp = await client.get(RETRIEVE, params={"id": placed["orderId"]}, headers=STATIC)
    got = await resp.json()
    assert got["orderStatus"] == status
    assert all(p["pin"] == [] for p in got["products"])


async def test_seeded_orders_in_each_status(aiohttp_client: MakeClient) -> None:
    client = await aiohttp_client(create_app())
    for status, ids in SEEDED_IDS.items():
        for order_id in ids:
            resp = await client.get(RETRIEVE, params={"id": str(order_id)}, headers=STATIC)
            got = await resp.json()
            assert set(got) == {"orderId", "orderStatus", "products"}
            assert (got["orderId"], got["orderStatus"]) == (order_id, status)
            pins = [pin["PIN"] for p in got["products"] for pin in p["pin"]]
            if status == "completed":
                assert len(pins) == sum(p["quantity"] for p in got["products"])
                assert all(PIN_FORMAT.match(pin) for pin in pins)
            else:
                assert pins == []


async def test_duplicate_external_code_refused(aiohttp_client: MakeClient) -> None:
    app = create_app()
    client = await aiohttp_client(app)
    assert (await client.post(PLACE, json=EXAMPLE_BODY, headers=STATIC)).status == 201
    resp = await client.post(PLACE, json=EXAMPLE_BODY, headers=STATIC)
    assert resp.status == 400
    assert await resp.json() == api_error("externalOrderCode already exists", "Bad Request")
    resp = await client.post(PLACE, json=order_body("O-SEED-59400", 1), headers=STATIC)
    assert resp.status == 400
    assert len(app[STATE].orders) == NEXT_ORDER_ID - EXAMPLE_ORDER_ID + 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (order_body("U-1", 99), "Product 99 not found"),
        ({**EXAMPLE_BODY, "price": "4398"}, "price must be an integer number"),
        ({**EXAMPLE_BODY, "externalOrderCode": ""}, "externalOrderCode must be a non-empty string"),
        ({**EXAMPLE_BODY, "orderProducts": []}, "orderProducts must be a non-empty array"),
        (order_body("U-2", 1, quantity=0), "orderProducts.0.quantity must not be less than 1"),
        # Prices are minor units: product 2 is 3299 (32.99 GBP), never 32 or 32.99.
        (example_with(price=32), "orderProducts.0.price must be 3299, product 2's price"),
        (example_with(price=3300), "orderProducts.0.price must be 3299, product 2's price"),
        (
            example_with(sku="GB-EN-4251604133182"),
            "orderProducts.0.sku GB-EN-4251604133182 is not product 2's sku",
        ),
        (
            example_with(sku=4251604133182),
            "orderProducts.0.sku 4251604133182 is not product 2's sku",
        ),
        ([], "Request body must be an object"),
    ],
)
async def test_place_order_validation(aiohttp_client: MakeClient, body: Any, message: str) -> None:
    client = await aiohttp_client(create_app())
    resp = await client.post(PLACE, json=body, headers=STATIC)
    assert resp.status == 400
    assert await resp.json() == api_error(message, "Bad Request")


async def test_place_order_accepts_integer_sku_and_currency(aiohttp_client: MakeClient) -> None:
    """The page types sku as integer: as a number, a sku is the digits that end its string."""
    client = await aiohttp_client(create_app())
    body = order_body("I-1", 6)
    body["orderProducts"][0].update(sku=4251604133182, currency=826)
    assert (await client.post(PLACE, json=body, headers=STATIC)).status == 201


async def test_place_order_refuses_bad_json(aiohttp_client: MakeClient) -> None:
    client = await aiohttp_client(create_app())
    resp = await client.post(PLACE, data=b"{not json", headers=STATIC)
    assert resp.status == 400
    assert await resp.json() == api_error("Invalid JSON body", "Bad Request")


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"id": "1"}, 404, "Order not found"),
        ({"id": "abc"}, 400, "id must be a number"),
        ({}, 400, "id is required"),
        # The page has no lookup by reference: the sandbox does not know the parameter.
        ({"externalOrderCode": "O-SEED-59400"}, 400, "id is required"),
    ],
)
async def test_retrieve_refusals(
    aiohttp_client: MakeClient, params: dict[str, str], status: int, message: str
) -> None:
    client = await aiohttp_client(create_app())
    resp = await client.get(RETRIEVE, params=params, headers=STATIC)
    assert resp.status == status
    assert await resp.json() == api_error(message, "Not Found" if status == 404 else "Bad Request")


async def test_unknown_route_is_404(aiohttp_client: MakeClient) -> None:
    client = await aiohttp_client(create_app())
    assert (await client.get("/v1/orders/list", headers=STATIC)).status == 404


async def test_malformed_fault_and_request_log(aiohttp_client: MakeClient) -> None:
    app = create_app()
    client = await aiohttp_client(app)
    app[FAULTS].malformed = True
    resp = await client.get(RETRIEVE, params=EXAMPLE_QUERY, headers=STATIC)
    assert resp.status == 200
    with pytest.raises(ValueError, match="Expecting"):
        await resp.json()
    assert [r.query for r in requests_to(app, "retrieve-order", "GET")] == [{"id": "59400"}]
