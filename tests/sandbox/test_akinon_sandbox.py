"""Direct HTTP tests of the Akinon sandbox (seed page 004)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from providers.sandbox.akinon import CREDENTIALS, STATE, STATIC_TOKEN, create_app
from providers.sandbox.akinon_data import (
    EXAMPLE_ADDRESS_ID,
    EXAMPLE_ITEM_ID,
    EXAMPLE_ORDER_ID,
    EXAMPLE_ORDER_NUMBER,
    EXAMPLE_PLAN_ID,
    EXAMPLE_PLAN_ITEM_IDS,
    EXAMPLE_PLAN_ORDER_ID,
    EXAMPLE_SHIPPING_ADDRESS_ID,
    PLAN_ORDER_NUMBER,
    REJECTABLE_ITEM_IDS,
    REJECTABLE_ORDER_NUMBER,
    UNKNOWN_STATUS_ORDER_NUMBER,
    build,
)
from providers.sandbox.faults import FAULTS, requests_to

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[[web.Application], Awaitable[Client]]
HEADERS = {"Content-Type": "application/json", "Authentication": f"Bearer {STATIC_TOKEN}"}
JSON = {"Content-Type": "application/json"}

PAGE_ORDER = {
    "id": "e819386c-b406-43dc-86c9-212ff633afe2", "number": "45243493",
    "datasource": "7371e321-9ae4-418d-8472-f4d13ce3da8d",
    "shipping_address": "a4c0eb06-9ad5-40a1-adc2-d4ea4a9aed32",
    "billing_address": "a4c0eb06-9ad5-40a1-adc2-d4ea4a9aed32",
    "date_placed": "2019-01-01T00:00:00Z", "status": 100, "currency": "usd", "amount": "629.00",
    "discount_amount": "0.00", "shipping_amount": "0.00", "shipping_tax_rate": None,
    "refund_amount": "0.00", "discount_refund_amount": "0.00", "shipping_refund_amount": "0.00",
    "invoice_number": None, "invoice_date": None, "e_archive_url": None, "tracking_number": None,
    "shipping_company": None, "cargo_company": None, "has_gift_box": False,
    "gift_box_note": None, "language_code": None, "notes": None, "delivery_range": None,
    "shipping_option_slug": None, "extra_field": {}, "cancel_status": None,
    "shipping_interest_amount": "0.00",
}  # fmt: skip
PAGE_ITEM = {
    "id": "33a11761-43bc-41d4-8f7f-1e860028367b", "order": "e819386c-b406-43dc-86c9-212ff633afe2",
    "sku": "SP-A", "status": 600, "price_currency": "usd", "price": "629.00", "tax_rate": "0.00",
    "invoice_number": None, "invoice_date": None, "e_archive_url": None,
    "tracking_number": "5c0095dab3c087befe04c0d5a0155d3e", "shipping_company": "hbexpress",
    "retail_price": None, "extra_field": {}, "estimated_delivery_date": None,
    "discount_amount": "0.00", "shipped_date": "2019-01-01T00:00:00Z",
    "delivered_date": "2019-01-01T00:00:00Z", "cancel_status": None,
}  # fmt: skip
PAGE_PLAN = {
    "id": "f0cf73ee-8e1e-4025-a03d-8499af3ee493", "shipping_refund_amount": "1.00",
    "refund_amount": "1.00", "discount_refund_amount": "1.00", "status": "waiting",
    "plan_type": "cancel", "invoice_number": "1234", "payment_plan": {},
    "order": "6e5877a9-5a03-48e6-8425-d4be178de83e",
    "order_items": ["f35de315-61b5-4b13-b101-82c3f873bd1f", "5481430a-fb72-4d07-bb1d-81dcb9461c5d"],
}  # fmt: skip
PAGE_ADDRESS = {
    "id": "4c785dc6-0c69-4f84-aaa8-a34a932db75c", "email": "akinon@akinon.com",
    "phone_number": "05555555555", "first_name": "Akinon", "last_name": "Akinon",
    "line": "Address Text", "is_active": True, "postcode": "34000", "notes": "note...",
    "company_name": None, "tax_office": None, "tax_no": None, "e_bill_taxpayer": False,
    "identity_number": "11111111111", "country": "b08eb673-dcd4-483c-a8b9-59ed76b64a1b",
    "city": "2e1adb7c-e1e8-471a-a483-0257d52fb0bc",
    "township": "13a22409-e32b-4109-99bc-598ddc62c477",
    "district": "35feab7e-4832-4d31-8448-2cbcd89092ea",
}  # fmt: skip


@pytest.fixture
async def client(aiohttp_client: MakeClient) -> Client:
    return await aiohttp_client(create_app())


async def get(client: Client, path: str, **params: str) -> tuple[int, Any]:
    response = await client.get(f"/api/i1/{path}", params=params, headers=HEADERS)
    return response.status, await response.json()


async def results(client: Client, path: str, **params: str) -> list[dict[str, Any]]:
    status, body = await get(client, path, limit="100", **params)
    assert status == 200, body
    assert body["count"] == len(body["results"]), "test filter matched more than one page"
    return list(body["results"])


async def reject(client: Client, item_id: str) -> tuple[int, bytes]:
    response = await client.post(f"/api/i1/order-items/{item_id}/reject/", headers=HEADERS)
    return response.status, await response.read()


# Authentication ------------------------------------------------------------------------------


async def test_login_issues_a_key_that_reads_orders(client: Client) -> None:
    response = await client.post("/api/i1/auth/login/", json=CREDENTIALS)
    assert response.status == 200
    key = (await response.json())["key"]
    again = await client.post("/api/i1/auth/login/", json=CREDENTIALS)
    assert (await again.json())["key"] == key  # one key per user, as DRF's token auth
    for header in ("Authorization", "Authentication"):
        for scheme in ("Token", "Bearer"):
            headers = {**JSON, header: f"{scheme} {key}"}
            response = await client.get("/api/i1/orders/", headers=headers)
            assert response.status == 200


async def test_login_refusals(client: Client) -> None:
    wrong = await client.post("/api/i1/auth/login/", json={**CREDENTIALS, "password": "nope"})
    assert wrong.status == 400
    assert await wrong.json() == {
        "non_field_errors": ["Unable to log in with provided credentials."],
        "code": "authorization_error",
    }
    missing = await client.post("/api/i1/auth/login/", json={"username": "x"})
    assert missing.status == 400
    assert await missing.json() == {"password": ["This field is required."], "code": "required"}
    form = await client.post("/api/i1/auth/login/", data=CREDENTIALS)
    assert form.status == 415


async def test_missing_and_wrong_tokens_are_refused(client: Client) -> None:
    missing = await client.get("/api/i1/orders/", headers=JSON)
    assert missing.status == 401
    assert await missing.json() == {"detail": "Authentication credentials were not provided."}
    for token in ("Bearer wrong", "Token wrong"):
        wrong = await client.get("/api/i1/orders/", headers={**JSON, "Authorization": token})
        assert wrong.status == 401
        assert await wrong.json() == {"detail": "Invalid token."}
    response = await client.post(f"/api/i1/order-items/{REJECTABLE_ITEM_IDS[0]}/reject/")
    assert response.status == 401


async def test_revoked_key_is_refused_until_a_new_login(client: Client) -> None:
    old = (await (await client.post("/api/i1/auth/login/", json=CREDENTIALS)).json())["key"]
    client.app[STATE].revoke_key()
    stale = await client.get("/api/i1/orders/", headers={**JSON, "Authorization": f"Token {old}"})
    assert stale.status == 401
    new = (await (await client.post("/api/i1/auth/login/", json=CREDENTIALS)).json())["key"]
    assert new != old
    fresh = await client.get("/api/i1/orders/", headers={**JSON, "Authorization": f"Token {new}"})
    assert fresh.status == 200


async def test_content_type_and_accept_are_checked(client: Client) -> None:
    auth = {"Authorization": f"Bearer {STATIC_TOKEN}"}
    missing = await client.get("/api/i1/orders/", headers=auth)
    assert missing.status == 415
    assert await missing.json() == {"detail": 'Unsupported media type "" in request.'}
    text = await client.get("/api/i1/orders/", headers={**auth, "Content-Type": "text/plain"})
    assert await text.json() == {"detail": 'Unsupported media type "text/plain" in request.'}
    xml = await client.get("/api/i1/orders/", headers={**HEADERS, "Accept": "application/xml"})
    assert xml.status == 406
    assert await xml.json() == {"detail": "Could not satisfy the request Accept header."}


# Lists, pagination, filters ------------------------------------------------------------------


async def test_orders_page_example_and_pagination(client: Client) -> None:
    assert await results(client, "orders/", number=EXAMPLE_ORDER_NUMBER) == [PAGE_ORDER]
    status, first = await get(client, "orders/")
    assert status == 200
    assert first["count"] >= 200
    assert len(first["results"]) == 10
    assert first["previous"] is None
    assert first["next"] == str(client.make_url("/api/i1/orders/?page=2"))
    _, second = await get(client, "orders/", page="2", limit="5")
    assert second["previous"] == str(client.make_url("/api/i1/orders/?limit=5"))
    assert [o["id"] for o in second["results"]] == [o["id"] for o in first["results"][5:]]
    _, last = await get(client, "orders/", page="last", limit="100")
    assert last["next"] is None
    assert last["results"][-1]["id"] == EXAMPLE_ORDER_ID  # newest first; the example is 2019
    assert await get(client, "orders/", page="999") == (404, {"detail": "Invalid page."})
    assert await get(client, "orders/", page="0") == (404, {"detail": "Invalid page."})


async def test_max_page_size_cuts_a_larger_limit_as_drf_does(client: Client) -> None:
    client.app[STATE].max_page_size = 50
    _, first = await get(client, "orders/", limit="60")
    assert len(first["results"]) == 50
    assert first["next"] == str(client.make_url("/api/i1/orders/?limit=60&page=2"))
    _, second = await get(client, "orders/", page="2", limit="60")
    ids = [o["id"] for o in first["results"] + second["results"]]
    assert ids == [row.data["id"] for row in client.app[STATE].data.orders[:100]]


async def test_order_filters(client: Client) -> None:
    usd = await results(client, "orders/", currency="USD", date_placed__lt="2024-01-01")
    assert usd
    assert all(o["currency"] == "usd" and o["date_placed"] < "2024" for o in usd)
    big = await results(client, "orders/", amount__gte="4000", status="500")
    assert all(float(o["amount"]) >= 4000 and o["status"] == 500 for o in big)
    unknown = await results(client, "orders/", number=UNKNOWN_STATUS_ORDER_NUMBER)
    assert [o["status"] for o in unknown] == [450]
    numbers = f"{EXAMPLE_ORDER_NUMBER},{UNKNOWN_STATUS_ORDER_NUMBER},00000000"
    batch = await results(client, "orders/", number__in=numbers, status__in="100,200")
    assert [o["id"] for o in batch] == [EXAMPLE_ORDER_ID]
    by_id = await results(client, "orders/", id__in=f"{EXAMPLE_ORDER_ID},{EXAMPLE_PLAN_ORDER_ID}")
    assert {o["number"] for o in by_id} == {EXAMPLE_ORDER_NUMBER, PLAN_ORDER_NUMBER}
    contains = await results(client, "orders/", number__icontains="9000045", bogus="ignored")
    assert [o["number"] for o in contains] == [UNKNOWN_STATUS_ORDER_NUMBER]
    gifts = await results(client, "orders/", has_gift_box="true", created_at__gte="2023-01-01")
    assert gifts
    assert all(o["has_gift_box"] for o in gifts)
    status, body = await get(client, "orders/", amount__gt="lots", id__in="nope")
    assert status == 400
    assert body == {
        "amount__gt": ["Enter a number."],
        "id__in": ["Enter a valid UUID."],
        "code": "invalid",
    }


async def test_order_items_example_and_filter_spellings(client: Client) -> None:
    assert await results(client, "order-items/", order__number=EXAMPLE_ORDER_NUMBER) == [PAGE_ITEM]
    for odd, plain in [
        ("ordernumbercontains", "order__number__contains"),
        ("ordernumbericontains", "order__number__icontains"),
    ]:
        a = await results(client, "order-items/", **{odd: "9000"})
        b = await results(client, "order-items/", **{plain: "9000"})
        assert a == b
        assert a
    for op, moment in [("gte", "2025-12-01T00:00:00Z"), ("lt", "2019-06-01")]:
        a = await results(client, "order-items/", **{f"orderdate_placed{op}": moment})
        b = await results(client, "order-items/", **{f"order__date_placed__{op}": moment})
        assert a == b
        assert a
    old = await results(client, "order-items/", order__date_placed__lt="2019-06-01")
    assert [i["id"] for i in old] == [EXAMPLE_ITEM_ID]
    plan_items = await results(client, "order-items/", order__in=EXAMPLE_PLAN_ORDER_ID)
    assert sorted(i["id"] for i in plan_items) == sorted(EXAMPLE_PLAN_ITEM_IDS)
    assert {i["status"] for i in plan_items} == {700}
    cheap = await results(client, "order-items/", price__lt="20", price_currency="TRY")
    assert all(float(i["price"]) < 20 and i["price_currency"] == "try" for i in cheap)


async def test_cancellation_plans(client: Client) -> None:
    assert await results(client, "cancellation-plans/", order=EXAMPLE_PLAN_ORDER_ID) == [PAGE_PLAN]
    by_item = await results(client, "cancellation-plans/", order_items=EXAMPLE_PLAN_ITEM_IDS[1])
    assert [p["id"] for p in by_item] == [EXAMPLE_PLAN_ID]
    by_number = await results(client, "cancellation-plans/", order__number=PLAN_ORDER_NUMBER)
    assert [p["id"] for p in by_number] == [EXAMPLE_PLAN_ID]
    refunds = await results(client, "cancellation-plans/", plan_type="refund", refund_amount="0")
    assert refunds
    assert all(p["plan_type"] == "refund" and p["status"] != "completed" for p in refunds)
    status, body = await get(client, "cancellation-plans/", status="lost")
    assert (status, body["code"]) == (400, "invalid")
    batch = await results(client, "cancellation-plans/", id__in=EXAMPLE_PLAN_ID, payment_plan="{}")
    assert len(batch) == 1


async def test_customer_addresses(client: Client) -> None:
    assert await results(client, "customer-addresses/", id=EXAMPLE_ADDRESS_ID) == [PAGE_ADDRESS]
    both = await results(
        client, "customer-addresses/", id__in=f"{EXAMPLE_ADDRESS_ID},{EXAMPLE_SHIPPING_ADDRESS_ID}"
    )
    assert {a["id"] for a in both} == {EXAMPLE_ADDRESS_ID, EXAMPLE_SHIPPING_ADDRESS_ID}
    found = await results(client, "customer-addresses/", email="akinon@akinon.com", is_active="1")
    assert [a["id"] for a in found] == [EXAMPLE_ADDRESS_ID]
    same_city = await results(client, "customer-addresses/", city=str(PAGE_ADDRESS["city"]))
    assert len(same_city) > 1


# Reject --------------------------------------------------------------------------------------


async def test_reject_moves_items_then_the_order_to_rejected(client: Client) -> None:
    first, second = REJECTABLE_ITEM_IDS
    assert await reject(client, first) == (204, b"")
    [order] = await results(client, "orders/", number=REJECTABLE_ORDER_NUMBER)
    assert order["status"] == 100  # one item still open
    assert await reject(client, second) == (204, b"")
    items = await results(client, "order-items/", order__number=REJECTABLE_ORDER_NUMBER)
    assert {(i["status"], i["cancel_status"]) for i in items} == {(900, None)}
    [order] = await results(client, "orders/", number=REJECTABLE_ORDER_NUMBER)
    assert order["status"] == 900
    status, body = await reject(client, first)
    assert status == 400
    assert b"already rejected" in body


@pytest.mark.parametrize(
    ("item_id", "message"),
    [
        (EXAMPLE_ITEM_ID, "Packaged order items cannot be rejected."),
        (EXAMPLE_PLAN_ITEM_IDS[0], "Cancelled order items cannot be rejected."),
    ],
)
async def test_reject_refusals(client: Client, item_id: str, message: str) -> None:
    response = await client.post(f"/api/i1/order-items/{item_id}/reject/", headers=HEADERS)
    assert response.status == 400
    assert await response.json() == {
        "non_field_errors": [message],
        "code": "order_item_not_rejectable",
    }


async def test_reject_unknown_item_is_not_found(client: Client) -> None:
    for item_id in ("0d7f4c1e-3b9a-4d2e-8f6a-1c2b3d4e5f60", "not-a-uuid"):
        response = await client.post(f"/api/i1/order-items/{item_id}/reject/", headers=HEADERS)
        assert response.status == 404
        assert await response.json() == {"detail": "Not found."}


# Data, faults, routes ------------------------------------------------------------------------


def test_seeded_data_is_deterministic_and_covers_every_status() -> None:
    first, again, other = build(0), build(0), build(1)
    assert [o.data for o in first.orders] == [o.data for o in again.orders]
    assert [o.data for o in first.orders] != [o.data for o in other.orders]
    assert len(first.orders) >= 200
    statuses = {o.data["status"] for o in first.orders}
    assert statuses == {100, 200, 300, 400, 450, 500, 600, 700, 800, 900}
    assert {p.data["plan_type"] for p in first.plans} == {"refund", "cancel"}


async def test_malformed_fault_and_unknown_route(client: Client) -> None:
    client.app[FAULTS].malformed = True
    response = await client.get("/api/i1/orders/", headers=HEADERS)
    assert response.status == 200
    assert (await response.read()).startswith(b'{"truncated"')
    client.app[FAULTS].malformed = False
    assert (await client.get("/api/i1/products/", headers=HEADERS)).status == 404
    assert len(requests_to(client.app, "/api/i1/orders/", "GET")) == 1


async def test_ignored_filters_answer_as_a_deployment_without_them(client: Client) -> None:
    """``ignore`` plays a deployment whose filterset lacks a parameter: DRF skips it, so the
    list answers every record, on that path only; its other filters still apply."""
    state = client.app[STATE]
    total = len(state.data.items)
    state.ignore("order-items/", "order__in")
    status, body = await get(client, "order-items/", order__in=EXAMPLE_PLAN_ORDER_ID, limit="1")
    assert (status, body["count"]) == (200, total)
    by_number = await results(client, "order-items/", order__number=PLAN_ORDER_NUMBER)
    assert sorted(i["id"] for i in by_number) == sorted(EXAMPLE_PLAN_ITEM_IDS)
    plans = await results(client, "cancellation-plans/", order__in=EXAMPLE_PLAN_ORDER_ID)
    assert [p["id"] for p in plans] == [EXAMPLE_PLAN_ID]


async def test_html_errors_answer_a_path_as_a_proxy_does(client: Client) -> None:
    client.app[STATE].html_errors["auth/login/"] = 502
    response = await client.post("/api/i1/auth/login/", json=CREDENTIALS)
    assert response.status == 502
    assert response.content_type == "text/html"
    assert (await response.text()).startswith("<html><head><title>502</title>")
    assert (await client.get("/api/i1/orders/", headers=HEADERS)).status == 200
