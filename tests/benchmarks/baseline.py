"""The floor: a hand-written Starlette + aiohttp endpoint for exactly the benchmark's workloads.

It answers the same documents with the same JSON as the gateway, making the minimal upstream
calls with one shared session and no GraphQL machinery at all: the document is a dictionary key.
Run by the benchmark as ``uvicorn tests.benchmarks.baseline:app`` with ``BENCH_SANDBOXES`` (what
``tests.benchmarks.sandboxes`` printed) and ``BENCH_AVAILABLE`` (the connectors that landed).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import aiohttp
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from graph.config import DEV_KEY
from providers.lipalater_sign import sign
from tests.benchmarks import workloads as w

Record = dict[str, Any]
SANDBOXES: dict[str, Any] = json.loads(os.environ.get("BENCH_SANDBOXES", "{}"))
AVAILABLE = set(filter(None, os.environ.get("BENCH_AVAILABLE", "").split(",")))
CENT = Decimal("0.01")
AKINON_STATUS = {
    100: "PENDING", 200: "APPROVED", 300: "PROCESSING", 400: "PACKAGED", 500: "SHIPPED",
    600: "DELIVERED", 700: "CANCELLATION_REQUESTED", 800: "CANCELLED", 900: "REJECTED",
}  # fmt: skip
LIPALATER_STATUS = {"CREATED": "PENDING", "CONFIRMED": "PROCESSING", "COMPLETED": "COMPLETED"}
KALIXO_STATUS = {"requested": "PENDING", "processing": "PROCESSING", "completed": "COMPLETED"}

session: aiohttp.ClientSession


def gid(kind: str, provider: str, key: str) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{provider}:{key}".encode()).decode().rstrip("=")


def dec(value: Any) -> str | None:
    return None if value is None or value == "" else str(Decimal(str(value)))


def cents(value: Any) -> str:
    return str(Decimal(str(value)).quantize(CENT))


def when(value: Any) -> str | None:
    return datetime.fromisoformat(value).isoformat() if value else None


async def get_json(name: str, path: str, headers: dict[str, str], params: Any = None) -> Any:
    url = path if path.startswith("http") else SANDBOXES[name]["base_url"] + path
    async with session.get(url, params=params, headers=headers) as response:
        return orjson.loads(await response.read())


# -- Akinon -------------------------------------------------------------------------------


def akinon_headers() -> dict[str, str]:
    value = f"Bearer {SANDBOXES['akinon']['settings']['token']}"
    return {"Authorization": value, "Authentication": value, "Content-Type": "application/json"}


async def akinon_all(path: str, params: dict[str, str]) -> list[Record]:
    """Every record of a filtered list, following ``next``."""
    body = await get_json("akinon", "/api/i1/" + path, akinon_headers(), params)
    records = list(body["results"])
    while body.get("next"):
        body = await get_json("akinon", body["next"], akinon_headers())
        records += body["results"]
    return records


def akinon_money(amount: Any, currency: Any) -> Record | None:
    return (
        None if amount in (None, "") else {"amount": dec(amount), "currency": str(currency).upper()}
    )


def akinon_status(code: Any) -> str:
    return AKINON_STATUS.get(code, "UNKNOWN")


async def w1() -> Record:
    found = await akinon_all("orders/", {"number": w.AKINON_NUMBER})
    r = found[0]
    return {
        "orderByNumber": {
            "id": gid("Order", "akinon", r["id"]),
            "number": r["number"],
            "status": akinon_status(r["status"]),
            "providerStatus": str(r["status"]),
            "placedAt": when(r["date_placed"]),
            "total": akinon_money(r["amount"], r["currency"]),
        }
    }


async def w3() -> Record:
    body = await get_json(
        "akinon", "/api/i1/orders/", akinon_headers(), {"page": "1", "limit": "50"}
    )
    orders = body["results"]
    order_ids = ",".join(o["id"] for o in orders)
    address_ids = {o[k] for o in orders for k in ("shipping_address", "billing_address") if o[k]}
    items, addresses, plans = await asyncio.gather(
        akinon_all("order-items/", {"order__in": order_ids, "limit": "100"}),
        akinon_all("customer-addresses/", {"id__in": ",".join(address_ids), "limit": "100"}),
        akinon_all("cancellation-plans/", {"order__in": order_ids, "limit": "100"}),
    )
    items_of: dict[str, list[Record]] = {}
    for i in items:
        items_of.setdefault(i["order"], []).append(i)
    plans_of: dict[str, list[Record]] = {}
    for p in plans:
        plans_of.setdefault(p["order"], []).append(p)
    by_id = {a["id"]: a for a in addresses}

    def address(key: str | None, *fields: str) -> Record | None:
        a = by_id.get(key) if key else None
        if a is None:
            return None
        return {"id": gid("CustomerAddress", "akinon", a["id"]), **{f: a.get(f) for f in fields}}

    nodes = [
        {
            "id": gid("Order", "akinon", o["id"]),
            "number": o["number"],
            "status": akinon_status(o["status"]),
            "total": akinon_money(o["amount"], o["currency"]),
            "items": [
                {
                    "id": gid("OrderItem", "akinon", i["id"]),
                    "sku": i.get("sku"),
                    "quantity": 1,
                    "status": akinon_status(i["status"]),
                    "unitPrice": akinon_money(i.get("price"), i.get("price_currency") or "USD"),
                }
                for i in items_of.get(o["id"], ())
            ],
            "shippingAddress": address(o["shipping_address"], "city", "line"),
            "billingAddress": address(o["billing_address"], "city"),
            "cancellationPlans": [
                {
                    "id": gid("CancellationPlan", "akinon", p["id"]),
                    "planType": p.get("plan_type"),
                    "status": p.get("status"),
                }
                for p in plans_of.get(o["id"], ())
            ],
        }
        for o in orders
    ]
    return {"orders": {"totalCount": body["count"], "nodes": nodes}}


def w5_node(o: Record) -> Record:
    amounts = [o.get(k) for k in ("refund_amount", "shipping_refund_amount")]
    given = [Decimal(a) for a in amounts if a not in (None, "")]
    total, refunded = Decimal(o["amount"]), sum(given, Decimal())
    paid = "PAID" if refunded <= 0 else "REFUNDED" if refunded >= total else "PARTIALLY_REFUNDED"
    currency = o["currency"].upper()
    return {
        "id": gid("Order", "akinon", o["id"]),
        "number": o["number"],
        "status": akinon_status(o["status"]),
        "providerStatus": str(o["status"]),
        "paymentStatus": paid,
        "placedAt": when(o["date_placed"]),
        "currency": currency,
        "invoiceNumber": o.get("invoice_number"),
        "total": {"amount": dec(o["amount"]), "currency": currency},
        "refunded": {"amount": dec(refunded)} if given else None,
    }


async def w5() -> Record:
    pages = await asyncio.gather(
        *(
            get_json("akinon", "/api/i1/orders/", akinon_headers(), {"page": p, "limit": "100"})
            for p in ("1", "2")
        )
    )
    return {
        f"p{n}": {"nodes": [w5_node(o) for o in page["results"]]} for n, page in enumerate(pages, 1)
    }


# -- the other providers (W2, W4) -----------------------------------------------------------


async def lipalater(path: str, params: dict[str, str] | None = None) -> Record:
    settings = SANDBOXES["lipalater"]["settings"]
    timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
    signature = sign(
        settings["app_secret"], "GET", path, (params or {}).items(), timestamp, nonce, ""
    )
    headers = {
        "Authorization": f"Bearer {settings['token']}",
        "Content-Type": "application/json",
        "Noncestr": nonce,
        "Timestamp": timestamp,
        "Sign": signature,
    }
    body: Record = (await get_json("lipalater", path, headers, params))["data"]
    return body


LIPALATER_ORDER = f"/open/op/order/{w.LIPALATER_MEMBER}/detail/{w.LIPALATER_ORDER}"
LIPALATER_KEY = f"{w.LIPALATER_MEMBER}/{w.LIPALATER_ORDER}"


async def w2_akinon() -> Record:
    r = (await akinon_all("orders/", {"number": w.AKINON_NUMBER}))[0]
    return {
        "id": gid("Order", "akinon", r["id"]),
        "provider": "AKINON",
        "number": r["number"],
        "status": akinon_status(r["status"]),
        "total": akinon_money(r["amount"], r["currency"]),
    }


async def w2_frontpayment() -> Record:
    headers = {
        "Authorization": f"Bearer {SANDBOXES['frontpayment']['settings']['token']}",
        "Accept": "application/json",
    }
    path = f"/api/v1/connect/orders/details/{w.FRONTPAYMENT_UUID}"
    d = (await get_json("frontpayment", path, headers))["data"]
    return {
        "id": gid("Order", "frontpayment", d["orderUuid"]),
        "provider": "FRONTPAYMENT",
        "number": d["orderUuid"],
        "status": d["status"],
        "total": {"amount": cents(d["orderSummary"]["grandTotal"]), "currency": "NOK"},
    }


async def w2_kalixo() -> Record:
    headers = {"Authorization": f"Bearer {SANDBOXES['kalixo']['settings']['token']}"}
    r = await get_json("kalixo", "/v1/orders/retrieve-order", headers, {"id": w.KALIXO_ORDER})
    minor = sum(p["price"] * p["quantity"] for p in r["products"])
    return {
        "id": gid("Order", "kalixo", str(r["orderId"])),
        "provider": "KALIXO",
        "number": str(r["orderId"]),
        "status": KALIXO_STATUS.get(r["orderStatus"], "UNKNOWN"),
        "total": {"amount": str(Decimal(minor).scaleb(-2)), "currency": "GBP"},
    }


async def w2_lipalater() -> Record:
    d = await lipalater(LIPALATER_ORDER)
    return {
        "id": gid("Order", "lipalater", LIPALATER_KEY),
        "provider": "LIPALATER",
        "number": d["orderNo"],
        "status": LIPALATER_STATUS.get(d["orderStatusEnum"], "UNKNOWN"),
        "total": {"amount": cents(d["totalFee"]), "currency": "KES"},
    }


W2_PARTS: dict[str, tuple[str, Callable[[], Awaitable[Record]]]] = {
    "akinon": ("a", w2_akinon),
    "frontpayment": ("f", w2_frontpayment),
    "kalixo": ("k", w2_kalixo),
    "lipalater": ("l", w2_lipalater),
}


async def w2() -> Record:
    parts = [W2_PARTS[name] for name in w.W2_PARTS if name in AVAILABLE]
    answers = await asyncio.gather(*(fetch() for _, fetch in parts))
    return {alias: answer for (alias, _), answer in zip(parts, answers, strict=True)}


async def w4() -> Record:
    d = await lipalater(LIPALATER_ORDER)
    schedule, credit = await asyncio.gather(
        lipalater(
            "/open/op/order/calculateSchedule/",
            {
                "countryId": "10001",
                "orderNo": d["orderNo"],
                "loanProductId": str(w.LOAN_PRODUCT_ID),
            },
        ),
        lipalater(f"/open/op/order/{w.LIPALATER_MEMBER}/checkCreditStatus/{d['orderNo']}"),
    )
    return {
        "orderByNumber": {
            "id": gid("Order", "lipalater", LIPALATER_KEY),
            "number": d["orderNo"],
            "status": LIPALATER_STATUS.get(d["orderStatusEnum"], "UNKNOWN"),
            "total": {"amount": cents(d["totalFee"]), "currency": "KES"},
            "items": [
                {
                    "id": gid("OrderItem", "lipalater", f"{LIPALATER_KEY}/{n}"),
                    "name": p["productName"],
                    "quantity": p["productNum"],
                    "total": {"amount": cents(p["totalFee"])},
                }
                for n, p in enumerate(d["orderProductList"])
            ],
            "repaymentSchedule": {
                "currency": schedule["currency"],
                "installment": {"amount": cents(schedule["installment"])},
                "totalRepayment": {"amount": cents(schedule["totalRepayment"])},
                "periods": [
                    {
                        "period": p["period"],
                        "dueDate": p["dueDate"],
                        "totalDue": {"amount": cents(p["totalDueForPeriod"])},
                    }
                    for p in schedule["periods"]
                ],
            },
            "creditStatus": {"status": credit["creditPayStatusEnum"]},
        }
    }


HANDLERS: dict[str, Callable[[], Awaitable[Record]]] = {
    w.W1.document: w1,
    w.w2(AVAILABLE).document: w2,
    w.W3.document: w3,
    w.W4.document: w4,
    w.W5.document: w5,
}
JSON_HEADERS = {"content-type": "application/json"}


async def graphql(request: Request) -> Response:
    if request.headers.get("authorization") != f"Bearer {DEV_KEY}":
        return Response(b'{"errors":[{"message":"unauthenticated"}]}', 401, JSON_HEADERS)
    handler = HANDLERS[orjson.loads(await request.body())["query"]]
    return Response(orjson.dumps({"data": await handler()}), headers=JSON_HEADERS)


async def root(request: Request) -> Response:
    return Response(b'{"graphql": "/graphql"}', headers=JSON_HEADERS)


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    global session
    connector = aiohttp.TCPConnector(limit=256, keepalive_timeout=4.0)
    session = aiohttp.ClientSession(connector=connector)
    try:
        yield
    finally:
        await session.close()


app = Starlette(
    routes=[Route("/", root), Route("/graphql", graphql, methods=["POST"])], lifespan=lifespan
)
