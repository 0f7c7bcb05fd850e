"""The Lipa Later v2 purchases sandbox, driven over HTTP with the page's own examples."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from providers.sandbox.faults import FAULTS, requests_to
from providers.sandbox.lipalater_purchases import (
    CREDENTIALS,
    STATE,
    STATIC_TOKEN,
    create_app,
)
from providers.sandbox.lipalater_purchases_data import (
    EXAMPLE_APPLICATION_ID,
    EXAMPLE_CANCEL_ID,
    EXAMPLE_CREATED_ID,
    EXAMPLE_PURCHASE_ID,
    FACILITY_STATUSES,
    GENERATED_ORDER_IDS,
)

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[[web.Application], Awaitable[Client]]

AUTH = {"Authorization": f"Bearer {STATIC_TOKEN}"}
PROBLEMS = "https://core-v2-multi-country.herokuapp.com/problems/"
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

# The page's "Get Purchases" JSON response, verbatim.
PAGE_GET: dict[str, Any] = {
    "apiVersion": "2.0",
    "status": 200,
    "order_id": "113",
    "data": {
        "interest_rate": 4.2,
        "loan_duration": 12,
        "facility_status": "pending_collection_customer",
        "preferred_option": "pick_up",
        "facility_plan": 0,
        "created_at": "2020-11-25T07:55:27.294Z",
        "updated_at": "2020-11-25T07:55:27.294Z",
        "item_type": "other",
        "item_brand": "16GB A Series Walkman Video MP3",
        "item_code": "H0148VPS1T",
        "store_name": "QUEENS MOBILE",
        "item_value": 50000.0,
        "delivery_option": "customer_store_pickup",
        "item_description": "16GB A Series Walkman Video MP3",
        "item_topup": 0.0,
        "topup_ref": "",
        "upfront_fees": 0.0,
        "source": "sales-rep",
        "accepted_terms": "accepted",
        "id": "e87a57de-4fe3-447e-bfdf-89b9a1a6cd4f",
        "loan_application_detail_id": "28fcaa6e-6fd3-4caf-9db5-b39cdd8734b3",
        "partner_store_id": "61d273cf-6584-4429-af01-7b4dd2ae9f78",
        "loan_product_id": "e55e5ec9-13b1-4dbf-ac14-40b482c5d677",
    },
}


def page_item(store_key: str, preferred_option: str, brand: str) -> dict[str, Any]:
    return {
        "item_type": "other",
        "item_brand": brand,
        "store_key": store_key,
        "delivery_option": "customer_store_pickup",
        "preferred_option": preferred_option,
        "item_description": "16GB A Series Walkman Video MP3",
        "facility_plan": "lipalater_regular_plan",
        "item_code": "H0148VPS1T",
        "item_value": "50000",
        "item_topup": "",
        "topup_ref": "",
    }


# The page's curl body: note the second item's preferred_option is a store_key.
CURL_BODY = {
    "customer_id": "b7dd0bce-1c25-45ee-a458-6c5a765fb0f1",
    "order_id": "113",
    "items": [
        page_item("queens_mobile", "pick_up", "16GB A Series Walkman Video MP3"),
        page_item("jkiarie", "queens_mobile", "36GB A Series Walkman Video MP3"),
    ],
}
JSON_REQUEST_OBJECT = {
    "customer_id": "8bf616dd-4cdc-4c55-80bc-58678102f3d3",
    "order_id": "113",
    "items": [
        page_item("jkiarie", "pick_up", "16GB A Series Walkman Video MP3"),
        page_item("jkiarie", "pick_up", "36GB A Series Walkman Video MP3"),
    ],
}
PAGE_PUT = {"items": [{"id": EXAMPLE_PURCHASE_ID, "facility_status": "collected_by_agent"}]}


@pytest.fixture
async def client(aiohttp_client: MakeClient) -> Client:
    return await aiohttp_client(create_app())


def seeded_id(client: Client, status: str) -> str:
    state = client.app[STATE]
    return next(p.id for p in state.purchases.values() if p.facility_status == status)


async def get(client: Client, purchase_id: str) -> dict[str, Any]:
    resp = await client.get(f"/api/v2/purchases/{purchase_id}", headers=AUTH)
    assert resp.status == 200
    body: dict[str, Any] = await resp.json()
    return body


# --- token ---------------------------------------------------------------------------------


async def test_token_form_encoded_then_used(client: Client) -> None:
    form = {"grant_type": "client_credentials", **CREDENTIALS, "scope": "read write"}
    resp = await client.post("/api/v2/oauth/token", data=form)
    assert resp.status == 200
    body = await resp.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope", "created_at"}
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 7198, "read write")
    assert isinstance(body["created_at"], int)
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    resp = await client.get(f"/api/v2/purchases/{EXAMPLE_PURCHASE_ID}", headers=headers)
    assert resp.status == 200


async def test_token_accepts_json(client: Client) -> None:
    body = {"grant_type": "client_credentials", **CREDENTIALS}
    resp = await client.post("/api/v2/oauth/token", json=body)
    assert resp.status == 200
    assert (await resp.json())["scope"] == "read write"


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        (
            {"grant_type": "client_credentials", "client_id": "sandbox-client-id"},
            401,
            "invalid_client",
        ),
        (
            {**CREDENTIALS, "grant_type": "client_credentials", "client_secret": "x"},
            401,
            "invalid_client",
        ),
        ({**CREDENTIALS}, 400, "invalid_request"),
        ({**CREDENTIALS, "grant_type": "password"}, 400, "unsupported_grant_type"),
        (
            {**CREDENTIALS, "grant_type": "client_credentials", "scope": "admin"},
            400,
            "invalid_scope",
        ),
    ],
)
async def test_token_refusals(
    client: Client, form: dict[str, str], status: int, error: str
) -> None:
    resp = await client.post("/api/v2/oauth/token", data=form)
    assert resp.status == status
    body = await resp.json()
    assert body["error"] == error
    assert isinstance(body["error_description"], str)


async def test_expires_in_as_text_knob(client: Client) -> None:
    client.app[STATE].expires_in_as_text = True
    form = {"grant_type": "client_credentials", **CREDENTIALS}
    issued = await (await client.post("/api/v2/oauth/token", data=form)).json()
    assert issued["expires_in"] == "7198"


async def test_expired_token_is_refused(aiohttp_client: MakeClient) -> None:
    client = await aiohttp_client(create_app(token_ttl_s=0))
    form = {"grant_type": "client_credentials", **CREDENTIALS}
    issued = await (await client.post("/api/v2/oauth/token", data=form)).json()
    assert issued["expires_in"] == 0
    headers = {"Authorization": f"Bearer {issued['access_token']}"}
    resp = await client.get(f"/api/v2/purchases/{EXAMPLE_PURCHASE_ID}", headers=headers)
    assert resp.status == 401
    assert (await resp.json())["detail"] == "The access token expired"


async def test_read_scope_cannot_write(client: Client) -> None:
    form = {"grant_type": "client_credentials", **CREDENTIALS, "scope": "read"}
    issued = await (await client.post("/api/v2/oauth/token", data=form)).json()
    headers = {"Authorization": f"Bearer {issued['access_token']}"}
    resp = await client.delete(f"/api/v2/purchases/{EXAMPLE_PURCHASE_ID}", headers=headers)
    assert resp.status == 403
    assert (await resp.json())["type"] == PROBLEMS + "insufficient-scope"


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "The access token is missing"),
        ({"Authorization": "Bearer not-a-token"}, "The access token is invalid"),
        ({"Authorization": f"Token {STATIC_TOKEN}"}, "The access token is missing"),
    ],
)
async def test_missing_or_bad_token(client: Client, headers: dict[str, str], detail: str) -> None:
    resp = await client.get(f"/api/v2/purchases/{EXAMPLE_PURCHASE_ID}", headers=headers)
    assert resp.status == 401
    assert await resp.json() == {
        "type": PROBLEMS + "unauthorized",
        "title": "Unauthorized",
        "status": 401,
        "detail": detail,
    }
    assert resp.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    assert resp.headers["X-Request-ID"]


async def test_request_id_is_echoed_or_made(client: Client) -> None:
    mine = "my-request-id-0123456789"
    resp = await client.get("/api/v2/nowhere", headers={"X-Request-ID": mine})
    assert resp.status == 404
    assert resp.headers["X-Request-ID"] == mine
    resp = await client.get("/api/v2/nowhere", headers={"X-Request-ID": "short"})
    assert resp.headers["X-Request-ID"] != "short"


async def test_request_ids_it_makes_repeat_from_a_fresh_sandbox(
    aiohttp_client: MakeClient,
) -> None:
    """Made from the seeded source (as the open platform sandbox's are), not uuid4: two fresh
    sandboxes answer the same sequence, and every id of it is new."""
    sequences = []
    for _ in range(2):
        client = await aiohttp_client(create_app(seed=3))
        answers = [
            await client.get(f"/api/v2/purchases/{EXAMPLE_PURCHASE_ID}", headers=AUTH),
            await client.get("/api/v2/nowhere"),
            await client.post("/api/v2/purchases", json=CURL_BODY, headers=AUTH),
        ]
        sequences.append([resp.headers["X-Request-ID"] for resp in answers])
    assert sequences[0] == sequences[1]
    assert len(set(sequences[0])) == 3


async def test_tokens_it_issues_repeat_from_a_fresh_sandbox(aiohttp_client: MakeClient) -> None:
    """They were secrets.token_urlsafe(32): two sandboxes of one seed issued other tokens. Now
    drawn from a seeded source apart from the ids': the same tokens in turn for one seed, each
    new, of the page's token's shape, and the purchases placed after them get the same ids
    however many logins came before."""
    form = {"grant_type": "client_credentials", **CREDENTIALS, "scope": "read write"}
    runs = []
    for seed, logins in ((3, 3), (3, 3), (3, 0), (4, 1)):
        client = await aiohttp_client(create_app(seed=seed))
        tokens = []
        for _ in range(logins):
            resp = await client.post("/api/v2/oauth/token", data=form)
            tokens.append((await resp.json())["access_token"])
        auth = {"Authorization": f"Bearer {tokens[-1]}"} if tokens else AUTH
        placed = await client.post("/api/v2/purchases", json=CURL_BODY, headers=auth)
        assert placed.status == 201
        ids = [p["id"] for p in (await placed.json())["data"]]
        runs.append((tokens, ids))
    (tokens, ids), again, no_logins, other_seed = runs
    assert again == (tokens, ids)
    assert len(set(tokens)) == 3
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{43}", t) for t in tokens)  # as STATIC_TOKEN is
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", STATIC_TOKEN)
    assert no_logins[1] == ids
    assert not set(other_seed[0]) & set(tokens)


# --- get -----------------------------------------------------------------------------------


async def test_get_answers_the_page_example_verbatim(client: Client) -> None:
    assert await get(client, EXAMPLE_PURCHASE_ID) == PAGE_GET


async def test_get_unknown_purchase(client: Client) -> None:
    resp = await client.get("/api/v2/purchases/nope", headers=AUTH)
    assert resp.status == 404
    assert await resp.json() == {
        "type": PROBLEMS + "not-found",
        "title": "Not Found",
        "status": 404,
        "detail": "Item with ID nope was not found",
    }


# --- create --------------------------------------------------------------------------------


async def test_create_with_the_curl_example(client: Client) -> None:
    resp = await client.post("/api/v2/purchases", json=CURL_BODY, headers=AUTH)
    assert resp.status == 201
    body = await resp.json()
    assert (body["apiVersion"], body["status"], body["order_id"]) == ("2.0", 201, "113")
    first, second = body["data"]
    assert set(first) == set(PAGE_GET["data"])
    assert first["store_name"] == "QUEENS MOBILE"
    assert second["store_name"] == "JKIARIE"
    assert second["preferred_option"] == "queens_mobile"
    assert first["item_value"] == 50000.0
    assert isinstance(first["item_value"], float)
    assert (first["facility_plan"], first["item_topup"], first["upfront_fees"]) == (0, 0.0, 0.0)
    assert first["facility_status"] == "pending_collection_customer"
    assert (first["interest_rate"], first["loan_duration"]) == (4.2, 12)
    assert (first["source"], first["accepted_terms"]) == ("sales-rep", "accepted")
    # Order 113's loan application is reused, as in the page's create response.
    assert first["loan_application_detail_id"] == EXAMPLE_APPLICATION_ID
    assert ISO_MS.match(first["created_at"])
    assert first["created_at"] == first["updated_at"]
    read = await get(client, first["id"])
    assert read["data"] == first
    assert read["order_id"] == "113"


async def test_create_with_the_json_request_object(client: Client) -> None:
    resp = await client.post("/api/v2/purchases", json=JSON_REQUEST_OBJECT, headers=AUTH)
    assert resp.status == 201
    data = (await resp.json())["data"]
    assert [d["store_name"] for d in data] == ["JKIARIE", "JKIARIE"]
    assert data[0]["id"] != data[1]["id"]


async def test_create_accepts_table_spellings_and_numbers(client: Client) -> None:
    item = page_item("jkiarie", "delivery", "Hisense TV")
    del item["item_description"], item["delivery_option"]
    item |= {
        "item_decription": "43 inch",
        "item_value": 42000,
        "item_topup": "1500",
        "item_type": "tv",
    }
    body = {"customer_id": "c-1", "order_id": 9001, "items": [item]}
    resp = await client.post("/api/v2/purchases", json=body, headers=AUTH)
    assert resp.status == 201
    answer = await resp.json()
    assert answer["order_id"] == "9001"
    created = answer["data"][0]
    assert created["item_description"] == "43 inch"
    assert created["delivery_option"] == "store_delivery"
    assert (created["item_value"], created["item_topup"]) == (42000.0, 1500.0)
    assert created["loan_application_detail_id"] != EXAMPLE_APPLICATION_ID


@pytest.mark.parametrize("value", ["49999.5", 49999.5, "50000.0", 50000.0, "5e4", -50000])
async def test_create_refuses_an_item_value_that_is_not_whole(
    client: Client, value: object
) -> None:
    """The page types item_value integer (its example sends "50000"): a fraction is a
    validation error, never stored as sent nor rounded."""
    item = page_item("jkiarie", "pick_up", "Walkman") | {"item_value": value}
    body = {"customer_id": "c-1", "order_id": "9002", "items": [item]}
    resp = await client.post("/api/v2/purchases", json=body, headers=AUTH)
    assert resp.status == 400
    answer = await resp.json()
    assert (answer["type"], answer["details"]) == (
        PROBLEMS + "validation-error",
        {"items[0].item_value": ["must be a non-negative integer"]},
    )
    assert len(client.app[STATE].purchases) == 23


async def test_create_validation_lists_every_field(client: Client) -> None:
    item = page_item("nairobi_mall", "by_drone", "x")
    item |= {"item_type": "car", "delivery_option": "teleport", "item_value": "lots"}
    del item["item_code"]
    body = {"order_id": "abc", "items": [item, "not an item"]}
    resp = await client.post("/api/v2/purchases", json=body, headers=AUTH)
    assert resp.status == 400
    answer = await resp.json()
    assert set(answer) == {"type", "title", "status", "details"}
    assert (answer["type"], answer["status"]) == (PROBLEMS + "validation-error", 400)
    assert set(answer["details"]) == {
        "customer_id",
        "order_id",
        "items[0].store_key",
        "items[0].preferred_option",
        "items[0].item_type",
        "items[0].delivery_option",
        "items[0].item_value",
        "items[0].item_code",
        "items[1]",
    }
    assert answer["details"]["items[0].store_key"] == ["is not a known store"]
    assert len(client.app[STATE].purchases) == 23


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("{not json", {"detail": "The request body is not valid JSON"}),
        ("[]", {"details": {"body": ["must be a JSON object"]}}),
        (
            '{"customer_id": "c", "order_id": "1", "items": []}',
            {"details": {"items": ["must be a non-empty list"]}},
        ),
    ],
)
async def test_create_refuses_bad_bodies(
    client: Client, body: str, expected: dict[str, Any]
) -> None:
    headers = {**AUTH, "Content-Type": "application/json"}
    resp = await client.post("/api/v2/purchases", data=body, headers=headers)
    assert resp.status == 400
    answer = await resp.json()
    assert {k: answer[k] for k in expected} == expected


# --- update --------------------------------------------------------------------------------


async def test_update_with_the_page_example(client: Client) -> None:
    resp = await client.put("/api/v2/purchases", json=PAGE_PUT, headers=AUTH)
    assert resp.status == 200
    body = await resp.json()
    assert set(body) == {"apiVersion", "status", "data"}
    (updated,) = body["data"]
    assert updated["facility_status"] == "collected_by_agent"
    assert updated["created_at"] == "2020-11-25T07:55:27.294Z"
    assert updated["updated_at"] != updated["created_at"]
    assert (await get(client, EXAMPLE_PURCHASE_ID))["data"] == updated


async def test_update_with_id_in_path_and_state_machine(client: Client) -> None:
    path = f"/api/v2/purchases/{EXAMPLE_PURCHASE_ID}"
    resp = await client.put(path, json={"facility_status": "collected_by_agent"}, headers=AUTH)
    assert resp.status == 200
    resp = await client.put(path, json={"items": [{"facility_status": "delivered"}]}, headers=AUTH)
    assert (await resp.json())["data"][0]["facility_status"] == "delivered"
    resp = await client.put(
        path, json={"facility_status": "pending_collection_customer"}, headers=AUTH
    )
    assert resp.status == 400  # PROVIDERS.md lists no 409
    assert await resp.json() == {
        "type": PROBLEMS + "invalid-state-transition",
        "title": "Bad Request",
        "status": 400,
        "detail": f"Item with ID {EXAMPLE_PURCHASE_ID} cannot move from delivered to "
        "pending_collection_customer",
    }


async def test_update_refusals(client: Client) -> None:
    bad_status = {"items": [{"id": EXAMPLE_PURCHASE_ID, "facility_status": "lost"}]}
    resp = await client.put("/api/v2/purchases", json=bad_status, headers=AUTH)
    assert resp.status == 400
    assert list((await resp.json())["details"]) == ["items[0].facility_status"]

    unknown = {"items": [{"id": "missing-id", "facility_status": "delivered"}]}
    resp = await client.put("/api/v2/purchases", json=unknown, headers=AUTH)
    assert resp.status == 404

    resp = await client.put(f"/api/v2/purchases/{EXAMPLE_CREATED_ID}", json=PAGE_PUT, headers=AUTH)
    assert resp.status == 400
    assert (await resp.json())["details"] == {"items[0].id": ["does not match the ID in the path"]}

    resp = await client.put("/api/v2/purchases", json={"items": []}, headers=AUTH)
    assert resp.status == 400


async def test_update_is_all_or_nothing(client: Client) -> None:
    delivered = seeded_id(client, "delivered")
    body = {
        "items": [
            {"id": EXAMPLE_PURCHASE_ID, "facility_status": "collected_by_agent"},
            {"id": delivered, "facility_status": "cancelled"},
        ]
    }
    resp = await client.put("/api/v2/purchases", json=body, headers=AUTH)
    assert resp.status == 400
    assert (await resp.json())["type"] == PROBLEMS + "invalid-state-transition"
    assert (await get(client, EXAMPLE_PURCHASE_ID))["data"]["facility_status"] == (
        "pending_collection_customer"
    )


# --- cancel --------------------------------------------------------------------------------


async def test_cancel_answers_the_page_message(client: Client) -> None:
    resp = await client.delete(f"/api/v2/purchases/{EXAMPLE_CANCEL_ID}", headers=AUTH)
    assert resp.status == 200
    assert await resp.json() == {
        "apiVersion": "2.0",
        "status": 200,
        "data": {
            "message": (
                "Item with ID 24d40a7c-6ea5-4195-85d2-eabe4370dbe0 was successfully cancelled"
            )
        },
    }
    assert (await get(client, EXAMPLE_CANCEL_ID))["data"]["facility_status"] == "cancelled"
    resp = await client.delete(f"/api/v2/purchases/{EXAMPLE_CANCEL_ID}", headers=AUTH)
    assert resp.status == 400
    assert await resp.json() == {
        "type": PROBLEMS + "invalid-state-transition",
        "title": "Bad Request",
        "status": 400,
        "detail": f"Item with ID {EXAMPLE_CANCEL_ID} is already cancelled",
    }


async def test_a_second_cancel_by_put_is_refused_as_by_delete(client: Client) -> None:
    """``PUT facility_status: cancelled`` to a purchase cancelled already answered 200, where
    the DELETE answers 400 "is already cancelled": a second cancel is refused either way, and
    changes nothing. Any other status PUT again is still accepted."""
    resp = await client.delete(f"/api/v2/purchases/{EXAMPLE_CANCEL_ID}", headers=AUTH)
    assert resp.status == 200
    before = (await get(client, EXAMPLE_CANCEL_ID))["data"]
    refusal = {
        "type": PROBLEMS + "invalid-state-transition",
        "title": "Bad Request",
        "status": 400,
        "detail": f"Item with ID {EXAMPLE_CANCEL_ID} is already cancelled",
    }
    again = {"items": [{"id": EXAMPLE_CANCEL_ID, "facility_status": "cancelled"}]}
    for path, body in (
        ("/api/v2/purchases", again),
        (f"/api/v2/purchases/{EXAMPLE_CANCEL_ID}", {"facility_status": "cancelled"}),
    ):
        resp = await client.put(path, json=body, headers=AUTH)
        assert (resp.status, await resp.json()) == (400, refusal)
    resp = await client.delete(f"/api/v2/purchases/{EXAMPLE_CANCEL_ID}", headers=AUTH)
    assert (resp.status, await resp.json()) == (400, refusal)
    assert (await get(client, EXAMPLE_CANCEL_ID))["data"] == before

    # One request naming a purchase twice cancels it twice: refused, and nothing changes.
    twice = {"items": [{"id": EXAMPLE_PURCHASE_ID, "facility_status": "cancelled"}] * 2}
    resp = await client.put("/api/v2/purchases", json=twice, headers=AUTH)
    assert resp.status == 400
    assert (await get(client, EXAMPLE_PURCHASE_ID))["data"] == PAGE_GET["data"]

    for _ in range(2):  # the same status again, not a cancel: accepted, as before
        resp = await client.put("/api/v2/purchases", json=PAGE_PUT, headers=AUTH)
        assert resp.status == 200


@pytest.mark.parametrize("status", ["delivered", "collected_by_customer"])
async def test_cancel_refused_once_goods_are_handed_over(client: Client, status: str) -> None:
    purchase_id = seeded_id(client, status)
    resp = await client.delete(f"/api/v2/purchases/{purchase_id}", headers=AUTH)
    assert resp.status == 400
    assert (await resp.json())["detail"] == (
        f"Item with ID {purchase_id} is {status} and cannot be cancelled"
    )


async def test_cancel_after_agent_collection_and_unknown(client: Client) -> None:
    purchase_id = seeded_id(client, "collected_by_agent")
    resp = await client.delete(f"/api/v2/purchases/{purchase_id}", headers=AUTH)
    assert resp.status == 200
    resp = await client.delete("/api/v2/purchases/nope", headers=AUTH)
    assert resp.status == 404


# --- seed and faults -----------------------------------------------------------------------


def test_seed_is_deterministic() -> None:
    first, again, other = (create_app(seed=s)[STATE] for s in (0, 0, 1))
    assert list(first.purchases) == list(again.purchases)
    assert list(first.purchases) != list(other.purchases)
    assert len(first.purchases) == 3 + 20
    assert {p.order_id for p in first.purchases.values()} == {"113", *GENERATED_ORDER_IDS}
    assert {p.facility_status for p in first.purchases.values()} == set(FACILITY_STATUSES)
    assert {EXAMPLE_PURCHASE_ID, EXAMPLE_CREATED_ID, EXAMPLE_CANCEL_ID} <= set(first.purchases)


async def test_malformed_fault_and_request_log(client: Client) -> None:
    client.app[FAULTS].malformed = True
    resp = await client.get(f"/api/v2/purchases/{EXAMPLE_PURCHASE_ID}", headers=AUTH)
    assert resp.status == 200
    assert await resp.text() == '{"truncated": [1, 2'
    assert resp.headers["X-Request-ID"]
    assert len(requests_to(client.app, "/api/v2/purchases/", "GET")) == 1


async def test_rate_limit_fault(client: Client) -> None:
    client.app[FAULTS].update({"error_rate": 1.0, "error_status": 429, "retry_after": 3})
    resp = await client.post("/api/v2/purchases", json=CURL_BODY, headers=AUTH)
    assert resp.status == 429
    assert resp.headers["Retry-After"] == "3"
