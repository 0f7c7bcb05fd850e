"""Direct HTTP tests of the Lipa Later open platform sandbox."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from providers.sandbox import lipalater_data as d
from providers.sandbox.faults import FAULTS, requests_to
from providers.sandbox.lipalater import CREDENTIALS, STATE, STATIC_TOKEN, create_app

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[[web.Application], Awaitable[Client]]

ORDER = "/open/op/order"
# The page's own create example, verbatim.
PAGE_CREATE_BODY: dict[str, Any] = {
    "actTotalFee": 0,
    "outOrderNo": "",
    "productList": [
        {
            "actTotalFee": 0,
            "brand": "",
            "price": 0,
            "productLogo": "",
            "productName": "",
            "productNo": "",
            "productNum": 0,
            "salePrice": 0,
            "skuDesc": "",
        }
    ],
    "storeId": "",
}
PHONE_BODY: dict[str, Any] = {
    "actTotalFee": 50000,
    "outOrderNo": "SHOP-778",
    "productList": [
        {
            "actTotalFee": 50000,
            "brand": "Samsung",
            "price": 25000,
            "productLogo": "https://example.com/a15.png",
            "productName": "Galaxy A15",
            "productNo": "P1001",
            "productNum": 2,
            "salePrice": 50000,
            "skuDesc": "128GB black",
        }
    ],
    "storeId": "ST001",
}
DETAIL_KEYS = {
    "actTotalFee", "closeReason", "closeTime", "createTime", "creditFee", "creditPayNo",
    "creditPayStatusEnum", "creditPayTime", "depositFee", "installPlanId", "memberId", "orderNo",
    "orderProductList", "orderStatusEnum", "outOrderNo", "payStatusEnum", "payTime", "prePayNo",
    "prePayTime", "prepayFee", "storeId", "totalFee", "upFrontFee", "updateTime",
}  # fmt: skip


def sign_headers(
    method: str, path: str, query: dict[str, str], body: str, *, token: str = STATIC_TOKEN
) -> dict[str, str]:
    """The documented signature, written independently of the sandbox and the connector:
    method, the target (the path, "?" and the query sorted by name when there is one),
    timestamp, nonce and body, joined by newlines."""
    timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
    target = path + ("?" + "&".join(f"{k}={query[k]}" for k in sorted(query)) if query else "")
    text = "\n".join([method, target, timestamp, nonce, body])
    mac = hmac.new(CREDENTIALS["app_secret"].encode(), text.encode(), hashlib.sha256).digest()
    return {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Noncestr": nonce,
        "Timestamp": timestamp,
        "Sign": base64.b64encode(mac).decode(),
    }


async def call(
    client: Client,
    method: str,
    path: str,
    body: Any = None,
    query: dict[str, str] | None = None,
    token: str = STATIC_TOKEN,
) -> dict[str, Any]:
    text = "" if body is None else json.dumps(body)
    query = query or {}
    headers = sign_headers(method, path, query, text, token=token)
    url = path + ("?" + urlencode(query) if query else "")
    async with client.request(method, url, data=text or None, headers=headers) as resp:
        assert resp.status == 200
        assert resp.headers["X-Request-ID"]
        result: dict[str, Any] = await resp.json()
        return result


def refused(msg: str) -> dict[str, Any]:
    return {"code": 500, "msg": msg, "data": None, "success": False}


@pytest.fixture
async def client(aiohttp_client: MakeClient) -> Client:
    return await aiohttp_client(create_app())


async def create(client: Client, member: str = "100009", body: Any = PHONE_BODY) -> str:
    answer = await call(client, "POST", f"{ORDER}/{member}/create", body)
    assert answer["success"] is True
    order_no: str = answer["data"]["orderNo"]
    return order_no


async def test_token_with_basic_credentials(client: Client) -> None:
    basic = base64.b64encode(f"{CREDENTIALS['api_key']}:{CREDENTIALS['api_secret']}".encode())
    resp = await client.get(
        "/open/op/platform/token/", headers={"Authorization": f"Basic {basic.decode()}"}
    )
    answer = await resp.json()
    assert answer["code"] == 200
    assert answer["success"] is True
    assert answer["msg"] == "success"
    assert answer["data"]["tokenType"] == "Bearer"
    assert answer["data"]["expiresSeconds"] == 300
    token = answer["data"]["accessToken"]
    detail = await call(client, "GET", f"{ORDER}/100001/detail/8800000001", token=token)
    assert detail["success"] is True


async def test_token_refuses_bad_basic(client: Client) -> None:
    wrong = base64.b64encode("kéy:wrong".encode()).decode()
    for header in ("", "Basic !!!", "Basic " + wrong, f"Bearer {STATIC_TOKEN}"):
        resp = await client.get("/open/op/platform/token/", headers={"Authorization": header})
        assert resp.status == 200
        assert await resp.json() == refused("No credentials")


async def test_expired_and_unknown_tokens_are_refused(aiohttp_client: MakeClient) -> None:
    client = await aiohttp_client(create_app(token_ttl_s=0.05))
    basic = base64.b64encode(f"{CREDENTIALS['api_key']}:{CREDENTIALS['api_secret']}".encode())
    resp = await client.get(
        "/open/op/platform/token/", headers={"Authorization": f"Basic {basic.decode()}"}
    )
    token = (await resp.json())["data"]["accessToken"]
    path = f"{ORDER}/100001/detail/8800000001"
    assert (await call(client, "GET", path, token=token))["success"] is True
    await asyncio.sleep(0.06)
    assert await call(client, "GET", path, token=token) == refused("invalid token")
    assert await call(client, "GET", path, token="nope") == refused("invalid token")
    resp = await client.get(path)
    assert await resp.json() == refused("invalid token")


async def test_bad_signatures_are_refused(client: Client) -> None:
    path = f"{ORDER}/100001/detail/8800000001"
    good = sign_headers("GET", path, {}, "")
    for change in ({"Sign": "AAAA"}, {"Timestamp": str(int(time.time()) - 301)}, {"Noncestr": "x"}):
        resp = await client.get(path, headers={**good, **change})
        assert await resp.json() == refused("invalid sign")
    no_sign = {k: v for k, v in good.items() if k != "Sign"}
    assert await (await client.get(path, headers=no_sign)).json() == refused("invalid sign")
    # The query string is signed: a tampered query fails.
    query = {"countryId": "10001", "orderNo": "8800000001", "loanProductId": "1"}
    headers = sign_headers("GET", f"{ORDER}/calculateSchedule/", query, "")
    resp = await client.get(
        f"{ORDER}/calculateSchedule/", params={**query, "loanProductId": "2"}, headers=headers
    )
    assert await resp.json() == refused("invalid sign")


async def test_a_replayed_request_is_refused_and_changes_nothing(client: Client) -> None:
    """The same signed create sent twice (same Noncestr, Timestamp and Sign) is one order: the
    second is refused as the page's bad signature, and so is a replayed read."""
    assert client.app is not None
    orders = len(client.app[STATE].orders)
    path, text = f"{ORDER}/100009/create", json.dumps(PHONE_BODY)
    headers = sign_headers("POST", path, {}, text)
    first = await (await client.post(path, data=text, headers=headers)).json()
    assert first["success"] is True
    again = await (await client.post(path, data=text, headers=headers)).json()
    assert again == refused("invalid sign")
    assert len(client.app[STATE].orders) == orders + 1
    detail = f"{ORDER}/100009/detail/{first['data']['orderNo']}"
    headers = sign_headers("GET", detail, {}, "")
    assert (await (await client.get(detail, headers=headers)).json())["success"] is True
    assert await (await client.get(detail, headers=headers)).json() == refused("invalid sign")


async def test_create_with_the_page_example(client: Client) -> None:
    answer = await call(client, "POST", f"{ORDER}/123/create", PAGE_CREATE_BODY)
    assert answer["code"] == 0
    assert answer["success"] is True
    data = answer["data"]
    assert set(data) == {
        "actTotalFee", "createTime", "memberId", "orderNo", "orderProductList", "outOrderNo",
        "storeId", "totalFee", "updateTime",
    }  # fmt: skip
    assert data["memberId"] == "123"
    assert data["outOrderNo"] == ""
    assert data["orderNo"].isdigit()
    assert data["totalFee"] == 0
    assert data["orderProductList"][0]["productNum"] == 0


async def test_create_computes_amounts_and_detail_reads_back(client: Client) -> None:
    answer = await call(client, "POST", f"{ORDER}/100009/create", PHONE_BODY)
    data = answer["data"]
    assert data["orderNo"] == str(d.FIRST_ORDER_NO + d.SEED_ORDER_COUNT)
    assert data["totalFee"] == data["actTotalFee"] == 50000
    assert data["outOrderNo"] == "SHOP-778"
    item = data["orderProductList"][0]
    assert item["totalFee"] == 50000
    assert item["orderNo"] == data["orderNo"]
    assert item["storeId"] == "ST001"

    detail = (await call(client, "GET", f"{ORDER}/100009/detail/{data['orderNo']}"))["data"]
    assert set(detail) == DETAIL_KEYS
    assert detail["orderStatusEnum"] == "CREATED"
    assert detail["payStatusEnum"] == "UNPAID"
    assert detail["creditPayStatusEnum"] == "NOT_APPLIED"
    assert detail["depositFee"] == 5000
    assert detail["creditFee"] == 45000
    assert detail["upFrontFee"] == 500
    assert detail["prepayFee"] == 5500
    assert detail["installPlanId"] == 0
    assert detail["closeReason"] == detail["closeTime"] == detail["payTime"] == ""


async def test_create_refuses_bad_parameters(client: Client) -> None:
    path = f"{ORDER}/100009/create"
    assert await call(client, "POST", path, {**PHONE_BODY, "productList": []}) == refused(
        "Parameter error: productList"
    )
    bad_item = {**PHONE_BODY["productList"][0], "price": "ten"}
    assert await call(client, "POST", path, {**PHONE_BODY, "productList": [bad_item]}) == refused(
        "Parameter error: price"
    )
    no_store = {k: v for k, v in PHONE_BODY.items() if k != "storeId"}
    assert await call(client, "POST", path, no_store) == refused("Parameter error: storeId")


# What the page's tables mark required, at the top of the body and in each product.
REQUIRED_TOP = ("actTotalFee", "outOrderNo", "productList", "storeId")
REQUIRED_PRODUCT = (
    "actTotalFee", "brand", "price", "productLogo", "productName", "productNo", "productNum",
    "salePrice", "skuDesc",
)  # fmt: skip


@pytest.mark.parametrize(
    ("where", "name"),
    [("body", n) for n in REQUIRED_TOP] + [("product", n) for n in REQUIRED_PRODUCT],
)
async def test_create_refuses_a_missing_required_field(
    client: Client, where: str, name: str
) -> None:
    """Missing (or null) is refused by the field's name with the page's error envelope; blank,
    as in the page's own example, is a value (test_create_with_the_page_example)."""
    assert client.app is not None
    orders = dict(client.app[STATE].orders)
    if where == "body":
        bodies = [{k: v for k, v in PHONE_BODY.items() if k != name}, {**PHONE_BODY, name: None}]
    else:
        product = PHONE_BODY["productList"][0]
        without = {k: v for k, v in product.items() if k != name}
        bodies = [
            {**PHONE_BODY, "productList": [without]},
            {**PHONE_BODY, "productList": [{**product, name: None}]},
        ]
    for body in bodies:
        answer = await call(client, "POST", f"{ORDER}/100009/create", body)
        assert answer == refused(f"Parameter error: {name}")
    assert client.app[STATE].orders == orders  # nothing created


@pytest.mark.parametrize("value", ["100.555", 100.5, "100.50", 100.0, -100, "1e2"])
@pytest.mark.parametrize(
    ("where", "name"),
    [("product", n) for n in ("price", "salePrice", "actTotalFee", "productNum")]
    + [("body", "actTotalFee")],
)
async def test_create_refuses_an_amount_or_count_that_is_not_whole(
    client: Client, where: str, name: str, value: object
) -> None:
    """The page types them integer: refused by name, never rounded (price "100.555" was stored
    as 100.56); whole numbers and strings of digits are taken (the other create tests)."""
    assert client.app is not None
    orders = dict(client.app[STATE].orders)
    product = PHONE_BODY["productList"][0]
    body = (
        {**PHONE_BODY, name: value}
        if where == "body"
        else {**PHONE_BODY, "productList": [{**product, name: value}]}
    )
    answer = await call(client, "POST", f"{ORDER}/100009/create", body)
    assert answer == refused(f"Parameter error: {name}")
    assert client.app[STATE].orders == orders


async def test_create_takes_either_spelling_of_sale_price_and_keeps_act_total_fee(
    client: Client,
) -> None:
    """The table spells "saleprice", the example "salePrice"; actTotalFee (the total paid, a
    discount say) is answered as sent, totalFee worked out from price x productNum."""
    product = {k: v for k, v in PHONE_BODY["productList"][0].items() if k != "salePrice"}
    product |= {"saleprice": 49000, "actTotalFee": 48000}
    body = {**PHONE_BODY, "actTotalFee": "48000", "productList": [product]}  # string: its table
    data = (await call(client, "POST", f"{ORDER}/100009/create", body))["data"]
    assert (data["actTotalFee"], data["totalFee"]) == (48000, 50000)
    [item] = data["orderProductList"]
    assert (item["actTotalFee"], item["salePrice"], item["totalFee"]) == (48000, 49000, 50000)
    detail = (await call(client, "GET", f"{ORDER}/100009/detail/{data['orderNo']}"))["data"]
    assert (detail["actTotalFee"], detail["totalFee"], detail["depositFee"]) == (48000, 50000, 5000)


async def test_every_order_success_answers_code_0_and_the_token_200(client: Client) -> None:
    """As the page's examples show (the token endpoint is not on the page)."""
    order_no = await create(client)
    member = "100009"
    schedule = {"countryId": "10001", "orderNo": order_no, "loanProductId": "1"}
    calls: list[tuple[str, str, Any, dict[str, str] | None]] = [
        ("POST", f"{ORDER}/{member}/create", PHONE_BODY, None),
        ("GET", f"{ORDER}/{member}/detail/{order_no}", None, None),
        ("GET", f"{ORDER}/calculateSchedule/", None, schedule),
        ("POST", f"{ORDER}/{member}/confirm/{order_no}/", {"installPlanId": "1"}, None),
        ("GET", f"{ORDER}/{member}/checkCreditStatus/{order_no}", None, None),
        ("GET", f"{ORDER}/{member}/acceptContract/{order_no}", None, None),
    ]
    for method, path, body, query in calls:
        answer = await call(client, method, path, body, query)
        assert (answer["code"], answer["success"]) == (0, True), path
    other = await create(client)
    confirmed = await call(
        client, "POST", f"{ORDER}/{member}/confirm/{other}/", {"installPlanId": 1}
    )
    assert confirmed["code"] == 0
    answer = await call(client, "GET", f"{ORDER}/{member}/rejectContract/{other}")
    assert (answer["code"], answer["success"]) == (0, True)
    basic = base64.b64encode(f"{CREDENTIALS['api_key']}:{CREDENTIALS['api_secret']}".encode())
    resp = await client.get(
        "/open/op/platform/token/", headers={"Authorization": f"Basic {basic.decode()}"}
    )
    assert (await resp.json())["code"] == 200


async def test_detail_of_unknown_order_or_other_member(client: Client) -> None:
    assert await call(client, "GET", f"{ORDER}/100001/detail/1") == refused("Data does not exist")
    assert await call(client, "GET", f"{ORDER}/100002/detail/8800000001") == refused(
        "Data does not exist"
    )


async def test_seeded_orders(aiohttp_client: MakeClient) -> None:
    app = create_app(seed=7)
    orders = app[STATE].orders
    assert len(orders) == d.SEED_ORDER_COUNT >= 20
    assert list(orders) == list(d.SEED_ORDER_NOS)
    assert create_app(seed=7)[STATE].orders == orders
    client = await aiohttp_client(app)
    for (order_no, member), status in zip(
        (d.SEED_CREATED, d.SEED_CONFIRMED, d.SEED_COMPLETED, d.SEED_CLOSED, d.SEED_CANCELLED),
        ("CREATED", "CONFIRMED", "COMPLETED", "CLOSED", "CANCELLED"),
        strict=True,
    ):
        detail = (await call(client, "GET", f"{ORDER}/{member}/detail/{order_no}"))["data"]
        assert detail["orderStatusEnum"] == status
        assert set(detail) == DETAIL_KEYS


async def test_schedule_sums(client: Client) -> None:
    order_no = await create(client)
    for country, product, months in (("10001", "1", 3), ("1001", "3", 12)):
        query = {"countryId": country, "orderNo": order_no, "loanProductId": product}
        answer = await call(client, "GET", f"{ORDER}/calculateSchedule/", query=query)
        assert answer["code"] == 0
        data = answer["data"]
        assert data["currency"] == "KES"
        assert data["deposit"] == 5000
        assert data["totalPrincipal"] == 45000
        periods = data["periods"]
        assert len(periods) == months
        assert len(periods[0]) == 38  # every field of the page's period

        def total(key: str, rows: list[dict[str, Any]] = periods) -> Decimal:
            return sum((Decimal(str(p[key])) for p in rows), Decimal(0))

        assert total("principalDue") == Decimal(str(data["totalPrincipal"]))
        assert total("interestDue") == Decimal(str(data["totalInterest"]))
        assert Decimal(str(data["totalRepayment"])) == Decimal(
            str(data["totalPrincipal"])
        ) + Decimal(str(data["totalInterest"]))
        assert periods[-1]["principalLoanBalanceOutstanding"] == 0


async def test_schedule_refusals(client: Client) -> None:
    path = f"{ORDER}/calculateSchedule/"
    base = {"countryId": "10001", "orderNo": "8800000001", "loanProductId": "1"}
    for change in ({"countryId": "254"}, {"orderNo": "1"}, {"loanProductId": "9"}):
        answer = await call(client, "GET", path, query={**base, **change})
        assert answer == refused("Data does not exist")
    answer = await call(client, "GET", path, query={"orderNo": "8800000001", "loanProductId": "1"})
    assert answer == refused("Parameter error: countryId")


async def test_confirm_accept_flow(client: Client) -> None:
    order_no = await create(client)
    confirm = f"{ORDER}/100009/confirm/{order_no}/"
    answer = await call(client, "POST", confirm, {"installPlanId": "2"})
    assert answer["code"] == 0
    assert answer["data"]["orderStatusEnum"] == "CONFIRMED"
    assert answer["data"]["creditPayStatusEnum"] == "APPLYING"
    assert answer["data"]["installPlanId"] == 2
    assert await call(client, "POST", confirm, {"installPlanId": 2}) == refused(
        "Order has been confirmed"
    )
    credit = await call(client, "GET", f"{ORDER}/100009/checkCreditStatus/{order_no}")
    assert credit["data"]["creditPayStatusEnum"] == "APPLYING"

    accept = f"{ORDER}/100009/acceptContract/{order_no}"
    assert await call(client, "GET", accept) == {
        "code": 0,
        "msg": "success",
        "data": {},
        "success": True,
    }
    assert await call(client, "GET", accept) == refused("Contract has been accepted")
    reject = f"{ORDER}/100009/rejectContract/{order_no}"
    assert await call(client, "GET", reject) == refused("Contract has been accepted")
    detail = (await call(client, "GET", f"{ORDER}/100009/checkCreditStatus/{order_no}"))["data"]
    assert detail["orderStatusEnum"] == "COMPLETED"
    assert detail["creditPayStatusEnum"] == "APPROVED"
    assert detail["payStatusEnum"] == "PAID"
    assert detail["creditPayNo"]
    assert detail["payTime"]
    cancel = await call(
        client, "POST", f"{ORDER}/100009/cancelOrder", {"orderNo": order_no, "reason": "x"}
    )
    assert cancel == refused("Contract has been accepted")


async def test_confirm_from_query_and_reject(client: Client) -> None:
    order_no = await create(client)
    reject = f"{ORDER}/100009/rejectContract/{order_no}"
    assert await call(client, "GET", reject) == refused("Order has not been confirmed")
    confirm = f"{ORDER}/100009/confirm/{order_no}/"
    assert await call(client, "POST", confirm) == refused("Parameter error: installPlanId")
    assert await call(client, "POST", confirm, {"installPlanId": 8}) == refused(
        "Data does not exist"
    )
    answer = await call(client, "POST", confirm, query={"installPlanId": "1"})
    assert answer["data"]["installPlanId"] == 1
    assert (await call(client, "GET", reject))["success"] is True
    detail = (await call(client, "GET", f"{ORDER}/100009/detail/{order_no}"))["data"]
    assert detail["orderStatusEnum"] == "CLOSED"
    assert detail["creditPayStatusEnum"] == "REJECTED"
    assert detail["closeReason"] == "Contract rejected"
    accept = f"{ORDER}/100009/acceptContract/{order_no}"
    assert await call(client, "GET", accept) == refused("Contract has been rejected")


async def test_cancel(client: Client) -> None:
    order_no = await create(client)
    cancel = f"{ORDER}/100009/cancelOrder"
    answer = await call(
        client, "POST", cancel, {"orderNo": int(order_no), "reason": "Changed mind"}
    )
    assert answer == {"code": 0, "msg": "success", "data": "", "success": True}
    detail = (await call(client, "GET", f"{ORDER}/100009/detail/{order_no}"))["data"]
    assert detail["orderStatusEnum"] == "CANCELLED"
    assert detail["closeReason"] == "Changed mind"
    assert detail["closeTime"]
    again = {"orderNo": order_no, "reason": "again"}
    assert await call(client, "POST", cancel, again) == refused("Order has been cancelled")
    confirm = f"{ORDER}/100009/confirm/{order_no}/"
    assert await call(client, "POST", confirm, {"installPlanId": "1"}) == refused(
        "Order has been cancelled"
    )
    accept = f"{ORDER}/100009/acceptContract/{order_no}"
    assert await call(client, "GET", accept) == refused("Order has been cancelled")
    assert await call(client, "POST", cancel, {"orderNo": order_no}) == refused(
        "Parameter error: reason"
    )
    other = await call(client, "POST", f"{ORDER}/100001/cancelOrder", again)
    assert other == refused("Data does not exist")


async def test_cancel_a_confirmed_seed_order(client: Client) -> None:
    order_no, member = d.SEED_CONFIRMED
    body = {"orderNo": order_no, "reason": "Out of stock"}
    assert (await call(client, "POST", f"{ORDER}/{member}/cancelOrder", body))["success"] is True
    detail = (await call(client, "GET", f"{ORDER}/{member}/detail/{order_no}"))["data"]
    assert detail["orderStatusEnum"] == "CANCELLED"
    assert detail["creditPayStatusEnum"] == "CANCELLED"


async def test_paths_are_exact(client: Client) -> None:
    for path in (
        f"{ORDER}/100001/create/",
        f"{ORDER}/calculateSchedule",
        "/open/op/platform/token",
    ):
        resp = await client.get(path)
        assert resp.status in (404, 405)
        assert resp.headers["X-Request-ID"]


async def test_request_ids_are_deterministic(aiohttp_client: MakeClient) -> None:
    ids = []
    for _ in range(2):
        client = await aiohttp_client(create_app(seed=3))
        resp = await client.get("/open/op/platform/token/")
        ids.append(resp.headers["X-Request-ID"])
    assert ids[0] == ids[1]


async def test_malformed_fault(client: Client) -> None:
    assert client.app is not None
    client.app[FAULTS].malformed = True
    path = f"{ORDER}/100001/detail/8800000001"
    resp = await client.get(path, headers=sign_headers("GET", path, {}, ""))
    assert resp.status == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(await resp.text())
    assert len(requests_to(client.app, "/detail/")) == 1
