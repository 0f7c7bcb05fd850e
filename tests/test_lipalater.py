"""Lipa Later open platform through the contract: the buy-now-pay-later flow, tokens, signing,
batching, and every way the provider says no."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from graph import ids
from graph.config import Config
from providers.lipalater_sign import sign
from providers.model import Money, ProviderName
from providers.sandbox import lipalater as lipalater_sandbox
from providers.sandbox import lipalater_data as d
from providers.sandbox.lipalater import STATE, STATIC_TOKEN, expected_sign
from providers.values import money
from tests.conftest import gateway_with, started
from tests.harness import Gateway

P = "lipalater"
TOKEN_PATH = "/open/op/platform/token/"
MONEY = "{ amount currency }"
ORDER_FIELDS = f"""
  id number externalReference status providerStatus paymentStatus placedAt updatedAt
  total {MONEY} subtotal {MONEY} details customer {{ id }}
  items {{ id sku productId name brand description quantity unitPrice {MONEY} total {MONEY} }}
"""
PAYLOAD = f"order {{ {ORDER_FIELDS} }} userErrors {{ field message code providerCode }}"

PLACE = f"mutation($input: PlaceOrderInput!) {{ placeOrder(input: $input) {{ {PAYLOAD} }} }}"
CONFIRM = f"""mutation($id: ID!, $plan: String!) {{
  confirmOrder(input: {{orderId: $id, installPlanId: $plan}}) {{ {PAYLOAD} }} }}"""
CANCEL = f"""mutation($id: ID!, $reason: String) {{
  cancelOrder(input: {{orderId: $id, reason: $reason}}) {{ {PAYLOAD} }} }}"""
ACCEPT = f"""mutation($id: ID!) {{
  acceptContract(input: {{orderId: $id}}) {{ {PAYLOAD} }} }}"""
REJECT = f"""mutation($id: ID!) {{
  rejectContract(input: {{orderId: $id}}) {{ {PAYLOAD} }} }}"""
BY_NUMBER = """query($n: String!, $c: String) {
  orderByNumber(provider: LIPALATER, number: $n, customerId: $c) { number status } }"""
SCHEDULE = f"""query($id: ID!, $loan: Int!, $country: Int) {{ order(id: $id) {{
  total {MONEY} details
  repaymentSchedule(loanProductId: $loan, countryId: $country) {{
    currency deposit {MONEY} installment {MONEY} upfrontFee {MONEY}
    totalPrincipal {MONEY} totalInterest {MONEY} totalRepayment {MONEY}
    periods {{ period fromDate dueDate complete daysInPeriod principalDue {MONEY}
      interestDue {MONEY} feeChargesDue {MONEY} penaltyChargesDue {MONEY} totalDue {MONEY}
      totalPaid {MONEY} totalOutstanding {MONEY} totalOverdue {MONEY} details }}
  }}
}} }}"""
CREDIT = """query($id: ID!) { order(id: $id) {
  creditStatus { status creditPayNo creditPaidAt creditFee { amount currency }
                 orderStatus paymentStatus } } }"""

# The page's period fields; the ones with a RepaymentPeriod field of their own.
PAGE_PERIOD_FIELDS = set(
    """complete daysInPeriod dueDate feeChargesDue feeChargesOutstanding feeChargesPaid
    feeChargesWaived feeChargesWrittenOff fromDate interestDue interestOriginalDue
    interestOutstanding interestPaid interestWaived interestWrittenOff penaltyChargesDue
    penaltyChargesOutstanding penaltyChargesPaid penaltyChargesWaived penaltyChargesWrittenOff
    period principalDue principalLoanBalanceOutstanding principalOriginalDue principalOutstanding
    principalPaid principalWrittenOff totalActualCostOfLoanForPeriod totalDueForPeriod
    totalInstallmentAmountForPeriod totalOriginalDueForPeriod totalOutstandingForPeriod
    totalOverdue totalPaidForPeriod totalPaidInAdvanceForPeriod totalPaidLateForPeriod
    totalWaivedForPeriod totalWrittenOffForPeriod""".split()
)
PERIOD_NAMED = {
    "period",
    "fromDate",
    "dueDate",
    "complete",
    "daysInPeriod",
    "principalDue",
    "interestDue",
    "feeChargesDue",
    "penaltyChargesDue",
    "totalDueForPeriod",
    "totalPaidForPeriod",
    "totalOutstandingForPeriod",
    "totalOverdue",
}

NEW_ORDER: dict[str, Any] = {
    "provider": "LIPALATER",
    "externalReference": "SHOP-778",
    "customerId": "100001",
    "storeId": "ST002",
    "items": [
        {
            "sku": "P1001",
            "name": "Galaxy A15",
            "brand": "Samsung",
            "description": "128GB black",
            "quantity": 2,
            "unitPrice": "24999.00",  # whole shillings, written with cents: sent as 24999
            "imageUrl": "https://example.com/a15.png",
        },
        {"productId": "P1007", "name": "WH-CH720N", "brand": "Sony", "unitPrice": "13999"},
    ],
}


def order_id(member: str, number: str) -> str:
    return ids.encode("Order", ProviderName.LIPALATER, f"{member}/{number}")


def seeded_id(seed: tuple[str, str]) -> str:
    number, member = seed
    return order_id(member, number)


def kes(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "KES"}


def total_of(values: list[dict[str, str]]) -> Decimal:
    return sum((Decimal(v["amount"]) for v in values), Decimal(0))


def config_with(gw: Gateway, **changes: Any) -> Config:
    """Only Lipa Later, its section changed (a value of None removes the setting)."""
    section = {**gw.config.providers[P], **changes}
    return Config(gw.config.server, {P: {k: v for k, v in section.items() if v is not None}})


async def place(gw: Gateway, **changes: Any) -> dict[str, Any]:
    answer = await gw.ok(PLACE, {"input": NEW_ORDER | changes})
    payload: dict[str, Any] = answer["placeOrder"]
    assert payload["userErrors"] == []
    order: dict[str, Any] = payload["order"]
    return order


# -- the flow ---------------------------------------------------------------------------


async def test_place_read_schedule_confirm_accept(gateway: Gateway) -> None:
    order = await place(gateway)
    number = order["number"]
    oid = order_id("100001", number)
    assert order["id"] == oid
    assert order["externalReference"] == "SHOP-778"
    assert (order["status"], order["providerStatus"], order["paymentStatus"]) == (
        "PENDING",
        "CREATED",
        "PENDING",
    )
    assert order["total"] == order["subtotal"] == kes("63997.00")
    assert order["customer"] == {"id": "100001"}
    assert order["details"]["depositFee"] == kes("6399.70")
    assert order["details"]["creditFee"] == kes("57597.30")
    assert order["details"]["upFrontFee"] == kes("500.00")
    assert order["details"]["storeId"] == "ST002"
    phone, headphones = order["items"]
    assert phone["id"] == ids.encode("OrderItem", ProviderName.LIPALATER, f"100001/{number}/0")
    assert phone | {"id": None} == {
        "id": None,
        "sku": "P1001",
        "productId": "P1001",
        "name": "Galaxy A15",
        "brand": "Samsung",
        "description": "128GB black",
        "quantity": 2,
        "unitPrice": kes("24999.00"),
        "total": kes("49998.00"),
    }
    assert (headphones["sku"], headphones["quantity"], headphones["total"]) == (
        "P1007",
        1,
        kes("13999.00"),
    )
    # One create (the page's body, spelled as its example) and one detail read back.
    [create] = gateway.calls(P, "/order/100001/create", "POST")
    assert json.loads(create.body) == {
        "actTotalFee": 63997,
        "outOrderNo": "SHOP-778",
        "productList": [
            {
                "actTotalFee": 49998,
                "brand": "Samsung",
                "price": 24999,
                "productLogo": "https://example.com/a15.png",
                "productName": "Galaxy A15",
                "productNo": "P1001",
                "productNum": 2,
                "salePrice": 49998,
                "skuDesc": "128GB black",
            },
            {
                "actTotalFee": 13999,
                "brand": "Sony",
                "price": 13999,
                "productLogo": "",
                "productName": "WH-CH720N",
                "productNo": "P1007",
                "productNum": 1,
                "salePrice": 13999,
                "skuDesc": "",
            },
        ],
        "storeId": "ST002",
    }
    # The page types the amounts integer: whole numbers, never floats like 24999.0.
    sent = json.loads(create.body)
    amounts = [sent["actTotalFee"]] + [
        p[name] for p in sent["productList"] for name in ("actTotalFee", "price", "salePrice")
    ]
    assert {type(a) for a in amounts} == {int}
    assert len(gateway.calls(P, f"/detail/{number}")) == 1
    assert len(gateway.calls(P, TOKEN_PATH)) == 1

    # Read back three ways: by number, by id, as a node.
    read = await gateway.ok(
        f"""query($n: String!, $id: ID!) {{
          orderByNumber(provider: LIPALATER, number: $n, customerId: "100001") {{
            id total {MONEY} }}
          order(id: $id) {{ number items {{ sku }} }}
          node(id: $id) {{ id ... on Order {{ status }} }}
        }}""",
        {"n": number, "id": oid},
    )
    assert read["orderByNumber"] == {"id": oid, "total": kes("63997.00")}
    assert read["order"] == {"number": number, "items": [{"sku": "P1001"}, {"sku": "P1007"}]}
    assert read["node"] == {"id": oid, "status": "PENDING"}

    # The 6-month schedule: its parts add up to its totals and to the order's figures.
    sched = (await gateway.ok(SCHEDULE, {"id": oid, "loan": 2}))["order"]
    s = sched["repaymentSchedule"]
    assert s["currency"] == "KES"
    assert len(s["periods"]) == 6
    assert [p["period"] for p in s["periods"]] == [1, 2, 3, 4, 5, 6]
    assert total_of([p["principalDue"] for p in s["periods"]]) == Decimal(
        s["totalPrincipal"]["amount"]
    )
    assert total_of([p["interestDue"] for p in s["periods"]]) == Decimal(
        s["totalInterest"]["amount"]
    )
    assert total_of([s["totalPrincipal"], s["totalInterest"]]) == Decimal(
        s["totalRepayment"]["amount"]
    )
    assert total_of([p["totalDue"] for p in s["periods"]]) == Decimal(s["totalRepayment"]["amount"])
    assert s["totalPrincipal"] == sched["details"]["creditFee"]
    assert total_of([s["totalPrincipal"], s["deposit"]]) == Decimal(sched["total"]["amount"])
    assert s["upfrontFee"] == kes("500.00")
    first = s["periods"][0]
    assert s["installment"] == first["totalDue"]
    assert first["complete"] is False
    assert first["feeChargesDue"] == first["totalPaid"] == first["totalOverdue"] == kes("0.00")
    assert first["details"]["principalLoanBalanceOutstanding"] is not None
    # Every field of the page's period is there: named, or as given in details.
    assert set(first["details"]) == PAGE_PERIOD_FIELDS - PERIOD_NAMED
    [call] = gateway.calls(P, "/calculateSchedule/")
    assert call.query == {"countryId": "10001", "orderNo": number, "loanProductId": "2"}

    # Confirm with an install plan, then the customer accepts the contract.
    confirmed = (await gateway.ok(CONFIRM, {"id": oid, "plan": "2"}))["confirmOrder"]
    assert confirmed["userErrors"] == []
    assert (confirmed["order"]["status"], confirmed["order"]["providerStatus"]) == (
        "PROCESSING",
        "CONFIRMED",
    )
    assert confirmed["order"]["details"]["installPlanId"] == 2
    [call] = gateway.calls(P, f"/confirm/{number}/", "POST")
    assert json.loads(call.body) == {"installPlanId": "2"}
    credit = (await gateway.ok(CREDIT, {"id": oid}))["order"]["creditStatus"]
    assert credit == {
        "status": "APPLYING",
        "creditPayNo": f"CP{number}",
        "creditPaidAt": None,
        "creditFee": kes("57597.30"),
        "orderStatus": "PROCESSING",
        "paymentStatus": "PENDING",
    }
    accepted = (await gateway.ok(ACCEPT, {"id": oid}))["acceptContract"]
    assert accepted["userErrors"] == []
    done = accepted["order"]
    assert (done["status"], done["providerStatus"], done["paymentStatus"]) == (
        "COMPLETED",
        "COMPLETED",
        "PAID",
    )
    assert len(gateway.calls(P, f"/acceptContract/{number}", "GET")) == 1
    credit = (await gateway.ok(CREDIT, {"id": oid}))["order"]["creditStatus"]
    assert (credit["status"], credit["paymentStatus"]) == ("APPROVED", "PAID")
    assert credit["creditPaidAt"] is not None
    # Still one token for the whole flow.
    assert len(gateway.calls(P, TOKEN_PATH)) == 1


async def test_cancel_then_confirm_is_refused(gateway: Gateway) -> None:
    order = await place(gateway)
    oid = order["id"]
    cancelled = (await gateway.ok(CANCEL, {"id": oid, "reason": "Customer changed mind"}))[
        "cancelOrder"
    ]
    assert cancelled["userErrors"] == []
    assert (cancelled["order"]["status"], cancelled["order"]["paymentStatus"]) == (
        "CANCELLED",
        "VOIDED",
    )
    assert cancelled["order"]["details"]["closeReason"] == "Customer changed mind"
    # The cancel table types orderNo integer and no request example shows it: an integer.
    [call] = gateway.calls(P, "/order/100001/cancelOrder", "POST")
    assert json.loads(call.body) == {
        "orderNo": int(order["number"]),
        "reason": "Customer changed mind",
    }

    refused = (await gateway.ok(CONFIRM, {"id": oid, "plan": "1"}))["confirmOrder"]
    assert refused == {
        "order": None,
        "userErrors": [
            {
                "field": ["input", "orderId"],
                "message": "lipalater: Order has been cancelled",
                "code": "REJECTED_BY_PROVIDER",
                "providerCode": "500",
            }
        ],
    }
    again = (await gateway.ok(CANCEL, {"id": oid, "reason": "twice"}))["cancelOrder"]
    assert [(e["code"], e["message"]) for e in again["userErrors"]] == [
        ("REJECTED_BY_PROVIDER", "lipalater: Order has been cancelled")
    ]


@pytest.mark.parametrize("number", ["0088", "ORD-88", "9" * 20])
async def test_an_order_number_an_integer_would_change_is_cancelled_as_text(
    gateway: Gateway, number: str
) -> None:
    orders = gateway.sandboxes[P].app[STATE].orders
    orders[number] = replace(orders[d.SEED_CREATED[0]], order_no=number)
    member = d.SEED_CREATED[1]
    cancelled = (await gateway.ok(CANCEL, {"id": order_id(member, number), "reason": "x"}))[
        "cancelOrder"
    ]
    assert cancelled["userErrors"] == []
    assert cancelled["order"]["status"] == "CANCELLED"
    [call] = gateway.calls(P, "/cancelOrder", "POST")
    assert json.loads(call.body) == {"orderNo": number, "reason": "x"}


async def test_reject_contract_then_accept_is_refused(gateway: Gateway) -> None:
    oid = seeded_id(d.SEED_CONFIRMED)
    rejected = (await gateway.ok(REJECT, {"id": oid}))["rejectContract"]
    assert rejected["userErrors"] == []
    order = rejected["order"]
    assert (order["status"], order["providerStatus"], order["paymentStatus"]) == (
        "REJECTED",
        "CLOSED",
        "VOIDED",
    )
    assert order["details"]["closeReason"] == d.CONTRACT_REJECTED_REASON
    refused = (await gateway.ok(ACCEPT, {"id": oid}))["acceptContract"]
    assert refused["order"] is None
    assert [(e["code"], e["message"]) for e in refused["userErrors"]] == [
        ("REJECTED_BY_PROVIDER", "lipalater: Contract has been rejected")
    ]


@pytest.mark.parametrize(
    ("mutation", "name", "message"),
    [
        (ACCEPT, "acceptContract", "Order has not been confirmed"),
        (REJECT, "rejectContract", "Order has not been confirmed"),
    ],
)
async def test_contract_on_an_unconfirmed_order_is_refused(
    gateway: Gateway, mutation: str, name: str, message: str
) -> None:
    payload = (await gateway.ok(mutation, {"id": seeded_id(d.SEED_CREATED)}))[name]
    assert payload["order"] is None
    assert [(e["code"], e["message"]) for e in payload["userErrors"]] == [
        ("REJECTED_BY_PROVIDER", f"lipalater: {message}")
    ]


async def test_confirm_with_an_unknown_plan_is_not_found_naming_both_suspects(
    gateway: Gateway,
) -> None:
    number, member = d.SEED_CREATED
    payload = (await gateway.ok(CONFIRM, {"id": seeded_id(d.SEED_CREATED), "plan": "99"}))[
        "confirmOrder"
    ]
    message = f"lipalater: Data does not exist (order {number} of customer {member}, or its"
    assert [(e["code"], e["message"]) for e in payload["userErrors"]] == [
        ("NOT_FOUND", f"{message} installPlanId)")
    ]


async def test_confirm_with_a_non_numeric_plan_is_refused(gateway: Gateway) -> None:
    payload = (await gateway.ok(CONFIRM, {"id": seeded_id(d.SEED_CREATED), "plan": "gold"}))[
        "confirmOrder"
    ]
    assert [(e["code"], e["message"], e["field"]) for e in payload["userErrors"]] == [
        (
            "REJECTED_BY_PROVIDER",
            "lipalater: Parameter error: installPlanId",
            ["input", "installPlanId"],
        )
    ]


async def test_cancel_needs_a_reason_and_sends_nothing_without_one(gateway: Gateway) -> None:
    payload = (await gateway.ok(CANCEL, {"id": seeded_id(d.SEED_CREATED)}))["cancelOrder"]
    assert payload["order"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("BAD_USER_INPUT", ["input", "reason"])
    ]
    assert gateway.calls(P, "/cancelOrder") == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"customerId": None}, ["input", "customerId"]),
        ({"storeId": None}, ["input", "storeId"]),
        ({"externalReference": None}, ["input", "externalReference"]),
        ({"currency": "USD"}, ["input", "currency"]),
        ({"items": [{"name": "no sku", "unitPrice": "10"}]}, ["input", "items", "0", "sku"]),
        ({"items": [{"sku": "P1", "name": "no price"}]}, ["input", "items", "0", "unitPrice"]),
        ({"customerId": "1/2"}, ["input", "customerId"]),
    ],
)
async def test_place_order_refuses_what_cannot_be_sent(
    gateway: Gateway, change: dict[str, Any], field: list[str]
) -> None:
    payload = (await gateway.ok(PLACE, {"input": NEW_ORDER | change}))["placeOrder"]
    assert payload["order"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("BAD_USER_INPUT", field)]
    assert gateway.calls(P, "/create") == []


@pytest.mark.parametrize(("index", "price"), [(0, "24999.5"), (1, "13999.01")])
async def test_a_unit_price_with_cents_is_refused_and_nothing_is_sent(
    gateway: Gateway, index: int, price: str
) -> None:
    """The create body's amounts are integers (whole shillings): refused, never rounded."""
    items = [dict(item) for item in NEW_ORDER["items"]]
    items[index]["unitPrice"] = price
    payload = (await gateway.ok(PLACE, {"input": NEW_ORDER | {"items": items}}))["placeOrder"]
    assert payload == {
        "order": None,
        "userErrors": [
            {
                "field": ["input", "items", str(index), "unitPrice"],
                "message": f"Lipa Later takes whole amounts; unitPrice {price} has a fraction",
                "code": "BAD_USER_INPUT",
                "providerCode": None,
            }
        ],
    }
    assert gateway.calls(P) == []  # not even a token


async def test_place_order_in_kes_spelled_ksh_is_accepted(gateway: Gateway) -> None:
    order = await place(gateway, currency="KSH")
    assert order["total"] == kes("63997.00")


# -- reads ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seed", "status", "provider_status", "payment"),
    [
        (d.SEED_CREATED, "PENDING", "CREATED", "PENDING"),
        (d.SEED_CONFIRMED, "PROCESSING", "CONFIRMED", "PENDING"),
        (d.SEED_COMPLETED, "COMPLETED", "COMPLETED", "PAID"),
        (d.SEED_CLOSED, "REJECTED", "CLOSED", "VOIDED"),
        (d.SEED_CANCELLED, "CANCELLED", "CANCELLED", "VOIDED"),
    ],
)
async def test_seeded_statuses_map(
    gateway: Gateway, seed: tuple[str, str], status: str, provider_status: str, payment: str
) -> None:
    number, member = seed
    found = await gateway.ok(
        """query($n: String!, $c: String) { orderByNumber(provider: LIPALATER, number: $n,
             customerId: $c) { status providerStatus paymentStatus placedAt } }""",
        {"n": number, "c": member},
    )
    order = found["orderByNumber"]
    assert (order["status"], order["providerStatus"], order["paymentStatus"]) == (
        status,
        provider_status,
        payment,
    )
    assert order["placedAt"].endswith("+00:00")


@pytest.mark.parametrize(
    ("credit", "payment", "shown"),
    [
        # The page's own example: no credit state given, the unpaid order is still pending.
        ("", "PENDING", None),
        ("NOT_APPLIED", "PENDING", "NOT_APPLIED"),
        # Any value the table does not know is UNKNOWN, the raw value kept; never PENDING.
        ("EXPIRED", "UNKNOWN", "EXPIRED"),
    ],
)
async def test_credit_pay_status_of_an_unpaid_order(
    gateway: Gateway, credit: str, payment: str, shown: str | None
) -> None:
    number, member = d.SEED_CREATED
    record = gateway.sandboxes[P].app[STATE].orders[number]
    assert record.pay_status == d.UNPAID
    record.credit_status = credit
    found = await gateway.ok(
        """query($id: ID!) { order(id: $id) { status paymentStatus details
             creditStatus { status orderStatus paymentStatus } } }""",
        {"id": order_id(member, number)},
    )
    order = found["order"]
    assert (order["status"], order["paymentStatus"]) == ("PENDING", payment)
    assert order["details"].get("creditPayStatusEnum") == shown
    assert order["creditStatus"] == {
        "status": shown,
        "orderStatus": "PENDING",
        "paymentStatus": payment,
    }


@pytest.mark.parametrize(
    ("statuses", "shown", "payment"),
    [
        # Values no table knows: UNKNOWN, the raw values kept.
        (("ON_HOLD", "PARTIAL", "MANUAL"), ("ON_HOLD", "PARTIAL", "MANUAL"), "UNKNOWN"),
        # The page's example detail ("" for all three): nothing paid and no credit state yet,
        # so PENDING (the README's rule), while its order status, "" naming none, is UNKNOWN.
        (("", "", ""), (None, None, None), "PENDING"),
    ],
)
async def test_enum_values_the_tables_do_not_know(
    gateway: Gateway,
    statuses: tuple[str, str, str],
    shown: tuple[str | None, str | None, str | None],
    payment: str,
) -> None:
    number, member = d.SEED_CREATED
    record = gateway.sandboxes[P].app[STATE].orders[number]
    record.status, record.pay_status, record.credit_status = statuses
    found = await gateway.ok(
        """query($id: ID!) { order(id: $id) { status providerStatus paymentStatus details
             creditStatus { status orderStatus paymentStatus } } }""",
        {"id": order_id(member, number)},
    )
    order = found["order"]
    assert (order["status"], order["providerStatus"], order["paymentStatus"]) == (
        "UNKNOWN",
        shown[0],
        payment,
    )
    assert order["details"].get("payStatusEnum") == shown[1]
    assert order["creditStatus"] == {
        "status": shown[2],
        "orderStatus": "UNKNOWN",
        "paymentStatus": payment,
    }


async def test_order_by_number_needs_the_customer_id(gateway: Gateway) -> None:
    answer = await gateway.query(BY_NUMBER, {"n": d.SEED_CREATED[0]})
    assert answer.data == {"orderByNumber": None}
    assert answer.codes == ["BAD_USER_INPUT"]
    assert "customerId" in answer.errors[0]["message"]
    assert gateway.calls(P, "/detail/") == []


async def test_an_order_of_another_member_is_not_found(gateway: Gateway) -> None:
    number, _ = d.SEED_CREATED
    answer = await gateway.query(BY_NUMBER, {"n": number, "c": "100004"})
    assert answer.data == {"orderByNumber": None}
    assert answer.codes == ["NOT_FOUND"]
    assert len(gateway.calls(P, f"/order/100004/detail/{number}")) == 1


async def test_a_missing_order_beside_a_found_one(gateway: Gateway) -> None:
    number, member = d.SEED_CREATED
    answer = await gateway.query(
        """query($a: ID!, $b: ID!) { a: order(id: $a) { number } b: order(id: $b) { number } }""",
        {"a": order_id(member, number), "b": order_id(member, "1")},
    )
    assert answer.data == {"a": {"number": number}, "b": None}
    assert answer.codes == ["NOT_FOUND"]
    assert answer.errors[0]["path"] == ["b"]


@pytest.mark.parametrize("count", [3_000_000_000, -1])
async def test_a_product_count_the_schema_cannot_serve_is_the_providers_bad_answer(
    gateway: Gateway, count: int
) -> None:
    """GraphQL's Int is 32 bits: a ``productNum`` of 3,000,000,000 was an
    INTERNAL_SERVER_ERROR. Any count outside 0 .. 2^31 - 1 (the page's examples answer 0) is
    a PROVIDER_ERROR on its order alone."""
    number, member = d.SEED_CREATED
    other, other_member = d.SEED_COMPLETED
    gateway.sandboxes[P].app[STATE].orders[number].products[0].product_num = count
    answer = await gateway.query(
        """query($a: ID!, $b: ID!) {
            a: order(id: $a) { items { quantity } } b: order(id: $b) { number } }""",
        {"a": order_id(member, number), "b": order_id(other_member, other)},
    )
    assert answer.data == {"a": None, "b": {"number": other}}
    [error] = answer.errors
    assert (error["path"], error["extensions"]["code"]) == (["a"], "PROVIDER_ERROR")
    assert error["message"] == (
        f"lipalater: orderProductList[].productNum {count} is not a count from 0 to 2,147,483,647"
    )


@pytest.mark.parametrize("count", [0, 2**31 - 1])
async def test_a_product_count_from_0_to_the_largest_int_is_read(
    gateway: Gateway, count: int
) -> None:
    number, member = d.SEED_CREATED
    gateway.sandboxes[P].app[STATE].orders[number].products[0].product_num = count
    found = await gateway.ok(
        "query($id: ID!) { order(id: $id) { items { quantity } } }",
        {"id": order_id(member, number)},
    )
    assert found["order"]["items"][0]["quantity"] == count


async def test_item_ids_round_trip_through_node(gateway: Gateway) -> None:
    number, member = d.SEED_COMPLETED
    found = await gateway.ok(
        "query($id: ID!) { order(id: $id) { items { id sku } } }",
        {"id": order_id(member, number)},
    )
    items = found["order"]["items"]
    gateway.clear_calls()
    nodes = await gateway.ok(
        """query($ids: [ID!]!) {
          nodes(ids: $ids) { id ... on OrderItem { sku order { number } } } }""",
        {"ids": [i["id"] for i in items]},
    )
    assert nodes["nodes"] == [
        {"id": i["id"], "sku": i["sku"], "order": {"number": number}} for i in items
    ]
    # Both items come from one detail call, and their order { } shares it.
    assert len(gateway.calls(P, f"/detail/{number}")) == 1


async def test_schedule_passes_the_country_and_refusals_surface(gateway: Gateway) -> None:
    oid = seeded_id(d.SEED_CREATED)
    ok = await gateway.ok(SCHEDULE, {"id": oid, "loan": 1, "country": 1001})
    assert len(ok["order"]["repaymentSchedule"]["periods"]) == 3
    assert gateway.calls(P, "/calculateSchedule/")[0].query["countryId"] == "1001"

    missing = await gateway.query(SCHEDULE, {"id": oid, "loan": 42})
    assert missing.codes == ["NOT_FOUND"]
    assert missing.data["order"]["repaymentSchedule"] is None

    # A parameter refused is the request's: BAD_USER_INPUT, with its message and request id.
    bad = await gateway.query(SCHEDULE, {"id": oid, "loan": -1})
    [error] = bad.errors
    assert error["message"] == "lipalater: Parameter error: loanProductId"
    ext = error["extensions"]
    assert ext["code"] == "BAD_USER_INPUT"
    assert ext["provider"] == "LIPALATER"
    assert ext["providerCode"] == "500"
    assert ext["providerRequestId"]
    assert bad.data["order"]["total"] == ok["order"]["total"]  # the rest of the answer stands


@pytest.mark.parametrize("value", [3_000_000_000, -1])
@pytest.mark.parametrize("name", ["period", "daysInPeriod"])
async def test_a_period_number_the_schema_cannot_serve_is_the_providers_bad_answer(
    gateway: Gateway, name: str, value: int
) -> None:
    """``period`` and ``daysInPeriod`` are Ints (32 bits): 3,000,000,000 was an
    INTERNAL_SERVER_ERROR. Any value outside 0 .. 2^31 - 1 is a PROVIDER_ERROR on the schedule
    alone, naming Lipa Later and the field."""
    period = {"period": 1, "daysInPeriod": 31} | {name: value}
    knobs = {"only_paths": ["/calculateSchedule/"], "merge": {"data": {"periods": [period]}}}
    gateway.faults(P).update(knobs)
    answer = await gateway.query(SCHEDULE, {"id": seeded_id(d.SEED_CREATED), "loan": 1})
    [error] = answer.errors
    assert error["path"] == ["order", "repaymentSchedule"]
    assert (error["extensions"]["code"], error["extensions"]["provider"]) == (
        "PROVIDER_ERROR",
        "LIPALATER",
    )
    assert error["message"] == (
        f"lipalater: periods[].{name} {value} is not a count from 0 to 2,147,483,647"
    )
    assert answer.data["order"]["repaymentSchedule"] is None
    assert answer.data["order"]["total"] is not None  # the rest of the order stands


@pytest.mark.parametrize("value", [0, 2**31 - 1])
async def test_a_period_number_from_0_to_the_largest_int_is_read(
    gateway: Gateway, value: int
) -> None:
    period = {"period": value, "daysInPeriod": value}
    knobs = {"only_paths": ["/calculateSchedule/"], "merge": {"data": {"periods": [period]}}}
    gateway.faults(P).update(knobs)
    found = await gateway.ok(SCHEDULE, {"id": seeded_id(d.SEED_CREATED), "loan": 1})
    [read] = found["order"]["repaymentSchedule"]["periods"]
    assert (read["period"], read["daysInPeriod"]) == (value, value)


async def test_batching_ten_orders_one_detail_call_each_concurrently(gateway: Gateway) -> None:
    seeded = [(d.SEED_ORDER_NOS[i], d.MEMBER_IDS[i % 4]) for i in range(10)]
    aliases = [
        f'o{i}: orderByNumber(provider: LIPALATER, number: "{n}", customerId: "{m}") {{ number }}'
        for i, (n, m) in enumerate(seeded)
    ]
    # The first order is asked for twice.
    aliases.append(
        f'again: orderByNumber(provider: LIPALATER, number: "{seeded[0][0]}", '
        f'customerId: "{seeded[0][1]}") {{ number }}'
    )
    await gateway.ok("{ " + " ".join(aliases[:1]) + " }")  # the token, out of the timing
    gateway.clear_calls()
    gateway.faults(P).latency_s = 0.2
    started_at = time.perf_counter()
    answer = await gateway.ok("{ " + " ".join(aliases) + " }")
    elapsed = time.perf_counter() - started_at
    assert [answer[f"o{i}"]["number"] for i in range(10)] == [n for n, _ in seeded]
    assert answer["again"] == {"number": seeded[0][0]}
    details = gateway.calls(P, "/detail/")
    assert sorted(c.path for c in details) == sorted(
        f"/open/op/order/{m}/detail/{n}" for n, m in seeded
    )
    assert elapsed < 1.0  # ten 0.2 s calls one after another would take 2 s


# -- tokens and signing ----------------------------------------------------------------


async def test_concurrent_first_queries_share_one_token_fetch(gateway: Gateway) -> None:
    queries = [
        gateway.query(BY_NUMBER, {"n": d.SEED_ORDER_NOS[i], "c": d.MEMBER_IDS[i % 4]})
        for i in range(8)
    ]
    answers = await asyncio.gather(*queries)
    assert all(not a.errors for a in answers)
    assert len(gateway.calls(P, TOKEN_PATH, "GET")) == 1
    assert len(gateway.calls(P, "/detail/")) == 8


async def test_token_is_cached_between_requests(gateway: Gateway) -> None:
    for _ in range(3):
        await gateway.ok(BY_NUMBER, {"n": d.SEED_CREATED[0], "c": d.SEED_CREATED[1]})
    assert len(gateway.calls(P, TOKEN_PATH)) == 1


async def test_token_is_renewed_before_it_runs_out(gateway: Gateway) -> None:
    # A token shorter-lived than the 30 s renewal margin is renewed halfway through its life:
    # reused at once, fetched afresh once half of it has gone (never sent about to expire, and
    # never fetched for every request). Three seconds, so that the first two queries are done
    # well within the first half even on a loaded machine (with one second, a slow first
    # query left the second a renewal of its own).
    gateway.sandboxes[P].app[STATE].token_ttl_s = 3
    variables = {"n": d.SEED_CREATED[0], "c": d.SEED_CREATED[1]}
    for _ in range(2):
        await gateway.ok(BY_NUMBER, variables)
    assert len(gateway.calls(P, TOKEN_PATH)) == 1
    await asyncio.sleep(1.6)
    await gateway.ok(BY_NUMBER, variables)
    assert len(gateway.calls(P, TOKEN_PATH)) == 2


async def test_a_revoked_token_is_fetched_again_once(gateway: Gateway) -> None:
    variables = {"n": d.SEED_CREATED[0], "c": d.SEED_CREATED[1]}
    await gateway.ok(BY_NUMBER, variables)
    gateway.sandboxes[P].app[STATE].tokens.clear()  # the provider forgets every token
    found = await gateway.ok(BY_NUMBER, variables)
    assert found["orderByNumber"]["number"] == d.SEED_CREATED[0]
    assert len(gateway.calls(P, TOKEN_PATH)) == 2
    assert len(gateway.calls(P, "/detail/")) == 3  # first query, refused try, retry


async def test_a_token_answer_without_its_token_is_a_provider_error_with_its_status(
    gateway: Gateway,
) -> None:
    """A 200 whose data holds no accessToken is no token: the query's call was never sent
    (PROVIDER_UNAVAILABLE, as every failed token fetch), and the error carries the token
    answer's status as every other bad answer does (it had no httpStatus)."""
    gateway.faults(P).update({"only_paths": [TOKEN_PATH], "merge": {"data": {"accessToken": ""}}})
    answer = await gateway.query(BY_NUMBER, {"n": d.SEED_CREATED[0], "c": d.SEED_CREATED[1]})
    [error] = answer.errors
    assert error["message"] == (
        "lipalater: could not obtain an access token (token answer without accessToken); "
        "nothing was sent"
    )
    extensions = error["extensions"]
    assert (extensions["code"], extensions["provider"], extensions["httpStatus"]) == (
        "PROVIDER_UNAVAILABLE",
        "LIPALATER",
        200,
    )
    assert gateway.calls(P, "/detail/") == []


async def test_a_static_token_skips_the_token_flow(gateway: Gateway) -> None:
    config = config_with(gateway, token=STATIC_TOKEN, api_key=None, api_secret=None)
    async with started(config, gateway.sandboxes) as gw:
        found = await gw.ok(BY_NUMBER, {"n": d.SEED_CREATED[0], "c": d.SEED_CREATED[1]})
    assert found["orderByNumber"]["number"] == d.SEED_CREATED[0]
    assert gateway.calls(P, TOKEN_PATH) == []


@pytest.mark.parametrize(
    ("changes", "message", "detail_calls"),
    [
        ({"token": "not-the-static-token"}, "invalid token", 1),
        ({"api_secret": "wrong-api-secret"}, "No credentials", 0),
        ({"app_secret": "wrong-app-secret"}, "invalid sign", 1),
    ],
)
async def test_refused_credentials_are_a_provider_error(
    gateway: Gateway, changes: dict[str, str], message: str, detail_calls: int
) -> None:
    async with started(config_with(gateway, **changes), gateway.sandboxes) as gw:
        answer = await gw.query(BY_NUMBER, {"n": d.SEED_CREATED[0], "c": d.SEED_CREATED[1]})
    [error] = answer.errors
    assert error["message"] == f"lipalater: {message}"
    assert error["extensions"]["code"] == "PROVIDER_ERROR"
    assert error["extensions"]["retryable"] is False
    assert error["extensions"]["providerRequestId"]
    assert answer.data == {"orderByNumber": None}
    assert len(gateway.calls(P, "/detail/")) == detail_calls
    for secret in changes.values():
        assert secret not in json.dumps(answer.body)


# The documented string to sign, five parts, and its Sign worked out apart from our code:
# printf '<the string>' | openssl dgst -sha256 -hmac app-secret -binary | base64
Signed = tuple[str, str, list[tuple[str, str]], str, str, str]
SIGNED_POST: Signed = (
    "POST",
    "/open/op/order/100001/cancelOrder",
    [],
    "1700000000",
    "nonce-1",
    '{"orderNo":8800000001,"reason":"x"}',
)
SIGNED_GET: Signed = (
    "GET",
    "/open/op/order/calculateSchedule/",
    [("orderNo", "8800000001"), ("countryId", "10001"), ("loanProductId", "2")],
    "1700000000",
    "nonce-1",
    "",
)


def test_the_sign_is_hmac_sha256_over_method_target_timestamp_nonce_and_body() -> None:
    """The connector's signer and the sandbox's own check give the known value: a drift in
    either fails here (and the sandbox refuses the connector everywhere else)."""
    assert sign("app-secret", *SIGNED_POST) == "rmMDyKQVfRN5unNK2mqAMw4EXIKVRNmv/7wqNpA3s7U="
    assert sign("app-secret", *SIGNED_GET) == "9lj1x9NM+ckQCJfyoEKUlXcZXeO+PabkR5Lo/SkRkg0="
    target = "/open/op/order/calculateSchedule/?countryId=10001&loanProductId=2&orderNo=8800000001"
    assert expected_sign("app-secret", "GET", target, "1700000000", "nonce-1", "") == (
        "9lj1x9NM+ckQCJfyoEKUlXcZXeO+PabkR5Lo/SkRkg0="
    )
    method, path, query, *tail = SIGNED_POST
    assert expected_sign("app-secret", method, path, *tail) == sign("app-secret", *SIGNED_POST)
    assert sign("other", *SIGNED_GET) != sign("app-secret", *SIGNED_GET)


def test_amounts_are_read_to_the_cent_and_remembered() -> None:
    """``money`` (a schedule's amounts, Front Payment's, a purchase's): the same few amounts come
    back in every answer, so each is read once; 1, 1.0 and True are still each read as sent."""
    assert money("4500", "kes") == Money(Decimal("4500.00"), "KES")
    assert money(4500, "KES") is money(4500, "KES")
    assert money(1, "KES") == money(1.0, "KES") == Money(Decimal("1.00"), "KES")
    assert money(True, "KES") is None  # not the 1 read just before
    assert money([1], "KES") is None
    assert money("NaN", "KES") is None
    assert money("", "KES") is None


# -- upstream faults --------------------------------------------------------------------


@pytest.mark.parametrize("knob", ["malformed", "wrong_shape"])
async def test_a_broken_body_is_a_provider_error(gateway: Gateway, knob: str) -> None:
    faults = gateway.faults(P)
    faults.only_paths = ["/detail/"]
    setattr(faults, knob, True)
    answer = await gateway.query(BY_NUMBER, {"n": d.SEED_CREATED[0], "c": d.SEED_CREATED[1]})
    assert answer.codes == ["PROVIDER_ERROR"]
    assert answer.errors[0]["extensions"]["retryable"] is True
    assert answer.data == {"orderByNumber": None}


async def test_a_provider_5xx_is_a_retryable_provider_error(gateway: Gateway) -> None:
    faults = gateway.faults(P)
    faults.only_paths, faults.error_rate, faults.error_status = ["/detail/"], 1.0, 503
    answer = await gateway.query(BY_NUMBER, {"n": d.SEED_CREATED[0], "c": d.SEED_CREATED[1]})
    [error] = answer.errors
    assert error["extensions"]["code"] == "PROVIDER_ERROR"
    assert error["extensions"]["httpStatus"] == 503
    assert error["extensions"]["retryable"] is True
    assert error["extensions"]["providerRequestId"]


async def test_a_read_retried_after_a_5xx_is_signed_afresh_and_answered(gateway: Gateway) -> None:
    """The sandbox spends a Noncestr as the request arrives, even one a 5xx then answers: the
    retry is answered only because the shared client asks the connector for a new signature."""
    variables = {"n": d.SEED_CREATED[0], "c": d.SEED_CREATED[1]}
    await gateway.ok(BY_NUMBER, variables)  # the token, before the fault
    gateway.clear_calls()
    gateway.faults(P).update({"only_paths": ["/detail/"], "fail_next": 1, "error_status": 503})
    found = await gateway.ok(BY_NUMBER, variables)
    assert found["orderByNumber"]["number"] == d.SEED_CREATED[0]
    assert len(gateway.calls(P, "/detail/", "GET")) == 2
    assert gateway.faults(P).fail_next == 0
    assert len(gateway.sandboxes[P].app[STATE].nonces) == 3  # both attempts' and the first read's


async def test_a_5xx_on_a_mutation_is_an_error_not_a_user_error(gateway: Gateway) -> None:
    faults = gateway.faults(P)
    faults.only_paths, faults.error_rate = ["/acceptContract/"], 1.0
    answer = await gateway.query(ACCEPT, {"id": seeded_id(d.SEED_CONFIRMED)})
    assert answer.codes == ["PROVIDER_ERROR"]
    assert answer.data == {"acceptContract": None}


@pytest.mark.parametrize(
    ("mutation", "path"), [(ACCEPT, "/acceptContract/"), (REJECT, "/rejectContract/")]
)
@pytest.mark.parametrize(
    ("knobs", "code"),
    [
        ({"error_rate": 1.0, "error_status": 504}, "PROVIDER_ERROR"),
        ({"error_rate": 1.0, "error_status": 503}, "PROVIDER_ERROR"),
        ({"error_rate": 1.0, "error_status": 500}, "PROVIDER_ERROR"),
        ({"reset": True}, "PROVIDER_UNAVAILABLE"),
    ],
)
async def test_a_contract_call_is_sent_once_after_a_5xx_or_a_reset(
    gateway: Gateway, mutation: str, path: str, knobs: dict[str, Any], code: str
) -> None:
    """acceptContract / rejectContract are GETs that change the order: one that may have
    arrived is never resent (a resent accept answers "Contract has been accepted", a reject may
    apply twice), unlike a read, which the shared client retries."""
    gateway.faults(P).update({"only_paths": [path], **knobs})
    answer = await gateway.query(mutation, {"id": seeded_id(d.SEED_CONFIRMED)})
    assert answer.codes == [code]
    assert list(answer.data.values()) == [None]  # the mutation's payload, null beside its error
    assert len(gateway.calls(P, path, "GET")) == 1
    # A read on the same faults is retried: the marking is the contract calls' alone.
    gateway.faults(P).update({"only_paths": ["/detail/"]})
    await gateway.query(BY_NUMBER, {"n": d.SEED_CREATED[0], "c": d.SEED_CREATED[1]})
    assert len(gateway.calls(P, "/detail/", "GET")) > 1


async def test_a_success_code_of_200_is_success_too(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The orders page's examples answer code 0, other pages of theirs 200: both are success
    (the connector reads ``success``)."""
    monkeypatch.setattr(lipalater_sandbox, "SUCCESS_CODE", 200)
    order = await place(gateway)
    assert order["total"] == kes("63997.00")
    confirmed = (await gateway.ok(CONFIRM, {"id": order["id"], "plan": "1"}))["confirmOrder"]
    assert confirmed["userErrors"] == []
    accepted = (await gateway.ok(ACCEPT, {"id": order["id"]}))["acceptContract"]
    assert accepted["userErrors"] == []
    assert accepted["order"]["status"] == "COMPLETED"
    [call] = gateway.calls(P, "/acceptContract/")
    assert call.method == "GET"


# -- answers that say the change was made, and answers that say neither ----------------


def held(gw: Gateway, ref: str) -> list[str]:
    """The numbers of the sandbox's orders under ``ref``."""
    return [o.order_no for o in gw.sandboxes[P].app[STATE].orders.values() if o.out_order_no == ref]


def status_of(gw: Gateway, seed: tuple[str, str]) -> str:
    return gw.sandboxes[P].app[STATE].orders[seed[0]].status


@pytest.mark.parametrize("status", [201, 202])
async def test_a_create_answered_another_2xx_is_the_order_placed_once(
    gateway: Gateway, status: int
) -> None:
    """Any 2xx holds the envelope: a create that landed under a 201 or 202 is the order. It was
    a refusal that freed the key, and the same key asked again placed a second order."""
    gateway.faults(P).update({"only_paths": ["/create"], "answer_status": status})
    again = {"externalReference": f"SHOP-{status}", "idempotencyKey": f"key-{status}"}
    first = await place(gateway, **again)
    assert first["externalReference"] == f"SHOP-{status}"
    assert (first["status"], first["providerStatus"]) == ("PENDING", "CREATED")  # read back
    second = await place(gateway, **again)
    assert second["id"] == first["id"]
    assert held(gateway, f"SHOP-{status}") == [first["number"]]
    assert len(gateway.calls(P, "/create", "POST")) == 1


@pytest.mark.parametrize("success", [None, 1, "ok", "", [True]])
async def test_a_create_whose_success_is_neither_true_nor_false_is_unknown_never_refused(
    gateway: Gateway, success: Any
) -> None:
    """The create landed and its envelope says neither success nor refusal (only ``false`` is
    one): the order may exist, so the key stays taken, OUTCOME_UNKNOWN, and the same key never
    sends it again. It was REJECTED_BY_PROVIDER, the key freed, and a second order placed."""
    gateway.faults(P).update({"only_paths": ["/create"], "merge": {"success": success}})
    inputs = NEW_ORDER | {"externalReference": "SHOP-NEITHER", "idempotencyKey": "key-neither"}
    for _ in range(2):
        answer = (await gateway.ok(PLACE, {"input": inputs}))["placeOrder"]
        assert answer["order"] is None
        [error] = answer["userErrors"]
        assert (error["code"], error["field"]) == ("OUTCOME_UNKNOWN", ["input"])
    # Nor under another key: the reference's record is unknown too.
    other = await gateway.ok(PLACE, {"input": inputs | {"idempotencyKey": "key-other"}})
    assert [e["code"] for e in other["placeOrder"]["userErrors"]] == ["OUTCOME_UNKNOWN"]
    assert len(held(gateway, "SHOP-NEITHER")) == 1
    assert len(gateway.calls(P, "/create", "POST")) == 1


async def test_an_unknown_outcome_says_what_the_answer_said(gateway: Gateway) -> None:
    gateway.faults(P).update({"only_paths": ["/create"], "merge": {"success": None}})
    answer = (await gateway.ok(PLACE, {"input": NEW_ORDER}))["placeOrder"]
    [error] = answer["userErrors"]
    assert error["message"].startswith(
        "lipalater: the order was sent but its outcome is unknown (success None in a 200 "
        "answer: neither success nor a refusal); "
    )


# (mutation, the seeded order it changes, the path it calls, the sandbox's status after it)
WRITES = [
    (CANCEL, d.SEED_CREATED, "/cancelOrder", d.CANCELLED),
    (CONFIRM, d.SEED_CREATED, "/confirm/", d.CONFIRMED),
    (ACCEPT, d.SEED_CONFIRMED, "/acceptContract/", d.COMPLETED),
    (REJECT, d.SEED_CONFIRMED, "/rejectContract/", d.CLOSED),
]


@pytest.mark.parametrize(("mutation", "seed", "path", "after"), WRITES)
async def test_a_write_answered_202_is_made_not_refused(
    gateway: Gateway, mutation: str, seed: tuple[str, str], path: str, after: str
) -> None:
    gateway.faults(P).update({"only_paths": [path], "answer_status": 202})
    answer = await gateway.ok(mutation, {"id": seeded_id(seed), "reason": "r", "plan": "1"})
    [payload] = answer.values()
    assert payload["userErrors"] == []
    assert payload["order"]["providerStatus"] == after
    assert status_of(gateway, seed) == after
    assert len(gateway.calls(P, path)) == 1


@pytest.mark.parametrize(("mutation", "seed", "path", "after"), WRITES)
async def test_a_write_whose_success_is_null_may_have_been_applied(
    gateway: Gateway, mutation: str, seed: tuple[str, str], path: str, after: str
) -> None:
    """The change was made and the answer says neither success nor refusal: an error saying it
    may have been applied, not retryable; it was a refusal telling the caller nothing changed."""
    gateway.faults(P).update({"only_paths": [path], "merge": {"success": None}})
    answer = await gateway.query(mutation, {"id": seeded_id(seed), "reason": "r", "plan": "1"})
    assert list(answer.data.values()) == [None]
    [error] = answer.errors
    assert error["extensions"]["code"] == "PROVIDER_ERROR"
    assert error["extensions"]["retryable"] is False
    assert error["message"].endswith("; the request may have been applied")
    assert status_of(gateway, seed) == after
    assert len(gateway.calls(P, path)) == 1


async def test_a_refusal_under_another_2xx_is_still_a_refusal(gateway: Gateway) -> None:
    gateway.faults(P).update({"answer_status": 201})
    answer = (await gateway.ok(ACCEPT, {"id": seeded_id(d.SEED_CREATED)}))["acceptContract"]
    assert answer["userErrors"] == [
        {
            "field": ["input", "orderId"],
            "message": "lipalater: Order has not been confirmed",
            "code": "REJECTED_BY_PROVIDER",
            "providerCode": "500",
        }
    ]


async def test_an_invalid_token_under_a_201_is_fetched_again_and_the_order_placed_once(
    gateway: Gateway,
) -> None:
    """A refused token under any 2xx applied nothing: the create is sent again with a new
    token, placed once, and its key holds it."""
    await place(gateway, externalReference="SHOP-TOKEN-0")  # a token, then revoked
    gateway.sandboxes[P].app[STATE].tokens.clear()
    gateway.faults(P).update({"answer_status": 201})
    inputs = {"externalReference": "SHOP-TOKEN", "idempotencyKey": "key-token"}
    first = await place(gateway, **inputs)
    again = await place(gateway, **inputs)
    assert again["id"] == first["id"]
    assert held(gateway, "SHOP-TOKEN") == [first["number"]]
    assert len(gateway.calls(P, TOKEN_PATH)) == 2
    assert len(gateway.calls(P, "/create", "POST")) == 3  # the first order; refused, then sent


# -- a detail must name the order asked for ----------------------------------------------


@pytest.mark.parametrize(
    "named",
    [
        {"orderNo": d.SEED_CREATED[0]},  # another order that exists
        {"orderNo": ""},
        {"orderNo": None},
        {"memberId": d.SEED_CONFIRMED[1]},
    ],
)
async def test_a_read_back_naming_another_order_answers_the_order_placed(
    gateway: Gateway, named: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """placeOrder reads its new order back; an answer naming another order (or none) was
    answered as the order placed, and kept for the key: every retry answered that one."""
    gateway.faults(P).update({"only_paths": ["/detail/"], "merge": {"data": named}})
    inputs = {"externalReference": "SHOP-BACK", "idempotencyKey": "key-back"}
    order = await place(gateway, **inputs)
    [number] = held(gateway, "SHOP-BACK")
    assert (order["id"], order["number"]) == (order_id("100001", number), number)
    assert order["externalReference"] == "SHOP-BACK"
    assert order["customer"] == {"id": "100001"}
    assert (order["status"], order["total"]) == ("UNKNOWN", kes("63997.00"))  # create's answer
    [note] = [r for r in caplog.records if "status could not be read" in r.getMessage()]
    assert note.getMessage().startswith(
        f"lipalater order 100001/{number} placed, but its status could not be read (asked for "
        f"order {number} of customer 100001, the detail answer names order "
    )
    assert note.levelno == logging.WARNING
    gateway.faults(P).update({"merge": None})
    again = await place(gateway, **inputs)  # the key's record, re-read by the order it names
    assert (again["id"], again["status"]) == (order["id"], "PENDING")
    assert len(gateway.calls(P, "/create", "POST")) == 1


async def test_a_detail_naming_another_order_is_a_provider_error(gateway: Gateway) -> None:
    variables = {"n": d.SEED_CREATED[0], "c": d.SEED_CREATED[1]}
    knobs = {"only_paths": ["/detail/"], "merge": {"data": {"orderNo": d.SEED_CONFIRMED[0]}}}
    gateway.faults(P).update(knobs)
    answer = await gateway.query(BY_NUMBER, variables)
    assert answer.data == {"orderByNumber": None}
    [error] = answer.errors
    assert error["extensions"]["code"] == "PROVIDER_ERROR"
    assert error["message"] == (
        f"lipalater: asked for order {d.SEED_CREATED[0]} of customer {d.SEED_CREATED[1]}, the "
        f"detail answer names order '{d.SEED_CONFIRMED[0]}' of customer '{d.SEED_CREATED[1]}'"
    )
    # The same number as a JSON integer (the table's type), or no memberId, is that order.
    gateway.faults(P).update({"merge": {"data": {"orderNo": int(d.SEED_CREATED[0])}}})
    assert (await gateway.ok(BY_NUMBER, variables))["orderByNumber"]["number"] == variables["n"]
    gateway.faults(P).update({"merge": {"data": {"memberId": ""}}})
    assert (await gateway.ok(BY_NUMBER, variables))["orderByNumber"]["number"] == variables["n"]


# -- configuration ---------------------------------------------------------------------


@pytest.mark.parametrize(("currency", "shown"), [("KSH", "KES"), ("ugx", "UGX")])
async def test_the_currency_setting(gateway: Gateway, currency: str, shown: str) -> None:
    async with started(config_with(gateway, currency=currency), gateway.sandboxes) as gw:
        found = await gw.ok(
            f"query($id: ID!) {{ order(id: $id) {{ total {MONEY} items {{ total {MONEY} }} }} }}",
            {"id": seeded_id(d.SEED_CREATED)},
        )
    assert found["order"]["total"]["currency"] == shown
    assert {i["total"]["currency"] for i in found["order"]["items"]} == {shown}


async def test_providers_lists_the_capabilities(gateway: Gateway) -> None:
    found = await gateway.ok("{ providers { name configured capabilities } }")
    [info] = [p for p in found["providers"] if p["name"] == "LIPALATER"]
    assert info == {
        "name": "LIPALATER",
        "configured": True,
        "capabilities": [
            "CANCEL_ORDER",
            "CONFIRM_ORDER",
            "CONTRACT",
            "CREDIT_STATUS",
            "PLACE_ORDER",
            "READ_ORDER",
            "REPAYMENT_SCHEDULE",
        ],
    }


async def test_unsupported_operations_name_the_provider(gateway: Gateway) -> None:
    answer = await gateway.query(
        """mutation($id: ID!) { refundOrder(input: {orderId: $id, amount: "1"}) {
             userErrors { code } } }""",
        {"id": seeded_id(d.SEED_COMPLETED)},
    )
    assert answer.codes == ["UNSUPPORTED_OPERATION"]
    assert answer.errors[0]["extensions"]["provider"] == "LIPALATER"


async def test_a_failed_read_back_still_answers_the_placed_order(gateway: Gateway) -> None:
    faults = gateway.faults(P)
    faults.only_paths, faults.error_rate = ["/detail/"], 1.0
    order = await place(gateway)
    # Created (once): the payload is the create answer, which carries no statuses.
    assert len(gateway.calls(P, "/create", "POST")) == 1
    assert (order["status"], order["paymentStatus"]) == ("UNKNOWN", None)
    assert order["total"] == kes("63997.00")
    assert [i["sku"] for i in order["items"]] == ["P1001", "P1007"]


@pytest.mark.parametrize("reason", ["", "   ", "\t\n"])
async def test_cancel_with_a_blank_reason_is_refused_and_nothing_is_sent(
    gateway: Gateway, reason: str
) -> None:
    """Front Payment refuses a blank reason too: a reason of spaces is no reason."""
    number, member = d.SEED_CREATED
    payload = (await gateway.ok(CANCEL, {"id": seeded_id(d.SEED_CREATED), "reason": reason}))[
        "cancelOrder"
    ]
    assert payload == {
        "order": None,
        "userErrors": [
            {
                "field": ["input", "reason"],
                "message": "Lipa Later needs reason",
                "code": "BAD_USER_INPUT",
                "providerCode": None,
            }
        ],
    }
    assert gateway.calls(P, "/cancelOrder") == []
    seeded = gateway.sandboxes[P].app[STATE].find(member, number)
    assert seeded is not None
    assert seeded.status == d.CREATED


async def test_a_forged_item_position_nulls_its_own_node_only(gateway: Gateway) -> None:
    """ "²" passes str.isdigit() but not int(): it used to fail every Lipa Later node of the
    batch with an untyped error; it names no item."""
    number, member = d.SEED_CREATED
    good = [ids.encode("OrderItem", ProviderName.LIPALATER, f"{member}/{number}/0")]
    forged = ids.encode("OrderItem", ProviderName.LIPALATER, f"{member}/{number}/\u00b2")
    answer = await gateway.query(
        "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [*good, forged]}
    )
    assert answer.errors == []
    assert answer.data == {"nodes": [{"id": good[0]}, None]}


async def test_a_parameter_the_provider_refuses_on_a_read_is_bad_input_not_retryable(
    gateway: Gateway,
) -> None:
    answer = await gateway.query(SCHEDULE, {"id": seeded_id(d.SEED_CREATED), "loan": -1})
    [error] = answer.errors
    assert error["path"] == ["order", "repaymentSchedule"]
    assert error["message"].startswith("lipalater: Parameter error")
    assert (error["extensions"]["code"], error["extensions"]["retryable"]) == (
        "BAD_USER_INPUT",
        False,
    )


async def test_each_payload_of_a_document_reads_the_credit_status_after_its_own_mutation() -> None:
    """The credit status read for the confirm's payload was served again to the cancel's,
    beside its CANCELLED status: a change forgets every read of the order, not two."""
    document = """mutation($id: ID!) {
        a: confirmOrder(input: {orderId: $id, installPlanId: "1"}) {
            order { status creditStatus { status } } }
        b: cancelOrder(input: {orderId: $id, reason: "changed mind"}) {
            order { status creditStatus { status } } } }"""
    async with gateway_with(names=(P,)) as gw:
        answer = await gw.ok(document, {"id": seeded_id(d.SEED_CREATED)})
        after = await gw.ok(
            "query($id: ID!) { order(id: $id) { creditStatus { status } } }",
            {"id": seeded_id(d.SEED_CREATED)},
        )
    assert answer["a"]["order"] == {"status": "PROCESSING", "creditStatus": {"status": "APPLYING"}}
    assert answer["b"]["order"]["status"] == "CANCELLED"
    assert answer["b"]["order"]["creditStatus"] == after["order"]["creditStatus"]
    assert after["order"]["creditStatus"]["status"] != "APPLYING"


async def test_one_order_with_its_schedule_and_credit_status_makes_no_task_but_its_batches(
    gateway: Gateway,
) -> None:
    """An order read by number with its repayment schedule and credit status: each of the three
    batches (the order, then the two reads that need it) runs in its loader's task, and nothing
    else the gateway runs makes a task of its own. A task for the one order's read, or for each
    field awaiting a batch, would put a turn of the event loop between an answer and what it
    starts (the next reads, the response): under load, a whole loop cycle each."""
    number, member = d.SEED_CONFIRMED
    query = f"""{{ orderByNumber(provider: LIPALATER, number: "{number}", customerId: "{member}")
      {{ number items {{ name }} repaymentSchedule(loanProductId: 1) {{
           installment {MONEY} periods {{ period dueDate totalDue {MONEY} }} }}
         creditStatus {{ status }} }} }}"""
    await gateway.ok(query)  # the token and the connections, before counting
    made: list[str] = []
    loop = asyncio.get_running_loop()
    default = loop.get_task_factory()

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        code = getattr(coro, "cr_code", None)
        where = code.co_filename if code is not None else ""
        if any(f"/{package}/" in where for package in ("graph", "providers", "resolvers")):
            if "/providers/sandbox/" not in where:
                made.append(coro.__qualname__)
        return asyncio.Task(coro, loop=loop, **kwargs)

    loop.set_task_factory(factory)
    try:
        found = await gateway.ok(query)
    finally:
        loop.set_task_factory(default)
    order = found["orderByNumber"]
    assert order["number"] == number
    assert len(order["repaymentSchedule"]["periods"]) == 3
    assert order["creditStatus"]["status"] is not None
    assert sorted(made) == [
        "Departure._watching", "PromptLoader._dispatch", "PromptLoader._dispatch",
        "PromptLoader._dispatch",
    ]  # fmt: skip
