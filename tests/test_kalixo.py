"""Kalixo through the contract: place and read orders, PINs as secrets, idempotent creates."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from decimal import Decimal
from typing import Any

import pytest

from graph import ids
from graph.embedded import start_sandboxes
from providers.model import ProviderName
from providers.redact import MASK, SECRETS
from providers.sandbox.kalixo import REFRESH, STATE, STATIC_TOKEN, KalixoState
from providers.sandbox.kalixo_data import (
    ERROR_PRODUCT_ID,
    EXAMPLE_ORDER_ID,
    EXAMPLE_PIN,
    FAILING_PRODUCT_ID,
    SEEDED_IDS,
)
from tests.conftest import gateway_with, started
from tests.harness import Answer, Gateway

PLACE = """
mutation($in: PlaceOrderInput!) {
  placeOrder(input: $in) {
    order {
      id number externalReference status providerStatus total { amount currency }
      items { id productId quantity unitPrice { amount currency } total { amount } codes { code } }
    }
    userErrors { field message code providerCode }
  }
}"""

READ = """
query($n: String!) {
  orderByNumber(provider: KALIXO, number: $n) {
    id number externalReference status providerStatus total { amount currency }
    items { id productId quantity unitPrice { amount currency } total { amount } codes { code } }
  }
}"""

# The page's own example: products 2 and 6 at 32.99 and 8.39 GBP.
EXAMPLE_ITEMS = [
    {"productId": "2", "sku": "GB-EN-4251604177278", "unitPrice": "32.99", "quantity": 1},
    {"productId": "6", "sku": "GB-EN-4251604133182", "unitPrice": "8.39", "quantity": 1},
]


def order_input(ref: str, items: list[dict[str, Any]] | None = None, **extra: Any) -> Any:
    fields = {"provider": "KALIXO", "externalReference": ref, "currency": "GBP"}
    return {"in": fields | {"items": EXAMPLE_ITEMS if items is None else items} | extra}


def order_id(key: str) -> str:
    return ids.encode("Order", ProviderName.KALIXO, key)


def header(answer: Answer, name: str) -> str | None:
    return {k.lower(): v for k, v in answer.headers.items()}.get(name.lower())


def state(gw: Gateway) -> KalixoState:
    return gw.sandboxes["kalixo"].app[STATE]


def bodies(gw: Gateway, path: str) -> list[Any]:
    return [json.loads(c.body) for c in gw.calls("kalixo", path)]


def kalixo(
    api_keys: dict[str, list[str]] | None = None, **section: Any
) -> AbstractAsyncContextManager[Gateway]:
    """A gateway over the Kalixo sandbox alone, its section changed by ``section`` (a key set
    to None is removed)."""
    server = None if api_keys is None else {"api_keys": api_keys}
    return gateway_with({"kalixo": section}, names=("kalixo",), server=server)


# -- place ---------------------------------------------------------------------------------


async def test_place_sends_the_pages_example_and_answers_the_order(gateway: Gateway) -> None:
    answer = await gateway.query(PLACE, order_input("O-12345"))
    assert answer.status == 200
    assert not answer.errors, answer.errors
    payload = answer.data["placeOrder"]
    assert payload["userErrors"] == []
    order = payload["order"]
    key = order["number"]
    codes = [c["code"] for item in order["items"] for c in item["codes"]]
    assert order == {
        "id": order_id(key),
        "number": key,
        "externalReference": "O-12345",
        "status": "COMPLETED",  # every unit already has its PIN: issued only when completed
        "providerStatus": None,  # place-order answers no status of its own
        "total": {"amount": "41.38", "currency": "GBP"},
        "items": [
            {
                "id": ids.encode("OrderItem", ProviderName.KALIXO, f"{key}/0"),
                "productId": "2",
                "quantity": 1,
                "unitPrice": {"amount": "32.99", "currency": "GBP"},
                "total": {"amount": "32.99"},
                "codes": [{"code": codes[0]}],
            },
            {
                "id": ids.encode("OrderItem", ProviderName.KALIXO, f"{key}/1"),
                "productId": "6",
                "quantity": 1,
                "unitPrice": {"amount": "8.39", "currency": "GBP"},
                "total": {"amount": "8.39"},
                "codes": [{"code": codes[1]}],
            },
        ],
    }
    assert state(gateway).orders[int(key)].lines[0].pins == [codes[0]]
    # Exactly the page's request shape: minor units as integers, sku and currency as strings.
    assert bodies(gateway, "place-order") == [
        {
            "externalOrderCode": "O-12345",
            "price": 4138,
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
    ]
    assert len(gateway.calls("kalixo", "/auth/login")) == 1
    # One login, one create: every unit has its PIN, so the order is complete without a read.
    assert len(gateway.calls("kalixo")) == 2
    assert header(answer, "Cache-Control") == "no-store"


async def test_quantities_multiply_in_minor_units(gateway: Gateway) -> None:
    items = [{"productId": "4", "sku": "GB-EN-4251604177292", "unitPrice": "19.99", "quantity": 3}]
    placed = await gateway.ok(PLACE, order_input("Q-3", items, total="59.97"))
    order = placed["placeOrder"]["order"]
    assert order["total"] == {"amount": "59.97", "currency": "GBP"}
    assert order["items"][0]["total"] == {"amount": "59.97"}
    assert len(order["items"][0]["codes"]) == 3
    [sent] = bodies(gateway, "place-order")
    assert sent["price"] == 5997
    assert sent["orderProducts"][0] | {"sku": None} == {
        "productId": 4,
        "price": 1999,
        "sku": None,
        "currency": "GBP",
        "quantity": 3,
    }


async def test_total_mismatch_is_a_user_error_and_nothing_is_sent(gateway: Gateway) -> None:
    gateway.clear_calls()
    placed = await gateway.ok(PLACE, order_input("O-TOTAL", total="50.00"))
    assert placed["placeOrder"]["order"] is None
    [error] = placed["placeOrder"]["userErrors"]
    assert error["code"] == "TOTAL_MISMATCH"
    assert error["field"] == ["input", "total"]
    assert gateway.calls("kalixo") == []  # not even a login


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"externalReference": None}, ["input", "externalReference"]),
        ({"externalReference": "  "}, ["input", "externalReference"]),
        ({"currency": "pounds"}, ["input", "currency"]),
        ({"items": [{"sku": "X", "unitPrice": "1.00"}]}, ["input", "items", "0", "productId"]),
        (
            {"items": [{"productId": "two", "sku": "X", "unitPrice": "1.00"}]},
            ["input", "items", "0", "productId"],
        ),
        ({"items": [{"productId": "2", "sku": "X"}]}, ["input", "items", "0", "unitPrice"]),
        (
            {"items": [{"productId": "2", "sku": "X", "unitPrice": "32.999"}]},
            ["input", "items", "0", "unitPrice"],
        ),
        ({"items": [{"productId": "2", "unitPrice": "32.99"}]}, ["input", "items", "0", "sku"]),
    ],
)
async def test_input_kalixo_cannot_take_is_bad_user_input_before_any_call(
    gateway: Gateway, change: dict[str, Any], field: list[str]
) -> None:
    gateway.clear_calls()
    variables = order_input("O-BAD")
    variables["in"].update(change)
    variables["in"] = {k: v for k, v in variables["in"].items() if v is not None}
    placed = await gateway.ok(PLACE, variables)
    assert placed["placeOrder"]["order"] is None
    [error] = placed["placeOrder"]["userErrors"]
    assert (error["code"], error["field"]) == ("BAD_USER_INPUT", field)
    assert gateway.calls("kalixo") == []


async def test_unknown_product_is_the_providers_refusal(gateway: Gateway) -> None:
    items = [{"productId": "999", "sku": "X", "unitPrice": "1.00"}]
    placed = await gateway.ok(PLACE, order_input("O-NOPE", items))
    [error] = placed["placeOrder"]["userErrors"]
    assert error["code"] == "REJECTED_BY_PROVIDER"
    assert error["providerCode"] == "api_error"
    assert "Product 999 not found" in error["message"]


@pytest.mark.parametrize(
    ("line", "price", "message"),
    [
        ({"unitPrice": "32.00"}, 3200, "orderProducts.0.price must be 3299, product 2's price"),
        (
            {"sku": "GB-EN-4251604133182"},
            3299,
            "orderProducts.0.sku GB-EN-4251604133182 is not product 2's sku",
        ),
    ],
)
async def test_a_line_off_the_catalogue_is_the_providers_refusal(
    gateway: Gateway, line: dict[str, str], price: int, message: str
) -> None:
    """Kalixo checks each line against its catalogue, in minor units: 32.99 GBP goes as 3299
    (the page's example) and is placed; 32.00 goes as 3200 and is refused."""
    items = [EXAMPLE_ITEMS[0] | line]
    placed = await gateway.ok(PLACE, order_input("O-OFF", items))
    assert placed["placeOrder"]["order"] is None
    [error] = placed["placeOrder"]["userErrors"]
    assert (error["code"], error["providerCode"]) == ("REJECTED_BY_PROVIDER", "api_error")
    assert error["message"] == f"kalixo: {message}"
    [sent] = bodies(gateway, "place-order")
    assert sent["orderProducts"][0]["price"] == price
    assert held(gateway, "O-OFF") == []


@pytest.mark.parametrize("currency", ["EUR", "JPY", "eur"])
async def test_a_currency_other_than_the_configured_one_is_refused_before_any_call(
    gateway: Gateway, currency: str
) -> None:
    """retrieve-order answers no currency, so every Kalixo order is read in the configured one
    (GBP unless set): placed in EUR, 41.38 EUR would read back as 41.38 GBP."""
    gateway.clear_calls()
    placed = await gateway.ok(PLACE, order_input("O-ELSEWHERE", currency=currency))
    assert placed["placeOrder"]["order"] is None
    [error] = placed["placeOrder"]["userErrors"]
    assert (error["code"], error["field"]) == ("BAD_USER_INPUT", ["input", "currency"])
    assert error["message"] == (
        "Kalixo orders are placed in GBP here: Kalixo answers no currency, so every Kalixo "
        f"order is read in the configured currency (GBP) and one placed in {currency.upper()} "
        "would read back in GBP"
    )
    assert gateway.calls("kalixo") == []


@pytest.mark.parametrize("currency", [None, " "])
async def test_without_a_currency_the_order_is_placed_in_the_default_one(
    gateway: Gateway, currency: str | None
) -> None:
    """The embedded default sets no currency: Kalixo orders are GBP, as providers{settings}
    says, and an order without one is placed in it (it was refused as having no currency)."""
    info = await gateway.ok("{ providers { name settings } }")
    [mine] = [p for p in info["providers"] if p["name"] == "KALIXO"]
    assert mine["settings"]["currency"] == "GBP"
    variables = order_input("O-NO-CURRENCY")
    variables["in"]["currency"] = currency
    placed = await gateway.ok(PLACE, variables)
    assert placed["placeOrder"]["userErrors"] == []
    assert placed["placeOrder"]["order"]["total"] == {"amount": "41.38", "currency": "GBP"}
    [sent] = bodies(gateway, "place-order")
    assert [sent["currency"], *(line["currency"] for line in sent["orderProducts"])] == ["GBP"] * 3


async def test_an_order_in_the_configured_currency_reads_back_in_it() -> None:
    async with kalixo(currency="EUR") as gw:
        placed = await gw.ok(PLACE, order_input("O-IN-EUR", currency="EUR"))
        order = placed["placeOrder"]["order"]
        assert order["total"] == {"amount": "41.38", "currency": "EUR"}
        read = (await gw.ok(READ, {"n": order["number"]}))["orderByNumber"]
        assert read["total"] == {"amount": "41.38", "currency": "EUR"}
        assert [i["unitPrice"] for i in read["items"]] == [
            {"amount": "32.99", "currency": "EUR"},
            {"amount": "8.39", "currency": "EUR"},
        ]
        # No currency given: the configured one. GBP here: refused, nothing sent.
        default = await gw.ok(PLACE, order_input("O-DEFAULT", currency=None))
        assert default["placeOrder"]["order"]["total"]["currency"] == "EUR"
        refused = await gw.ok(PLACE, order_input("O-IN-GBP", currency="GBP"))
        [error] = refused["placeOrder"]["userErrors"]
        assert (error["code"], error["field"]) == ("BAD_USER_INPUT", ["input", "currency"])
        assert [b["currency"] for b in bodies(gw, "place-order")] == ["EUR", "EUR"]


# -- idempotency on externalOrderCode ----------------------------------------------------------


async def test_the_same_reference_twice_answers_the_same_order_bought_once(
    gateway: Gateway,
) -> None:
    first = await gateway.ok(PLACE, order_input("O-DUP"))
    second = await gateway.ok(PLACE, order_input("O-DUP"))
    one, two = first["placeOrder"], second["placeOrder"]
    assert two["userErrors"] == []
    assert two["order"]["id"] == one["order"]["id"]
    assert two["order"]["status"] == "COMPLETED"
    assert two["order"]["providerStatus"] == "completed"  # read back: the provider's own value
    assert two["order"]["items"] == one["order"]["items"]  # the same PINs, not new ones
    # The second answer comes from the gateway's idempotency record: no second create.
    assert len(gateway.calls("kalixo", "place-order")) == 1
    held = [o for o in state(gateway).orders.values() if o.external_code == "O-DUP"]
    assert len(held) == 1


async def test_a_reference_holding_other_products_is_refused(gateway: Gateway) -> None:
    await gateway.ok(PLACE, order_input("O-TAKEN"))
    other = [{"productId": "1", "sku": "GB-EN-4251604177261", "unitPrice": "10.99"}]
    placed = await gateway.ok(PLACE, order_input("O-TAKEN", other))
    assert placed["placeOrder"]["order"] is None
    [error] = placed["placeOrder"]["userErrors"]
    # The gateway's idempotency record refuses it before Kalixo is asked.
    assert error["code"] == "IDEMPOTENCY_CONFLICT"
    assert len(gateway.calls("kalixo", "place-order")) == 1
    assert len([o for o in state(gateway).orders.values() if o.external_code == "O-TAKEN"]) == 1


async def test_a_reference_placed_under_another_key_answers_the_order_the_gateway_placed(
    gateway: Gateway,
) -> None:
    """Another idempotencyKey, the same externalReference: Kalixo refuses the code as taken,
    and the gateway answers the order its own place-order answer named under it."""
    first = (await gateway.ok(PLACE, order_input("O-TWICE")))["placeOrder"]["order"]
    gateway.clear_calls()
    again = await gateway.ok(PLACE, order_input("O-TWICE", idempotencyKey="another-key"))
    assert again["placeOrder"]["userErrors"] == []
    order = again["placeOrder"]["order"]
    assert (order["id"], order["externalReference"]) == (first["id"], "O-TWICE")
    assert order["items"] == first["items"]
    assert order["providerStatus"] == "completed"  # read again, by its id
    assert paths(gateway) == ["place-order", "retrieve-order"]
    assert [c.query for c in gateway.calls("kalixo", "retrieve-order")] == [{"id": first["number"]}]
    # Other products under the code: the caller's conflict, not the order asked for.
    other = [{"productId": "1", "sku": "GB-EN-4251604177261", "unitPrice": "10.99"}]
    taken = await gateway.ok(PLACE, order_input("O-TWICE", other, idempotencyKey="third-key"))
    [error] = taken["placeOrder"]["userErrors"]
    assert (error["code"], error["field"]) == (
        "REJECTED_BY_PROVIDER",
        ["input", "externalReference"],
    )
    assert error["message"] == (
        f"kalixo: externalOrderCode 'O-TWICE' already names order {first['number']}, "
        "which holds other products"
    )
    assert held(gateway, "O-TWICE") == [first["number"]]


async def test_a_reference_the_gateway_never_saw_placed_is_kalixos_refusal(
    gateway: Gateway,
) -> None:
    """Kalixo holds the page's example under a code this gateway never placed: the refusal is
    said as such; Kalixo cannot be asked which order holds it, so none is made up."""
    gateway.clear_calls()
    placed = await gateway.ok(PLACE, order_input(f"O-SEED-{EXAMPLE_ORDER_ID}"))
    assert placed["placeOrder"]["order"] is None
    [error] = placed["placeOrder"]["userErrors"]
    assert (error["code"], error["field"], error["providerCode"]) == (
        "REJECTED_BY_PROVIDER",
        ["input", "externalReference"],
        "api_error",
    )
    assert error["message"] == (
        "kalixo: externalOrderCode already exists: Kalixo holds an order under externalOrderCode "
        f"'O-SEED-{EXAMPLE_ORDER_ID}' that this gateway did not see placed (Kalixo cannot be "
        "asked for an order by its externalOrderCode)"
    )
    assert len(gateway.calls("kalixo", "place-order")) == 1
    assert gateway.calls("kalixo", "retrieve-order") == []


async def test_a_reference_is_trimmed_once_and_every_use_sees_the_same_text(
    gateway: Gateway,
) -> None:
    placed = await gateway.ok(PLACE, order_input("  O-TRIM  "))
    order = placed["placeOrder"]["order"]
    assert order["externalReference"] == "O-TRIM"
    read = (await gateway.ok(READ, {"n": order["number"]}))["orderByNumber"]
    assert read["externalReference"] == "O-TRIM"
    # Another spelling is the same reference, trimmed where the input is read: the same key,
    # answered from its record with nothing sent.
    again = await gateway.ok(PLACE, order_input("O-TRIM "))
    assert again["placeOrder"]["userErrors"] == []
    assert again["placeOrder"]["order"]["id"] == order["id"]
    assert again["placeOrder"]["order"]["externalReference"] == "O-TRIM"
    assert held(gateway, "O-TRIM") == [order["number"]]
    # A create that may have landed (a 5xx) is sent once more as trimmed, never as given, and
    # never looked up.
    faults = gateway.faults("kalixo")
    faults.error_rate, faults.only_paths = 1.0, ["place-order"]
    unknown = await gateway.ok(PLACE, order_input(" O-TRIM-500\t"))
    assert [e["code"] for e in unknown["placeOrder"]["userErrors"]] == ["OUTCOME_UNKNOWN"]
    sent = [b["externalOrderCode"] for b in bodies(gateway, "place-order")]
    assert sent == ["O-TRIM", "O-TRIM-500", "O-TRIM-500"]
    assert [c.query for c in gateway.calls("kalixo", "retrieve-order")] == [
        {"id": order["number"]}
    ] * 2  # the read and the known order; never a reference


def paths(gw: Gateway) -> list[str]:
    return [c.path.rsplit("/", 1)[-1] for c in gw.calls("kalixo")]


def held(gw: Gateway, ref: str) -> list[str]:
    """The ids of the orders the sandbox holds under ``ref``."""
    return [str(o.order_id) for o in state(gw).orders.values() if o.external_code == ref]


async def when(condition: Callable[[], object], then: Callable[[], None]) -> None:
    """Run ``then`` as soon as ``condition()`` holds (a fault changed mid-request)."""
    for _ in range(1000):
        if condition():
            then()
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the condition never held")


async def test_a_create_lost_before_it_landed_is_sent_once_more_and_answers_the_order() -> None:
    """The first create never reaches Kalixo's order book; sent again under the same
    externalOrderCode (which cannot buy twice), it is placed: that is the answer."""
    async with kalixo(timeout_s=0.3) as gw:
        await gw.ok(READ, {"n": "59400"})  # log in before the fault
        gw.clear_calls()
        faults = gw.faults("kalixo")
        faults.hang, faults.only_paths = True, ["place-order"]
        first_sent = asyncio.create_task(
            when(lambda: gw.calls("kalixo", "place-order"), lambda: setattr(faults, "hang", False))
        )
        placed = await gw.ok(PLACE, order_input("O-HUNG"))
        await first_sent
        order = placed["placeOrder"]["order"]
        assert placed["placeOrder"]["userErrors"] == []
        assert (order["externalReference"], order["status"]) == ("O-HUNG", "COMPLETED")
        # No lookup (Kalixo has none by reference): the same body, sent twice.
        assert paths(gw) == ["place-order", "place-order"]
        first, second = bodies(gw, "place-order")
        assert first == second
        assert first["externalOrderCode"] == "O-HUNG"
        assert held(gw, "O-HUNG") == [order["number"]]


async def test_a_create_that_landed_but_whose_answer_was_lost_is_an_unknown_outcome() -> None:
    """Sent once more, Kalixo refuses the code as taken: the first landed, but its id was in
    the lost answer and nothing can name it, so the outcome is unknown; no second order."""
    async with kalixo(timeout_s=0.3) as gw:
        await gw.ok(READ, {"n": "59400"})
        gw.clear_calls()
        faults = gw.faults("kalixo")
        faults.drip_s, faults.only_paths = 0.05, ["place-order"]  # placed, answer too slow
        landed = asyncio.create_task(
            when(lambda: held(gw, "O-LOST"), lambda: setattr(faults, "drip_s", 0.0))
        )
        answer = await gw.ok(PLACE, order_input("O-LOST"))
        await landed
        assert answer["placeOrder"]["order"] is None
        [error] = answer["placeOrder"]["userErrors"]
        assert (error["code"], error["field"]) == ("OUTCOME_UNKNOWN", ["input"])
        assert error["message"] == (
            "kalixo: the order was sent but its outcome is unknown (its answer was lost (kalixo "
            "did not answer within 0.3 s; the request may have been applied); sent once more, "
            "Kalixo answers that externalOrderCode 'O-LOST' already exists: an order under it "
            "was placed, most likely this one, but its id was in the lost answer. Kalixo "
            "cannot be asked for an order by its externalOrderCode: find it in Kalixo)"
        )
        assert paths(gw) == ["place-order", "place-order"]
        assert len(held(gw, "O-LOST")) == 1

        # Asked again with the same key: Kalixo cannot be asked, so the create is sent again,
        # and refused as a duplicate again: still unknown, and still one order.
        gw.clear_calls()
        again = await gw.ok(PLACE, order_input("O-LOST"))
        [error] = again["placeOrder"]["userErrors"]
        assert error["code"] == "OUTCOME_UNKNOWN"
        assert error["message"] == (
            "kalixo: the order was sent but its outcome is unknown (an earlier placeOrder under "
            "this key sent it and its outcome is unknown; sent once more, Kalixo answers that "
            "externalOrderCode 'O-LOST' already exists: an order under it was placed, most "
            "likely this one, but its id was in the lost answer. Kalixo cannot be asked for an "
            "order by its externalOrderCode: find it in Kalixo)"
        )
        assert paths(gw) == ["place-order"]
        assert len(held(gw, "O-LOST")) == 1


async def test_a_refusal_of_the_second_send_leaves_the_outcome_unknown() -> None:
    """The first send landed, its answer lost; the second is refused for another reason (the
    first took the last stock, say). That refusal said REJECTED_BY_PROVIDER and freed the key,
    although the order existed."""
    async with kalixo(timeout_s=0.3) as gw:
        await gw.ok(READ, {"n": "59400"})
        gw.clear_calls()
        faults = gw.faults("kalixo")
        faults.drip_s, faults.only_paths = 0.05, ["place-order"]  # placed, answer too slow

        def refuse_the_next() -> None:
            faults.drip_s, faults.error_rate, faults.error_status = 0.0, 1.0, 400

        landed = asyncio.create_task(when(lambda: held(gw, "O-STOCK"), refuse_the_next))
        answer = await gw.ok(PLACE, order_input("O-STOCK"))
        await landed
        [error] = answer["placeOrder"]["userErrors"]
        assert error["code"] == "OUTCOME_UNKNOWN"
        assert (
            "sent once more under externalOrderCode 'O-STOCK', it was refused" in (error["message"])
        )
        assert paths(gw) == ["place-order", "place-order"]
        gw.clear_calls()
        faults.error_rate = 0.0
        # Asked again: sent again, and refused as the duplicate it is; never a second order.
        again = await gw.ok(PLACE, order_input("O-STOCK"))
        [error] = again["placeOrder"]["userErrors"]
        assert error["code"] == "OUTCOME_UNKNOWN"
        assert "externalOrderCode 'O-STOCK' already exists" in error["message"]
        assert paths(gw) == ["place-order"]
        assert len(held(gw, "O-STOCK")) == 1


async def test_when_the_second_send_is_lost_too_the_outcome_stays_unknown_and_one_order() -> None:
    async with kalixo(timeout_s=0.3) as gw:
        await gw.ok(READ, {"n": "59400"})
        gw.clear_calls()
        faults = gw.faults("kalixo")
        faults.latency_s, faults.only_paths = 0.5, ["/v1/orders/"]
        answer = await gw.ok(PLACE, order_input("O-LIMBO"))
        [error] = answer["placeOrder"]["userErrors"]
        assert error["code"] == "OUTCOME_UNKNOWN"
        assert "outcome is unknown" in error["message"]
        assert "so was the answer to sending it once more" in error["message"]
        # The connector's one more send under the same code; no lookup, nothing more.
        assert paths(gw) == ["place-order", "place-order"]
        # Once Kalixo answers again, the first send has landed and the second was refused.
        faults.latency_s = 0.0
        await asyncio.sleep(0.4)
        assert len(held(gw, "O-LIMBO")) == 1
        gw.clear_calls()
        # Asked again with the same key: sent again, refused as a duplicate (the first landed):
        # still unknown, and still one order.
        again = await gw.ok(PLACE, order_input("O-LIMBO"))
        [error] = again["placeOrder"]["userErrors"]
        assert error["code"] == "OUTCOME_UNKNOWN"
        assert "externalOrderCode 'O-LIMBO' already exists" in error["message"]
        assert paths(gw) == ["place-order"]
        assert len(held(gw, "O-LIMBO")) == 1


# -- read ----------------------------------------------------------------------------------


async def test_a_placed_order_reads_back_by_number_id_and_node(gateway: Gateway) -> None:
    placed = await gateway.ok(PLACE, order_input("O-READ"))
    oid = placed["placeOrder"]["order"]["id"]
    number = placed["placeOrder"]["order"]["number"]
    item_id = placed["placeOrder"]["order"]["items"][1]["id"]
    gateway.clear_calls()
    answer = await gateway.ok(
        """query($n: String!, $id: ID!, $item: ID!) {
          orderByNumber(provider: KALIXO, number: $n) { id externalReference status }
          order(id: $id) { id number providerStatus }
          node(id: $id) { id ... on Order { number } }
          item: node(id: $item) { id ... on OrderItem { productId order { number } } }
        }""",
        {"n": number, "id": oid, "item": item_id},
    )
    assert answer == {
        "orderByNumber": {"id": oid, "externalReference": "O-READ", "status": "COMPLETED"},
        "order": {"id": oid, "number": number, "providerStatus": "completed"},
        "node": {"id": oid, "number": number},
        "item": {"id": item_id, "productId": "6", "order": {"number": number}},
    }
    # retrieve-order answers the number as a number (place-order gave a string): same id.
    # One read for all of it: orderByNumber, order, node, the item node (an item is read through
    # its order: lines have no endpoint) and its order share the operation's one GET.
    calls = gateway.calls("kalixo", "retrieve-order")
    assert [c.query for c in calls] == [{"id": number}]


async def test_an_orders_external_reference_is_only_what_the_gateway_knows() -> None:
    """Kalixo answers no externalOrderCode: a read order carries the code this gateway sent in
    the place-order whose answer named it, else null; another gateway does not know it."""
    config, running = await start_sandboxes(names=("kalixo",))
    sandboxes = {s.name: s for s in running}
    try:
        async with started(config, sandboxes) as one, started(config, sandboxes) as two:
            example = await one.ok(READ, {"n": str(EXAMPLE_ORDER_ID)})
            assert example["orderByNumber"]["externalReference"] is None
            placed = await one.ok(PLACE, order_input("O-ONE"))
            number = placed["placeOrder"]["order"]["number"]
            mine = (await one.ok(READ, {"n": number}))["orderByNumber"]
            theirs = (await two.ok(READ, {"n": number}))["orderByNumber"]
            assert mine["externalReference"] == "O-ONE"
            assert theirs["externalReference"] is None
            assert theirs == mine | {"externalReference": None}
    finally:
        for s in running:
            await s.close()


async def test_the_pages_example_order_in_major_units(gateway: Gateway) -> None:
    found = await gateway.ok(READ, {"n": str(EXAMPLE_ORDER_ID)})
    order = found["orderByNumber"]
    assert order["total"] == {"amount": "76.97", "currency": "GBP"}  # 1099 + 2 x 3299 pence
    assert [(i["productId"], i["quantity"], i["unitPrice"]["amount"]) for i in order["items"]] == [
        ("1", 1, "10.99"),
        ("2", 2, "32.99"),
    ]
    assert [i["total"]["amount"] for i in order["items"]] == ["10.99", "65.98"]
    assert [len(i["codes"]) for i in order["items"]] == [1, 2]
    assert {c["code"] for i in order["items"] for c in i["codes"]} == {EXAMPLE_PIN}


@pytest.mark.parametrize("quantity", [3_000_000_000, 0, -1])
async def test_a_quantity_the_schema_cannot_serve_is_the_providers_bad_answer(
    gateway: Gateway, quantity: int
) -> None:
    """GraphQL's Int is 32 bits: a ``products[].quantity`` of 3,000,000,000 was an
    INTERNAL_SERVER_ERROR. Any quantity outside 1 .. 2^31 - 1 is a PROVIDER_ERROR on its order
    alone."""
    state(gateway).orders[EXAMPLE_ORDER_ID].lines[1].quantity = quantity
    other = SEEDED_IDS["completed"][0]
    answer = await gateway.query(
        f"""{{ a: orderByNumber(provider: KALIXO, number: "{EXAMPLE_ORDER_ID}") {{
                 items {{ quantity }} }}
               b: orderByNumber(provider: KALIXO, number: "{other}") {{ number }} }}"""
    )
    assert answer.data == {"a": None, "b": {"number": str(other)}}
    [error] = answer.errors
    assert (error["path"], error["extensions"]["code"]) == (["a"], "PROVIDER_ERROR")
    assert error["message"] == (
        f"kalixo: products[].quantity {quantity} is not a count from 1 to 2,147,483,647"
    )


async def test_the_largest_quantity_the_schema_serves_is_read(gateway: Gateway) -> None:
    state(gateway).orders[EXAMPLE_ORDER_ID].lines[1].quantity = 2**31 - 1
    found = await gateway.ok(READ, {"n": str(EXAMPLE_ORDER_ID)})
    items = found["orderByNumber"]["items"]
    assert [(i["quantity"], i["total"]["amount"]) for i in items] == [
        (1, "10.99"),
        (2**31 - 1, str(Decimal("32.99") * (2**31 - 1))),
    ]


@pytest.mark.parametrize("price", [19.99, "19.99", 3299.5])
async def test_a_price_that_is_no_whole_number_of_minor_units_is_the_providers_bad_answer(
    gateway: Gateway, price: Any
) -> None:
    """Kalixo's prices are integers in minor units: a price of 19.99 was cut to 19 pence (and
    "19.99" read as no price at all). A fraction is a PROVIDER_ERROR on its order alone, never
    another price."""
    state(gateway).orders[EXAMPLE_ORDER_ID].lines[1].price = price
    other = SEEDED_IDS["completed"][0]
    answer = await gateway.query(
        f"""{{ a: orderByNumber(provider: KALIXO, number: "{EXAMPLE_ORDER_ID}") {{
                 items {{ unitPrice {{ amount }} }} }}
               b: orderByNumber(provider: KALIXO, number: "{other}") {{ number }} }}"""
    )
    assert answer.data == {"a": None, "b": {"number": str(other)}}
    [error] = answer.errors
    assert (error["path"], error["extensions"]["code"]) == (["a"], "PROVIDER_ERROR")
    assert error["extensions"]["provider"] == "KALIXO"
    assert error["message"] == (
        f"kalixo: products[].price {price} is not a whole number of minor units"
    )


@pytest.mark.parametrize("price", [3299, 3299.0, "3299"])
async def test_a_whole_price_is_read_however_it_is_written(gateway: Gateway, price: Any) -> None:
    state(gateway).orders[EXAMPLE_ORDER_ID].lines[1].price = price
    found = await gateway.ok(READ, {"n": str(EXAMPLE_ORDER_ID)})
    items = found["orderByNumber"]["items"]
    assert [i["unitPrice"]["amount"] for i in items] == ["10.99", "32.99"]


async def test_every_status_maps_and_keeps_the_providers_value(gateway: Gateway) -> None:
    expected = {
        "requested": "PENDING",
        "processing": "PROCESSING",
        "completed": "COMPLETED",
        "cancelled": "CANCELLED",
        "failed": "FAILED",
        "error": "FAILED",
    }
    wanted = {f"o{n}": (n, status) for status, numbers in SEEDED_IDS.items() for n in numbers}
    fields = " ".join(
        f'{alias}: orderByNumber(provider: KALIXO, number: "{n}") '
        "{ status providerStatus items { codes { code } } }"
        for alias, (n, _) in wanted.items()
    )
    document = f"{{ {fields} }}"
    found = await gateway.ok(document)
    for alias, (_, status) in wanted.items():
        order = found[alias]
        assert (order["providerStatus"], order["status"]) == (status, expected[status])
        has_codes = all(item["codes"] for item in order["items"])
        assert has_codes == (status == "completed"), alias
    assert len(gateway.calls("kalixo", "retrieve-order")) == len(wanted) == 12


async def test_an_unknown_status_is_unknown_with_the_raw_value(gateway: Gateway) -> None:
    order = state(gateway).orders[SEEDED_IDS["completed"][0]]
    order.outcome = "on-hold"
    found = await gateway.ok(READ, {"n": str(order.order_id)})
    assert found["orderByNumber"]["status"] == "UNKNOWN"
    assert found["orderByNumber"]["providerStatus"] == "on-hold"


async def test_orders_move_from_requested_to_completed_with_codes_only_at_the_end(
    gateway: Gateway,
) -> None:
    sandbox = state(gateway)
    now = [time.time()]
    sandbox.clock = lambda: now[0]
    sandbox.processing_after_s, sandbox.completed_after_s = 10.0, 20.0
    placed = await gateway.ok(PLACE, order_input("O-LIFE"))
    order = placed["placeOrder"]["order"]
    # No PIN yet: read once for the status Kalixo gives it.
    assert (order["status"], order["providerStatus"]) == ("PENDING", "requested")
    assert all(item["codes"] == [] for item in order["items"])
    assert len(gateway.calls("kalixo", "retrieve-order")) == 1
    seen = []
    for step in (0, 10, 10):
        now[0] += step
        read = (await gateway.ok(READ, {"n": order["number"]}))["orderByNumber"]
        seen.append((read["status"], sum(len(i["codes"]) for i in read["items"])))
    assert seen == [("PENDING", 0), ("PROCESSING", 0), ("COMPLETED", 2)]


@pytest.mark.parametrize(
    ("product", "raw"), [(FAILING_PRODUCT_ID, "failed"), (ERROR_PRODUCT_ID, "error")]
)
async def test_a_placed_order_without_every_pin_answers_the_status_kalixo_reads(
    gateway: Gateway, product: int, raw: str
) -> None:
    """place-order answers no status: an order not yet holding every unit's PIN is read once,
    and what Kalixo says is the answer (it was PENDING with providerStatus null)."""
    await gateway.ok(READ, {"n": str(EXAMPLE_ORDER_ID)})  # log in first
    gateway.clear_calls()
    placed = await gateway.ok(PLACE, order_input(f"O-PLACED-{raw}", trigger(product)))
    assert placed["placeOrder"]["userErrors"] == []
    order = placed["placeOrder"]["order"]
    assert (order["status"], order["providerStatus"]) == ("FAILED", raw)
    assert order["externalReference"] == f"O-PLACED-{raw}"
    assert order["items"][0]["codes"] == []
    assert paths(gateway) == ["place-order", "retrieve-order"]
    assert [c.query for c in gateway.calls("kalixo", "retrieve-order")] == [{"id": order["number"]}]
    read = (await gateway.ok(READ, {"n": order["number"]}))["orderByNumber"]
    assert read == order


@pytest.mark.parametrize(
    "fault", [{"error_rate": 1.0, "error_status": 503}, {"malformed": True}, {"reset": True}]
)
async def test_a_placed_order_whose_status_read_fails_is_answered_as_placed(
    fault: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """The order exists once place-order answered: a failing status read must not turn the
    mutation into an error the client would answer by placing it again."""
    async with kalixo(retries=0) as gw:
        await gw.ok(READ, {"n": str(EXAMPLE_ORDER_ID)})
        gw.clear_calls()
        faults = gw.faults("kalixo")
        faults.update(fault | {"only_paths": ["retrieve-order"]})
        placed = await gw.query(PLACE, order_input("O-UNREAD", trigger(FAILING_PRODUCT_ID)))
        assert not placed.errors, placed.errors
        assert placed.data["placeOrder"]["userErrors"] == []
        order = placed.data["placeOrder"]["order"]
        assert (order["status"], order["providerStatus"]) == ("PENDING", None)
        assert held(gw, "O-UNREAD") == [order["number"]]
        assert paths(gw) == ["place-order", "retrieve-order"]
        [note] = [r for r in caplog.records if "status could not be read" in r.getMessage()]
        assert note.levelno == logging.WARNING
        # Asked again, the key answers the order placed, read now; nothing is placed again.
        faults.update({"error_rate": 0.0, "malformed": False, "reset": False})
        gw.clear_calls()
        again = await gw.ok(PLACE, order_input("O-UNREAD", trigger(FAILING_PRODUCT_ID)))
        assert again["placeOrder"]["order"]["id"] == order["id"]
        assert again["placeOrder"]["order"]["providerStatus"] == "failed"
        assert paths(gw) == ["retrieve-order"]


def trigger(product: int) -> list[dict[str, Any]]:
    """One unit of a sandbox product whose order ends without PINs."""
    return [{"productId": str(product), "sku": f"GB-EN-0000000000{product}", "unitPrice": "1.00"}]


async def test_an_order_that_does_not_exist_is_not_found(gateway: Gateway) -> None:
    answer = await gateway.query(READ, {"n": "99999"})
    assert answer.codes == ["NOT_FOUND"]
    assert answer.data == {"orderByNumber": None}
    assert len(gateway.calls("kalixo", "retrieve-order")) == 1
    gateway.clear_calls()
    answer = await gateway.query(READ, {"n": "O-12345"})  # not a Kalixo id: no call at all
    assert answer.codes == ["NOT_FOUND"]
    assert gateway.calls("kalixo") == []
    node = await gateway.ok("query($id: ID!) { node(id: $id) { id } }", {"id": order_id("99999")})
    assert node == {"node": None}
    # Longer than any id Kalixo gives: each 5,000-digit read was a 500 from Kalixo, retried,
    # and two such reads opened the breaker for every caller.
    gateway.clear_calls()
    for digits in ("9" * 19, "1" * 5000):
        node = await gateway.ok(
            "query($id: ID!) { node(id: $id) { id } }", {"id": order_id(digits)}
        )
        assert node == {"node": None}
        assert (await gateway.query(READ, {"n": digits})).codes == ["NOT_FOUND"]
    assert gateway.calls("kalixo") == []


async def test_operations_kalixo_lacks_are_unsupported(gateway: Gateway) -> None:
    answer = await gateway.query(
        "mutation($id: ID!) { cancelOrder(input: {orderId: $id}) { userErrors { code } } }",
        {"id": order_id(str(EXAMPLE_ORDER_ID))},
    )
    assert answer.codes == ["UNSUPPORTED_OPERATION"]
    assert answer.errors[0]["extensions"]["provider"] == "KALIXO"
    info = await gateway.ok("{ providers { name configured capabilities } }")
    [mine] = [p for p in info["providers"] if p["name"] == "KALIXO"]
    assert mine["configured"] is True
    assert sorted(mine["capabilities"]) == ["PLACE_ORDER", "READ_ORDER"]


# -- codes are secrets --------------------------------------------------------------------------

CODES = """
query($n: String!) {
  orderByNumber(provider: KALIXO, number: $n) {
    number status total { amount } items { productId codes { code } }
  }
}"""


async def test_codes_need_pins_read_and_only_codes_are_withheld() -> None:
    keys = {"reader": ["orders:read"], "pins": ["orders:read", "pins:read"]}
    async with kalixo(api_keys=keys) as gw:
        withheld = await gw.query(CODES, {"n": str(EXAMPLE_ORDER_ID)}, key="reader")
        assert withheld.status == 200
        assert withheld.codes == ["FORBIDDEN", "FORBIDDEN"]
        assert sorted(tuple(e["path"]) for e in withheld.errors) == [
            ("orderByNumber", "items", 0, "codes"),
            ("orderByNumber", "items", 1, "codes"),
        ]
        assert {e["extensions"].get("scope") for e in withheld.errors} == {"pins:read"}
        assert withheld.data == {
            "orderByNumber": {
                "number": str(EXAMPLE_ORDER_ID),
                "status": "COMPLETED",
                "total": {"amount": "76.97"},
                "items": [{"productId": "1", "codes": None}, {"productId": "2", "codes": None}],
            }
        }
        assert EXAMPLE_PIN not in json.dumps(withheld.body)
        assert header(withheld, "Cache-Control") != "no-store"

        shown = await gw.query(CODES, {"n": str(EXAMPLE_ORDER_ID)}, key="pins")
        assert not shown.errors
        codes = [c["code"] for i in shown.data["orderByNumber"]["items"] for c in i["codes"]]
        assert codes == [EXAMPLE_PIN] * 3
        assert header(shown, "Cache-Control") == "no-store"


async def test_no_store_only_when_a_code_is_in_the_answer(gateway: Gateway) -> None:
    example = str(EXAMPLE_ORDER_ID)
    without = await gateway.query(READ.replace("codes { code }", ""), {"n": example})
    assert not without.errors
    assert header(without, "Cache-Control") != "no-store"
    requested = str(SEEDED_IDS["requested"][0])
    empty = await gateway.query(CODES, {"n": requested})
    assert not empty.errors
    assert all(i["codes"] == [] for i in empty.data["orderByNumber"]["items"])
    assert header(empty, "Cache-Control") != "no-store"
    served = await gateway.query(CODES, {"n": example})
    assert header(served, "Cache-Control") == "no-store"


async def test_no_code_reaches_a_log_line_an_error_or_raw(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    placed = await gateway.ok(PLACE, order_input("O-CANARY"))
    number = placed["placeOrder"]["order"]["number"]
    canaries = [c["code"] for i in placed["placeOrder"]["order"]["items"] for c in i["codes"]]
    canaries.append(EXAMPLE_PIN)
    assert len(canaries) == 3
    assert all(len(c) == 29 for c in canaries)
    answers = [
        await gateway.query(
            """query($n: String!, $e: String!) {
              a: orderByNumber(provider: KALIXO, number: $n) {
                raw items { raw codes { code } }
              }
              b: orderByNumber(provider: KALIXO, number: $e) { raw items { raw } }
            }""",
            {"n": number, "e": str(EXAMPLE_ORDER_ID)},
        ),
        # error paths: a duplicate, a conflicting reuse, a malformed answer
        await gateway.query(PLACE, order_input("O-CANARY")),
        await gateway.query(
            PLACE, order_input("O-CANARY", [{"productId": "1", "sku": "X", "unitPrice": "10.99"}])
        ),
    ]
    gateway.faults("kalixo").malformed = True
    answers.append(await gateway.query(CODES, {"n": number}))
    gateway.faults("kalixo").malformed = False
    read = answers[0].data
    raws = [
        read["a"]["raw"],
        read["b"]["raw"],
        *(i["raw"] for o in read.values() for i in o["items"]),
    ]
    assert raws[0]["products"][0] == {"price": 3299, "productId": 2, "quantity": 1}
    assert read["a"]["items"][0]["codes"]  # served to this key, yet nowhere else
    assert answers[3].codes == ["PROVIDER_ERROR"]
    texts = [json.dumps(raws), *(json.dumps(a.errors) for a in answers)]
    texts.append(json.dumps(answers[2].data))  # the refused reuse (the duplicate holds codes)
    texts += [r.getMessage() for r in caplog.records]
    texts += [repr(vars(r)) for r in caplog.records]
    assert caplog.records  # the upstream calls were logged
    for canary in canaries:
        for text in texts:
            assert canary not in text
            assert canary.replace("-", "") not in text


# -- auth ---------------------------------------------------------------------------------


async def test_wrong_password_is_a_provider_error_without_the_password() -> None:
    async with kalixo(password="not-the-password") as gw:
        answer = await gw.query(READ, {"n": str(EXAMPLE_ORDER_ID)})
        assert answer.codes == ["PROVIDER_ERROR"]
        [error] = answer.errors
        assert error["extensions"]["httpStatus"] == 401
        assert error["extensions"]["provider"] == "KALIXO"
        assert "Invalid email or password" in error["message"]
        assert "not-the-password" not in json.dumps(answer.body)
        assert answer.data == {"orderByNumber": None}
        assert len(gw.calls("kalixo", "/auth/login")) == 1
        assert gw.calls("kalixo", "/orders/") == []


async def test_a_static_token_skips_login() -> None:
    async with kalixo(token=STATIC_TOKEN, email=None, password=None) as gw:
        await gw.ok(READ, {"n": str(EXAMPLE_ORDER_ID)})
        await gw.ok(PLACE, order_input("O-STATIC"))
        assert gw.calls("kalixo", "/auth/") == []
        assert len(gw.calls("kalixo")) == 2


async def test_a_refused_static_token_is_a_provider_error_tried_once() -> None:
    async with kalixo(token="not-a-kalixo-token", email=None, password=None) as gw:
        answer = await gw.query(READ, {"n": str(EXAMPLE_ORDER_ID)})
        assert answer.codes == ["PROVIDER_ERROR"]
        assert answer.errors[0]["extensions"]["httpStatus"] == 401
        assert "not-a-kalixo-token" not in json.dumps(answer.body)
        assert len(gw.calls("kalixo")) == 1


async def test_one_login_serves_many_reads(gateway: Gateway) -> None:
    numbers = [n for pair in SEEDED_IDS.values() for n in pair]
    await asyncio.gather(*(gateway.ok(READ, {"n": str(n)}) for n in numbers))
    assert len(gateway.calls("kalixo", "/auth/login")) == 1


async def test_an_expired_token_is_refreshed_once(gateway: Gateway) -> None:
    sandbox = state(gateway)
    now = [time.time()]
    sandbox.clock = lambda: now[0]
    await gateway.ok(READ, {"n": str(EXAMPLE_ORDER_ID)})
    now[0] += sandbox.access_ttl_s + 1  # the access token is dead, the refresh token is not
    await gateway.ok(READ, {"n": str(EXAMPLE_ORDER_ID)})
    await gateway.ok(READ, {"n": str(EXAMPLE_ORDER_ID)})
    assert len(gateway.calls("kalixo", "/auth/login")) == 1
    assert len(gateway.calls("kalixo", "/auth/refresh")) == 1
    assert len(gateway.calls("kalixo", "retrieve-order")) == 4  # one refused, then renewed


async def test_a_short_lived_token_is_refreshed_before_it_is_used(gateway: Gateway) -> None:
    # Shorter-lived than the connector's renewal margin: renewed halfway through its life.
    # Collected now: a full collection of a full run's heap (up to a second, tests/conftest.py)
    # falling between the first two reads outlasted the half-life, and they refreshed. Long
    # enough too that those reads fit in its first half on a loaded machine.
    gc.collect()
    state(gateway).access_ttl_s = 4.0
    await gateway.ok(READ, {"n": str(EXAMPLE_ORDER_ID)})
    await gateway.ok(READ, {"n": str(EXAMPLE_ORDER_ID)})
    assert len(gateway.calls("kalixo", "/auth/refresh")) == 0  # still fresh: reused
    await asyncio.sleep(2.1)
    await gateway.ok(READ, {"n": str(EXAMPLE_ORDER_ID)})
    assert len(gateway.calls("kalixo", "/auth/login")) == 1
    assert len(gateway.calls("kalixo", "/auth/refresh")) == 1
    assert len(gateway.calls("kalixo", "retrieve-order")) == 3  # none refused


async def test_a_refused_refresh_falls_back_to_login(gateway: Gateway) -> None:
    sandbox = state(gateway)
    now = [time.time()]
    sandbox.clock = lambda: now[0]
    await gateway.ok(READ, {"n": str(EXAMPLE_ORDER_ID)})
    now[0] += sandbox.refresh_ttl_s + 1  # both tokens dead at the provider
    await gateway.ok(READ, {"n": str(EXAMPLE_ORDER_ID)})
    assert len(gateway.calls("kalixo", "/auth/login")) == 2
    assert len(gateway.calls("kalixo", "/auth/refresh")) == 1


async def test_only_the_refresh_token_in_use_stays_registered_as_a_secret(
    gateway: Gateway,
) -> None:
    """Each refresh answers a new refresh token, and every one stayed registered: months of
    renewals made every log line slower to mask. The one in use is masked; used ones are not."""
    sandbox = state(gateway)
    now = [time.time()]
    sandbox.clock = lambda: now[0]
    await gateway.ok(READ, {"n": str(EXAMPLE_ORDER_ID)})
    for _ in range(3):
        now[0] += sandbox.access_ttl_s + 1
        await gateway.ok(READ, {"n": str(EXAMPLE_ORDER_ID)})
    assert len(gateway.calls("kalixo", "/auth/refresh")) == 3
    issued = [token for token, grant in sandbox.grants.items() if grant.kind == REFRESH]
    assert [SECRETS.redact(t) == MASK for t in issued] == [False, False, False, True]


# -- provider failures ---------------------------------------------------------------------


async def test_a_malformed_answer_is_a_provider_error(gateway: Gateway) -> None:
    await gateway.ok(READ, {"n": str(EXAMPLE_ORDER_ID)})
    gateway.faults("kalixo").malformed = True
    answer = await gateway.query(READ, {"n": str(EXAMPLE_ORDER_ID)})
    assert answer.codes == ["PROVIDER_ERROR"]
    assert answer.errors[0]["extensions"]["retryable"] is True
    assert answer.data == {"orderByNumber": None}


async def test_a_wrong_shape_answer_is_a_provider_error(gateway: Gateway) -> None:
    await gateway.ok(READ, {"n": str(EXAMPLE_ORDER_ID)})
    gateway.faults("kalixo").wrong_shape = True
    answer = await gateway.query(READ, {"n": str(EXAMPLE_ORDER_ID)})
    assert answer.codes == ["PROVIDER_ERROR"]


async def test_a_provider_5xx_is_a_retryable_provider_error(gateway: Gateway) -> None:
    faults = gateway.faults("kalixo")
    faults.error_rate, faults.error_status, faults.only_paths = 1.0, 503, ["/v1/orders/"]
    read = await gateway.query(READ, {"n": str(EXAMPLE_ORDER_ID)})
    assert read.codes == ["PROVIDER_ERROR"]
    extensions = read.errors[0]["extensions"]
    assert (extensions["httpStatus"], extensions["retryable"]) == (503, True)
    assert extensions["provider"] == "KALIXO"
    assert read.data == {"orderByNumber": None}


async def test_a_create_answered_5xx_twice_is_an_unknown_outcome_sent_once_more() -> None:
    async with kalixo(retries=0) as gw:  # retries: the shared client's own GET retries, off
        faults = gw.faults("kalixo")
        faults.error_rate, faults.error_status, faults.only_paths = 1.0, 500, ["/v1/orders/"]
        placed = await gw.ok(PLACE, order_input("O-500"))
        # A 5xx create may have landed: sent once more under the same code (which Kalixo never
        # places twice), and answered 5xx again: unknown, and the same key sends it again.
        [error] = placed["placeOrder"]["userErrors"]
        assert error["code"] == "OUTCOME_UNKNOWN"
        assert "so was the answer to sending it once more" in error["message"]
        assert error["message"].endswith(
            "Ask again with the same idempotencyKey (or externalReference): it is sent again "
            "under the same externalOrderCode, which Kalixo never places twice)"
        )
        read = await gw.query(READ, {"n": str(EXAMPLE_ORDER_ID)})
        assert read.codes == ["PROVIDER_ERROR"]
        assert len(gw.calls("kalixo", "place-order")) == 2
        assert len(gw.calls("kalixo", "retrieve-order")) == 1  # the read; no lookup


async def test_a_create_whose_connection_dropped_is_sent_once_more_then_unknown() -> None:
    async with kalixo() as gw:
        await gw.ok(READ, {"n": "59400"})
        gw.clear_calls()
        faults = gw.faults("kalixo")
        faults.reset, faults.only_paths = True, ["place-order"]
        answer = await gw.ok(PLACE, order_input("O-RESET"))
        [error] = answer["placeOrder"]["userErrors"]
        assert error["code"] == "OUTCOME_UNKNOWN"
        assert "outcome is unknown" in error["message"]
        # The connector's one more send under the same code; nothing more.
        assert paths(gw) == ["place-order", "place-order"]
        assert held(gw, "O-RESET") == []
        # The same reference under a new idempotencyKey is sent: Kalixo's unique code is what
        # keeps it from being bought twice, and nothing landed, so it is placed now.
        faults.reset = False
        placed = await gw.ok(PLACE, order_input("O-RESET", idempotencyKey="O-RESET-2"))
        order = placed["placeOrder"]["order"]
        assert placed["placeOrder"]["userErrors"] == []
        assert held(gw, "O-RESET") == [order["number"]]


async def test_a_create_answered_503_is_sent_once_more_and_placed_once() -> None:
    """A 503 on place-order may have placed the order: the same body is sent once more under its
    externalOrderCode (which Kalixo never places twice). Placed: that is the answer, where it
    was OUTCOME_UNKNOWN, telling the caller to read orders that neither Kalixo nor the gateway
    can look up, for as long as the key was kept."""
    async with kalixo() as gw:
        await gw.ok(READ, {"n": "59400"})  # log in before the fault
        gw.clear_calls()
        gw.faults("kalixo").update(
            {"fail_next": 1, "error_status": 503, "only_paths": ["place-order"]}
        )
        placed = await gw.ok(PLACE, order_input("O-503", idempotencyKey="key-503"))
        order = placed["placeOrder"]["order"]
        assert placed["placeOrder"]["userErrors"] == []
        assert (order["externalReference"], order["status"]) == ("O-503", "COMPLETED")
        first, second = bodies(gw, "place-order")
        assert first == second
        assert held(gw, "O-503") == [order["number"]]
        # The key's record holds the order: asked again, it is answered and nothing is sent.
        again = await gw.ok(PLACE, order_input("O-503", idempotencyKey="key-503"))
        assert again["placeOrder"]["order"]["id"] == order["id"]
        assert len(gw.calls("kalixo", "place-order")) == 2


async def test_one_failing_order_leaves_the_others_in_the_answer(gateway: Gateway) -> None:
    answer = await gateway.query(
        f'{{ a: orderByNumber(provider: KALIXO, number: "{EXAMPLE_ORDER_ID}") {{ number }}'
        ' b: orderByNumber(provider: KALIXO, number: "99999") { number } }'
    )
    assert answer.data == {"a": {"number": str(EXAMPLE_ORDER_ID)}, "b": None}
    assert answer.codes == ["NOT_FOUND"]


async def test_a_place_answer_whose_order_id_is_no_id_is_an_unknown_outcome(
    gateway: Gateway,
) -> None:
    """`{"orderId": {"a": 1}}` was taken as order "{'a': 1}", and its key recorded as placed."""
    gateway.faults("kalixo").update({"body": {"orderId": {"a": 1}}, "only_paths": ["place-order"]})
    answer = await gateway.ok(PLACE, order_input("O-NO-ID"))
    assert answer["placeOrder"]["order"] is None
    assert [e["code"] for e in answer["placeOrder"]["userErrors"]] == ["OUTCOME_UNKNOWN"]
    assert (
        "place-order answered a body without orderId"
        in (answer["placeOrder"]["userErrors"][0]["message"])
    )


@pytest.mark.parametrize("quantity", [2.5, "2.5"])
async def test_a_quantity_that_is_no_whole_number_is_the_providers_bad_answer(
    gateway: Gateway, quantity: Any
) -> None:
    """A quantity of 2.5 used to be read as no quantity, and served as the default 1."""
    state(gateway).orders[EXAMPLE_ORDER_ID].lines[1].quantity = quantity
    answer = await gateway.query(
        f'{{ orderByNumber(provider: KALIXO, number: "{EXAMPLE_ORDER_ID}") '
        "{ items { quantity } } }"
    )
    assert answer.data == {"orderByNumber": None}
    [error] = answer.errors
    assert error["extensions"]["code"] == "PROVIDER_ERROR"
    assert error["message"] == (
        "kalixo: products[].quantity 2.5 is not a count from 1 to 2,147,483,647"
    )
