"""One operation's reads are shared (providers.http.Reads): a GET asked twice goes upstream
once, whichever resolver or connector asks, and a write forgets what was read before it."""

from __future__ import annotations

import asyncio
import gc

import pytest

from graph import ids
from providers.errors import ServerError
from providers.http import UpstreamResponse, sharing_reads
from providers.model import ProviderName
from providers.sandbox import frontpayment_data as fp_data
from tests.harness import Gateway

FP = "frontpayment"
FP_ORDER = ids.encode("Order", ProviderName.FRONTPAYMENT, fp_data.EXAMPLE_UUID)
FP_ITEM = ids.encode("OrderItem", ProviderName.FRONTPAYMENT, f"{fp_data.EXAMPLE_UUID}/R_1")
DETAILS = f"/orders/details/{fp_data.EXAMPLE_UUID}"


async def test_an_order_and_its_item_asked_at_once_are_one_read(gateway: Gateway) -> None:
    # Two loaders (orders, items), each batched on its own: the item is read through its order
    # (Front Payment has no item endpoint), while the order's own read is still on its way.
    found = await gateway.ok(
        """query($ids: [ID!]!) { nodes(ids: $ids) {
            ... on Order { number } ... on OrderItem { productId order { number } } } }""",
        {"ids": [FP_ORDER, FP_ITEM]},
    )
    assert found["nodes"] == [
        {"number": fp_data.EXAMPLE_UUID},
        {"productId": "R_1", "order": {"number": fp_data.EXAMPLE_UUID}},
    ]
    assert len(gateway.calls(FP, DETAILS, "GET")) == 1


async def test_two_aliases_of_one_list_are_one_page(gateway: Gateway) -> None:
    found = await gateway.ok(
        "{ a: orders(first: 5) { nodes { number } } b: orders(first: 5) { nodes { number } } }"
    )
    assert found["a"] == found["b"]
    assert len(found["a"]["nodes"]) == 5
    assert len(gateway.calls("akinon", "/orders/", "GET")) == 1


async def test_plans_and_their_orders_read_the_orders_once(gateway: Gateway) -> None:
    # The connector reads the plans' orders for their currency, in the plans' order; the
    # plans' `order` fields ask the same orders through the request's loader, in another order.
    found = await gateway.ok(
        "{ cancellationPlans(first: 10) { nodes { refund { currency } order { number } } } }"
    )
    nodes = found["cancellationPlans"]["nodes"]
    assert len(nodes) == 10
    assert all(n["order"]["number"] for n in nodes)
    assert len(gateway.calls("akinon", "/orders/", "GET")) == 1


async def test_each_operation_reads_for_itself(gateway: Gateway) -> None:
    document = "query($id: ID!) { order(id: $id) { number } }"
    await gateway.ok(document, {"id": FP_ORDER})
    await gateway.ok(document, {"id": FP_ORDER})
    assert len(gateway.calls(FP, DETAILS, "GET")) == 2


async def test_a_write_forgets_the_reads_before_it(gateway: Gateway) -> None:
    # Each refund reads the order, writes, and re-reads it: the second refund's read is the
    # first one's re-read (nothing was written between them), and its re-read, the same GET,
    # must see the second refund, not the answer read before it.
    order = ids.encode("Order", ProviderName.FRONTPAYMENT, fp_data.PAID_UUID)
    found = await gateway.ok(
        """mutation($id: ID!) {
            a: refundOrder(input: {orderId: $id, amount: "1"}) {
                order { refunded { amount } } userErrors { message } }
            b: refundOrder(input: {orderId: $id, amount: "1"}) {
                order { refunded { amount } } userErrors { message } } }""",
        {"id": order},
    )
    before = found["a"]["order"]["refunded"]["amount"]
    assert found["a"]["userErrors"] == found["b"]["userErrors"] == []
    assert float(found["b"]["order"]["refunded"]["amount"]) == float(before) + 1
    calls = [c.method for c in gateway.calls(FP, fp_data.PAID_UUID)]
    assert calls == ["GET", "POST", "GET", "POST", "GET"]


async def test_an_operation_over_keeps_none_of_its_answers(gateway: Gateway) -> None:
    """A context outlives its operation wherever a callback was scheduled in it (a pooled
    connection's timer): the answers its reads kept, whole bodies, were pinned with it (peak
    RSS 97 -> 259 MB at c = 64 in the benchmark)."""
    for _ in range(3):
        await gateway.ok("{ orders(first: 20) { nodes { number items { sku } } } }")
    gc.collect()
    kept = [o for o in gc.get_objects() if isinstance(o, UpstreamResponse)]
    assert kept == []


async def test_a_waiter_sends_anew_when_the_read_it_waited_for_was_cancelled() -> None:
    # The sender's client went away (its task cancelled); a waiter that was not cancelled
    # must not inherit that cancellation, and a failure is never kept for the next asker.
    sent = []
    key = ("frontpayment", "http://x/orders/details/1", ())

    async def send() -> UpstreamResponse:
        sent.append(1)
        await asyncio.sleep(0.05)
        return UpstreamResponse(200, {}, b"{}", None, "frontpayment")

    async def refused() -> UpstreamResponse:
        raise ServerError("frontpayment", "down")

    with sharing_reads() as reads:
        first = asyncio.ensure_future(reads.shared(key, send))
        await asyncio.sleep(0)
        waiter = asyncio.ensure_future(reads.shared(key, send))
        await asyncio.sleep(0)
        first.cancel()
        answer = await waiter
        assert (answer.status, len(sent)) == (200, 2)
        assert await reads.shared(key, send) is answer  # kept once answered
        answer.refused()  # a refusal under a 2xx is not kept
        other = ("frontpayment", "http://x/orders/details/2", ())
        with pytest.raises(ServerError):
            await reads.shared(other, refused)
        assert (await reads.shared(other, send)).status == 200
        assert await reads.shared(key, send) is not answer
        assert len(sent) == 4
    assert await reads.shared(key, send) is not answer  # over: nothing is kept
    assert len(sent) == 5
