"""Slow and failing providers: the fault matrix, Retry-After, the circuit breaker.

One query reads one order from every provider (aliases). For each provider whose connector is
built, each fault is injected into that provider alone: the answer must come within its
deadline plus a margin, with a typed error beside its part and every other provider's data
intact.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from graph import ids
from providers.errors import NotSent
from providers.http import HttpClient, UpstreamSettings
from providers.model import ProviderName
from providers.registry import connector_built
from providers.sandbox import frontpayment_data, lipalater_data
from providers.sandbox.faults import Faults
from providers.sandbox.frontpayment import STATE as FRONTPAYMENT_STATE
from tests.conftest import gateway_with
from tests.harness import Answer

PURCHASE_ITEM = "e87a57de-4fe3-447e-bfdf-89b9a1a6cd4f"

# alias -> (provider, the field that reads its order, what a good answer holds)
READS: dict[str, tuple[ProviderName, str, Callable[[Any], bool]]] = {
    "akinon": (
        ProviderName.AKINON,
        'orderByNumber(provider: AKINON, number: "45243493") { number }',
        lambda v: v == {"number": "45243493"},
    ),
    "frontpayment": (
        ProviderName.FRONTPAYMENT,
        'orderByNumber(provider: FRONTPAYMENT, number: "ODR986760186") { number }',
        lambda v: v == {"number": "ODR986760186"},
    ),
    "kalixo": (
        ProviderName.KALIXO,
        'orderByNumber(provider: KALIXO, number: "59400") { number }',
        lambda v: v == {"number": "59400"},
    ),
    "lipalater": (
        ProviderName.LIPALATER,
        'orderByNumber(provider: LIPALATER, number: "8800000001", customerId: "100001") { number }',
        lambda v: v == {"number": "8800000001"},
    ),
    "lipalater_purchases": (
        ProviderName.LIPALATER_PURCHASES,
        f'node(id: "{ids.encode("OrderItem", ProviderName.LIPALATER_PURCHASES, PURCHASE_ITEM)}")'
        " { id }",
        lambda v: isinstance(v, dict) and bool(v.get("id")),
    ),
}
EVERY_READ = "{ " + " ".join(f"{alias}: {field}" for alias, (_, field, _) in READS.items()) + " }"
BUILT = [alias for alias, (name, _, _) in READS.items() if connector_built(name)]

TIMEOUT_S = 0.4  # the faulted provider's deadline
MARGIN_S = 1.0  # generous: two cores shared by several engineers


@dataclass(frozen=True)
class Fault:
    name: str
    knobs: dict[str, Any]
    code: str
    http_status: int | None = None
    extensions: dict[str, Any] = dataclasses.field(default_factory=dict)


FAULTS = [
    Fault("timeout", {"hang": True}, "PROVIDER_TIMEOUT"),
    Fault("500", {"error_rate": 1.0, "error_status": 500}, "PROVIDER_ERROR", 500),
    Fault("503", {"error_rate": 1.0, "error_status": 503}, "PROVIDER_ERROR", 503),
    Fault(
        "429",
        {"error_rate": 1.0, "error_status": 429, "retry_after": 30},
        "RATE_LIMITED",
        429,
        {"retryAfter": 30},
    ),
    Fault("malformed JSON", {"malformed": True}, "PROVIDER_ERROR"),
    Fault("wrong shape", {"wrong_shape": True}, "PROVIDER_ERROR"),
    Fault("connection reset", {"reset": True}, "PROVIDER_UNAVAILABLE"),
    Fault("slow drip", {"drip_s": 0.05}, "PROVIDER_TIMEOUT"),
]


def others_intact(answer: Answer, faulted: str) -> list[str]:
    """The aliases, other than ``faulted``, whose data is missing or wrong."""
    data = answer.data or {}
    return [alias for alias in BUILT if alias != faulted and not READS[alias][2](data.get(alias))]


@pytest.mark.parametrize("alias", BUILT)
async def test_fault_matrix(alias: str) -> None:
    name = READS[alias][0].value
    # The breaker would open mid-matrix and turn later faults into fast failures; it has its
    # own test below.
    settings = {name: {"timeout_s": TIMEOUT_S, "circuit_failures": 10_000}}
    async with gateway_with(settings) as gw:
        # Logs in, so faults hit the reads. The first calls also open connections; on a busy
        # machine they can outlast the faulted provider's short deadline, hence a few tries.
        for _ in range(5):
            warm = await gw.query(EVERY_READ)
            if not others_intact(warm, ""):
                break
        assert not others_intact(warm, ""), warm.body
        assert READS[alias][2](warm.data[alias]), warm.body
        problems = []
        for fault in FAULTS:
            gw.faults(name).update(fault.knobs)
            started_at = time.perf_counter()
            answer = await gw.query(EVERY_READ)
            elapsed = time.perf_counter() - started_at
            gw.faults(name).update(dataclasses.asdict(Faults()))
            errors = [e for e in answer.errors if e.get("path", [None])[0] == alias]
            ext = errors[0].get("extensions", {}) if errors else {}
            want = {"code": fault.code, "provider": name.upper(), "retryable": True}
            if fault.http_status is not None:
                want["httpStatus"] = fault.http_status
            want.update(fault.extensions)
            got = {k: ext.get(k) for k in want}
            if (
                answer.status != 200
                or (answer.data or {}).get(alias) is not None
                or len(errors) != 1
                or got != want
                or others_intact(answer, alias)
                or elapsed > TIMEOUT_S + MARGIN_S
                or len(answer.errors) != 1
            ):
                problems.append(
                    f"{fault.name}: {elapsed:.2f}s got {got} want {want}; "
                    f"broken {others_intact(answer, alias)}; {answer.body}"
                )
        assert not problems, "\n".join(problems)


async def test_retry_after_is_honoured_within_the_deadline() -> None:
    async with gateway_with({"akinon": {"timeout_s": 1.8, "retries": 2}}) as gw:
        document = "{ a: " + READS["akinon"][1] + " }"
        await gw.ok(document)
        gw.clear_calls()
        gw.faults("akinon").update({"error_rate": 1.0, "error_status": 429, "retry_after": 1})
        started_at = time.perf_counter()
        answer = await gw.query(document)
        elapsed = time.perf_counter() - started_at
        # 429, wait 1 s, 429; a second wait of 1 s would leave under 1 s: not made.
        assert answer.codes == ["RATE_LIMITED"]
        assert answer.errors[0]["extensions"]["httpStatus"] == 429
        assert len(gw.calls("akinon", "/orders/", "GET")) == 2
        assert 0.9 < elapsed < 1.8 + MARGIN_S

        gw.clear_calls()
        gw.faults("akinon").update({"error_status": 503, "retry_after": None})
        answer = await gw.query(document)
        # A read is tried 1 + retries times after a 5xx, with jittered backoff.
        assert answer.codes == ["PROVIDER_ERROR"]
        assert len(gw.calls("akinon", "/orders/", "GET")) == 3


@pytest.mark.parametrize(
    ("knobs", "code", "http_status"),
    [
        ({"error_rate": 1.0, "error_status": 500}, "PROVIDER_ERROR", 500),
        ({"reset": True}, "PROVIDER_UNAVAILABLE", None),
    ],
)
async def test_a_retry_the_deadline_cuts_off_reports_what_it_retried(
    knobs: dict[str, Any], code: str, http_status: int | None
) -> None:
    # No backoff, so the timing is fixed: a failure at 0.45 s, another at 0.9 s, and a third
    # attempt that the 1.2 s deadline cuts off (0.25 s to spare for a slow machine's overhead:
    # a second failure after 1.15 s would leave no time for a third). The caller hears of the
    # provider's 500 (or of its broken connections), not of a timeout.
    settings = {"akinon": {"timeout_s": 1.2, "retries": 2, "backoff_s": 0.0}}
    async with gateway_with(settings) as gw:
        document = "{ a: " + READS["akinon"][1] + " }"
        await gw.ok(document)
        gw.clear_calls()
        gw.faults("akinon").update({"latency_s": 0.45, **knobs})
        started_at = time.perf_counter()
        answer = await gw.query(document)
        elapsed = time.perf_counter() - started_at
        assert answer.codes == [code]
        assert answer.errors[0]["extensions"].get("httpStatus") == http_status
        assert len(gw.calls("akinon", "/orders/", "GET")) == 3
        assert 1.2 <= elapsed < 1.2 + MARGIN_S


HEALTH = "{ providers { name health { status circuit } } }"


def health_of(data: Any, provider: str) -> dict[str, Any]:
    return next(p["health"] for p in data["providers"] if p["name"] == provider)


async def test_a_querys_calls_end_by_its_deadline_however_many_follow_one_another() -> None:
    """Each call had its provider's timeout_s and no more: a chain of reads, each answered in
    time, took their sum (five 0.9 s calls under timeout_s = 1: 5.4 s)."""
    chain = "{ cancellationPlans(first: 2) { nodes { id items { order { items { sku } } } } } }"
    async with gateway_with(
        {"akinon": {"timeout_s": 1}}, names=("akinon",), server={"query_timeout_s": 2}
    ) as gw:
        await gw.ok("{ customerAddresses(first: 1) { totalCount } }")  # logged in already
        gw.faults("akinon").latency_s = 0.6  # each call in time; plans, orders, items, items
        started = time.perf_counter()
        answer = await gw.query(chain)
        took = time.perf_counter() - started
    assert 2.0 <= took < 2.6
    assert answer.codes == ["PROVIDER_TIMEOUT"] * len(answer.errors)
    assert answer.errors[0]["message"] == (
        "akinon: akinon did not answer within the query's 2 s (query_timeout_s)"
    )
    assert answer.errors[0]["path"][-1] == "items"  # the deepest read: the rest is answered
    plans = answer.data["cancellationPlans"]["nodes"]
    assert [p["id"] is not None for p in plans] == [True, True]
    assert all(p["items"][0]["order"]["items"] is None for p in plans)


TOKEN_PATHS = {
    "lipalater": "/platform/token/",
    "kalixo": "/auth/login",
    "akinon": "/auth/login/",
    "lipalater_purchases": "/oauth/token",
}


@pytest.mark.parametrize("name", list(TOKEN_PATHS))
async def test_a_query_waits_for_a_token_until_its_deadline(name: str) -> None:
    """A query waited for its provider's token fetch without a bound of its own: with the
    token endpoint hanging, a query under query_timeout_s = 1 answered after timeout_s = 4."""
    async with gateway_with(
        {name: {"timeout_s": 4}}, names=(name,), server={"query_timeout_s": 1}
    ) as gw:
        gw.faults(name).update({"hang": True, "only_paths": [TOKEN_PATHS[name]]})
        started = time.perf_counter()
        answer = await gw.query("{ a: " + READS[name][1] + " }")
        took = time.perf_counter() - started
    assert 1.0 <= took < 1.6
    assert answer.codes == ["PROVIDER_TIMEOUT"]
    assert answer.errors[0]["extensions"]["retryable"] is True
    assert answer.errors[0]["message"] == (
        f"{name}: could not obtain an access token within the query's 1 s (query_timeout_s); "
        "nothing was sent"
    )


async def test_a_call_still_under_way_when_the_gateway_stops_makes_no_new_session() -> None:
    """The shared client made a new session for a call after it was closed (the token fetch
    above, hanging as the gateway stopped): a session no one would ever close."""
    client = HttpClient()
    upstream = client.upstream(UpstreamSettings("akinon", "http://127.0.0.1:9"))
    await client.close()
    with pytest.raises(NotSent, match="the gateway is shutting down; nothing was sent"):
        await upstream.request("GET", "/api/i1/orders/")
    assert client._session is None


async def test_circuit_opens_fails_fast_and_a_probe_closes_it() -> None:
    settings = {
        "akinon": {"timeout_s": 2, "retries": 0, "circuit_failures": 3, "circuit_reset_s": 0.5}
    }
    async with gateway_with(settings) as gw:
        document = "{ a: " + READS["akinon"][1] + " }"
        await gw.ok(document)
        assert health_of(await gw.ok(HEALTH), "AKINON") == {"status": "UP", "circuit": "CLOSED"}

        gw.faults("akinon").update({"error_rate": 1.0, "error_status": 500})
        for _ in range(3):
            assert (await gw.query(document)).codes == ["PROVIDER_ERROR"]
        assert health_of(await gw.ok(HEALTH), "AKINON") == {
            "status": "CIRCUIT_OPEN",
            "circuit": "OPEN",
        }

        # Open: fast, and nothing reaches the provider.
        gw.clear_calls()
        gw.faults("akinon").update({"error_rate": 0.0, "latency_s": 1.0})
        started_at = time.perf_counter()
        answer = await gw.query(document)
        assert time.perf_counter() - started_at < 0.3
        assert answer.codes == ["PROVIDER_UNAVAILABLE"]
        assert answer.errors[0]["message"].startswith("akinon: circuit open after ")  # once
        assert gw.calls("akinon") == []

        # After circuit_reset_s one probe goes through; its success closes the circuit.
        gw.faults("akinon").update({"latency_s": 0.0})
        await asyncio.sleep(0.55)
        await gw.ok(document)
        assert len(gw.calls("akinon")) == 1
        assert health_of(await gw.ok(HEALTH), "AKINON") == {"status": "UP", "circuit": "CLOSED"}


async def test_max_concurrency_holds_a_providers_calls_and_answers_every_query() -> None:
    """The bulkhead: with ``max_concurrency = 2``, six queries reading at once reach Akinon
    two at a time, and each is answered once its turn comes (within its deadline)."""
    async with gateway_with({"akinon": {"max_concurrency": 2}}) as gw:
        document = "{ a: " + READS["akinon"][1] + " }"
        await gw.ok(document)
        gw.clear_calls()
        gw.faults("akinon").latency_s = 0.1
        answers = await asyncio.gather(*(gw.query(document) for _ in range(6)))
        assert [(a.data, a.errors) for a in answers] == [({"a": {"number": "45243493"}}, [])] * 6
        assert len(gw.calls("akinon", "/orders/", "GET")) == 6
        assert gw.in_flight("akinon").peak == 2
        control = gw.sandboxes["akinon"].base_url + "/_sandbox/in-flight"
        async with gw.session.get(control) as response:
            assert await response.json() == {"now": 0, "peak": 2}


FAN_OUT = (
    '{ orderByNumber(provider: LIPALATER, number: "8800000001", customerId: "100001") '
    "{ number repaymentSchedule(loanProductId: 1) { currency } creditStatus { status } } }"
)


async def test_the_default_cap_lets_64_queries_fan_out_to_one_provider_at_once() -> None:
    """64 queries at once, each reading an order and then its repayment schedule and credit
    status: the default ``max_concurrency`` (128) sends the 128 second reads together. At 64
    (the default before), half of them waited a whole round trip for the others."""
    async with gateway_with({}) as gw:
        await gw.ok(FAN_OUT)
        gw.clear_calls()
        # Long enough that the second reads overlap, even on a loaded machine.
        gw.faults("lipalater").latency_s = 0.5
        answers = await asyncio.gather(*(gw.query(FAN_OUT) for _ in range(64)))
        assert {a.status for a in answers} == {200}
        assert [a.errors for a in answers] == [[]] * 64
        assert all(a.data["orderByNumber"]["creditStatus"] for a in answers)
        assert len(gw.calls("lipalater")) == 3 * 64
        # At most 128 (the cap), and more than 64 could ever be under the old one: 128 when
        # every second read is sent before the first is answered, a few less on a slow machine.
        assert 64 < gw.in_flight("lipalater").peak <= 128


def test_a_max_concurrency_below_one_is_refused() -> None:
    from providers.settings import ProviderSettings, SettingsError

    with pytest.raises(SettingsError, match="max_concurrency must be at least 1"):
        ProviderSettings.parse("akinon", {"base_url": "http://127.0.0.1:1", "max_concurrency": 0})


PLACE_PURCHASE = """mutation($ref: String!, $key: String) { placeOrder(input: {
    provider: LIPALATER_PURCHASES, idempotencyKey: $key, externalReference: $ref,
    customerId: "8bf616dd-4cdc-4c55-80bc-58678102f3d3",
    items: [{sku: "H0148VPS1T", brand: "b", description: "d", unitPrice: "50000",
             itemType: "other", storeKey: "queens_mobile",
             deliveryOption: "customer_store_pickup", preferredOption: "pick_up"}]}) {
    order { number status } userErrors { code message } } }"""


async def test_a_provider_that_hangs_takes_no_other_providers_connections() -> None:
    """The shared pool used to hold 256 connections: a provider that hung with more calls than
    that in flight (two at the default cap of 128 each, or one here at 300) took them all, and a
    healthy provider's calls waited for a connection, sent nothing, answered PROVIDER_TIMEOUT,
    opened its circuit, and a create answered OUTCOME_UNKNOWN. The providers' caps are the only
    bound now: the healthy ones are answered while 260 calls hang."""
    settings = {
        "akinon": {"timeout_s": 4.0, "max_concurrency": 300},
        "frontpayment": {"timeout_s": 1.0, "circuit_failures": 2},
        "lipalater_purchases": {"timeout_s": 1.0, "circuit_failures": 2},
    }
    async with gateway_with(settings) as gw:
        hang = "{ a: " + READS["akinon"][1] + " }"
        await gw.ok(hang)  # logs in
        gw.faults("akinon").hang = True
        # A client of its own: the harness's session holds at most 100 connections.
        clients = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        hung = [asyncio.ensure_future(gw_post(clients, gw, hang)) for _ in range(260)]
        try:
            # As many in flight as the old pool held (about 1.4 s to get there).
            for _ in range(300):
                if gw.in_flight("akinon").now >= 256:
                    break
                await asyncio.sleep(0.01)
            assert gw.in_flight("akinon").now >= 256

            # Never called before, so no idle connection is there to reuse: each call needs a
            # new one, while Akinon holds 256 or more.
            read = "{ a: " + READS["frontpayment"][1] + " }"
            for _ in range(3):
                assert await gw.ok(read) == {"a": {"number": "ODR986760186"}}
            assert len(gw.calls("frontpayment")) == 3
            placed = await gw.ok(PLACE_PURCHASE, {"ref": "770001", "key": "key-770001"})
            assert placed["placeOrder"] == {
                "order": {"number": "770001", "status": "PENDING"},
                "userErrors": [],
            }
            assert len(gw.calls("lipalater_purchases", "/purchases", "POST")) == 1
            health = await gw.ok(HEALTH)
            assert health_of(health, "FRONTPAYMENT") == {"status": "UP", "circuit": "CLOSED"}
            assert health_of(health, "LIPALATER_PURCHASES") == {"status": "UP", "circuit": "CLOSED"}
            assert gw.in_flight("akinon").now == 260
        finally:
            answers = await asyncio.gather(*hung)
            await clients.close()
        codes = [[e["extensions"]["code"] for e in body["errors"]] for body in answers]
        assert codes == [["PROVIDER_TIMEOUT"]] * 260


async def gw_post(session: aiohttp.ClientSession, gw: Any, document: str) -> Any:
    headers = {"Authorization": f"Bearer {gw.key}"}
    async with session.post(gw.url, json={"query": document}, headers=headers) as response:
        return await response.json()


async def test_a_call_that_waits_for_its_providers_cap_until_its_deadline_sent_nothing() -> None:
    """Every one of a provider's ``max_concurrency`` slots in use until a call's deadline: the
    call never left the gateway's queue. It answers PROVIDER_UNAVAILABLE, saying nothing was
    sent (a create is then a definite failure: its key is free, never OUTCOME_UNKNOWN), and the
    provider's breaker does not count it: the queue is the gateway's, not the provider failing.
    Before, it was a PROVIDER_TIMEOUT and a failure on the provider's breaker, which opened."""
    settings = {
        name: {"max_concurrency": 1, "timeout_s": 0.3, "circuit_failures": 1}
        for name in ("frontpayment", "lipalater_purchases")
    }
    async with gateway_with(settings) as gw:
        read = "{ a: " + READS["frontpayment"][1] + " }"
        await gw.ok(read)
        await gw.ok("{ a: " + READS["lipalater_purchases"][1] + " }")  # the token, cached
        gw.clear_calls()
        providers = gw.app.state.gateway.providers
        front = providers[ProviderName.FRONTPAYMENT].up
        purchases = providers[ProviderName.LIPALATER_PURCHASES].up
        # The one slot each taken, as a call in flight would hold it.
        async with front._cap, purchases._cap:
            answer = await gw.query(read)
            placed = await gw.query(PLACE_PURCHASE, {"ref": "770002", "key": "key-770002"})
        assert answer.data == {"a": None}
        assert [e["extensions"] for e in answer.errors] == [
            {"code": "PROVIDER_UNAVAILABLE", "provider": "FRONTPAYMENT", "retryable": True}
        ]
        assert answer.errors[0]["message"] == (
            "frontpayment: all 1 of frontpayment's request slots (max_concurrency) stayed in use "
            "for 0.3 s; nothing was sent"
        )
        assert (placed.data or {}).get("placeOrder") is None
        assert [e["extensions"]["code"] for e in placed.errors] == ["PROVIDER_UNAVAILABLE"]
        assert "nothing was sent" in placed.errors[0]["message"]
        assert gw.calls("frontpayment") == []
        assert gw.calls("lipalater_purchases") == []
        health = await gw.ok(HEALTH)
        assert health_of(health, "FRONTPAYMENT") == {"status": "UP", "circuit": "CLOSED"}
        assert health_of(health, "LIPALATER_PURCHASES") == {"status": "UP", "circuit": "CLOSED"}

        # The slots free, the same key places the order, once.
        assert await gw.ok(read) == {"a": {"number": "ODR986760186"}}
        placed_now = await gw.ok(PLACE_PURCHASE, {"ref": "770002", "key": "key-770002"})
        assert placed_now["placeOrder"]["order"] == {"number": "770002", "status": "PENDING"}
        assert len(gw.calls("lipalater_purchases", "/purchases", "POST")) == 1


def write_on(gw: Any, provider: str) -> tuple[str, str, str]:
    """A write that the provider's sandbox applies: its document, field and order id (a Front
    Payment refund of a paid order, a Lipa Later acceptContract of a confirmed one)."""
    if provider == "frontpayment":
        orders = gw.sandboxes[provider].app[FRONTPAYMENT_STATE].orders
        uuid = next(
            u
            for u, o in orders.items()
            if o["status"] in frontpayment_data.PAID_STATUSES and o["status"] != "REFUNDED"
        )
        return REFUND, "refundOrder", ids.encode("Order", ProviderName.FRONTPAYMENT, uuid)
    number, member = lipalater_data.SEED_CONFIRMED
    order_id = ids.encode("Order", ProviderName.LIPALATER, f"{member}/{number}")
    return ACCEPT, "acceptContract", order_id


REFUND = """mutation($id: ID!) { refundOrder(input: {orderId: $id, amount: "1.00"}) {
    order { status } userErrors { code message } } }"""
ACCEPT = """mutation($id: ID!) { acceptContract(input: {orderId: $id}) {
    order { status } userErrors { code message } } }"""
MAY_HAVE_APPLIED = "; the request may have been applied"


@pytest.mark.parametrize(
    ("provider", "path", "knobs", "code", "message"),
    [
        (
            "frontpayment",
            "/refund/",
            {"latency_s": 0.7},
            "PROVIDER_TIMEOUT",
            "frontpayment: frontpayment did not answer within 0.5 s",
        ),
        (
            "frontpayment",
            "/refund/",
            {"reset": True},
            "PROVIDER_UNAVAILABLE",
            "frontpayment: frontpayment unreachable: ServerDisconnectedError",
        ),
        # A GET that changes the order (safe=False) is a write here too.
        (
            "lipalater",
            "/acceptContract/",
            {"latency_s": 0.7},
            "PROVIDER_TIMEOUT",
            "lipalater: lipalater did not answer within 0.5 s",
        ),
    ],
)
async def test_a_write_whose_answer_was_lost_is_not_retryable(
    provider: str, path: str, knobs: dict[str, Any], code: str, message: str
) -> None:
    """A write that timed out, or whose connection broke, after it was sent may have been
    applied (the refund below was): answering it ``retryable: true`` told a client to send it
    again, and a refund was made twice. It is ``retryable: false`` now, and says why; a read
    on the same faults stays retryable (test_fault_matrix)."""
    async with gateway_with({provider: {"timeout_s": 0.5}}) as gw:
        document, field, order_id = write_on(gw, provider)
        if provider == "frontpayment":
            orders = gw.sandboxes[provider].app[FRONTPAYMENT_STATE].orders
            uuid = ids.decode(order_id, "Order").key
            refunded = orders[uuid]["paymentHistory"]["refunded"]
        gw.faults(provider).update({"only_paths": [path], **knobs})
        answer = await gw.query(document, {"id": order_id})
        assert (answer.data or {}).get(field) is None
        assert [e["extensions"] for e in answer.errors] == [
            {"code": code, "provider": provider.upper(), "retryable": False}
        ]
        assert answer.errors[0]["message"] == message + MAY_HAVE_APPLIED
        assert len(gw.calls(provider, path)) == 1
        if provider == "frontpayment" and "latency_s" in knobs:
            # The sandbox applies it after the gateway gave up.
            for _ in range(100):
                if orders[uuid]["paymentHistory"]["refunded"] != refunded:
                    break
                await asyncio.sleep(0.02)
            assert orders[uuid]["paymentHistory"]["refunded"] == refunded + 1


@pytest.mark.parametrize(
    ("provider", "path", "knobs", "status", "message"),
    [
        ("frontpayment", "/refund/", {"error_rate": 1.0, "error_status": 503}, 503, None),
        ("frontpayment", "/refund/", {"malformed": True}, 200, "malformed JSON in a 200 answer"),
        ("lipalater", "/acceptContract/", {"error_rate": 1.0, "error_status": 503}, 503, None),
        ("lipalater", "/acceptContract/", {"malformed": True}, 200, None),
    ],
)
async def test_a_write_answered_with_a_failure_is_not_retryable(
    gateway: Any, provider: str, path: str, knobs: dict[str, Any], status: int, message: str | None
) -> None:
    """A write answered with a 5xx, or with a body that cannot be read, may have been applied
    (a 2xx whose body broke on the way almost surely was): ``retryable: true`` told a client to
    send the refund again. Sent once, and answered ``retryable: false``, saying why."""
    document, field, order_id = write_on(gateway, provider)
    gateway.faults(provider).update({"only_paths": [path], **knobs})
    answer = await gateway.query(document, {"id": order_id})
    assert (answer.data or {}).get(field) is None
    [error] = answer.errors
    assert (error["extensions"]["code"], error["extensions"]["httpStatus"]) == (
        "PROVIDER_ERROR",
        status,
    )
    assert error["extensions"]["retryable"] is False
    assert error["message"].endswith(MAY_HAVE_APPLIED)
    if message is not None:
        assert error["message"] == f"{provider}: {message}{MAY_HAVE_APPLIED}"
    assert len(gateway.calls(provider, path)) == 1


async def test_a_mutation_failing_before_its_write_stays_retryable(gateway: Any) -> None:
    """A refund reads its order first: a 503 there sent nothing that changes anything, so the
    mutation may be sent again (the read itself was retried by the shared client)."""
    document, field, order_id = write_on(gateway, "frontpayment")
    gateway.faults("frontpayment").update(
        {"only_paths": ["/orders/details/"], "error_rate": 1.0, "error_status": 503}
    )
    answer = await gateway.query(document, {"id": order_id})
    [error] = answer.errors
    assert (error["extensions"]["httpStatus"], error["extensions"]["retryable"]) == (503, True)
    assert not error["message"].endswith(MAY_HAVE_APPLIED)
    assert gateway.calls("frontpayment", "/refund/") == []


@pytest.mark.parametrize(
    ("provider", "path"), [("frontpayment", "/refund/"), ("lipalater", "/acceptContract/")]
)
async def test_a_redirect_is_a_provider_error_never_a_success(
    gateway: Any, provider: str, path: str
) -> None:
    """The shared client follows no redirect, and a 302 read as a success: a Front Payment
    refund answered 302 said ``userErrors: []`` while nothing was refunded. A redirect applied
    nothing, and would be answered again: not retryable, and not "may have been applied"."""
    document, field, order_id = write_on(gateway, provider)
    gateway.faults(provider).update({"error_rate": 1.0, "error_status": 302, "only_paths": [path]})
    answer = await gateway.query(document, {"id": order_id})
    [error] = answer.errors
    assert error["extensions"]["code"] == "PROVIDER_ERROR"
    assert (error["extensions"]["httpStatus"], error["extensions"]["retryable"]) == (302, False)
    assert "a redirect, which the gateway does not follow" in error["message"]
    assert not error["message"].endswith(MAY_HAVE_APPLIED)
    assert (answer.data or {}).get(field) is None
    assert len(gateway.calls(provider, path)) == 1


async def test_a_write_refused_invalid_token_is_no_write_and_errors_are_not_shared() -> None:
    """Lipa Later refuses a stale token under a 200, and the connector sends the write again
    with a new token: that refusal counted as a write that may have been applied, so when the
    token endpoint then failed, acceptContract said "nothing was sent; the request may have
    been applied", not retryable. The suffix was added to the token fetch's own error, which a
    read waiting on the same fetch showed too."""
    from providers.sandbox.lipalater import STATE as LL_STATE

    async with gateway_with(names=("lipalater",)) as gw:
        document, _, order_id = write_on(gw, "lipalater")
        read = "query($id: ID!) { order(id: $id) { status } }"
        await gw.ok(read, {"id": order_id})  # a token, cached
        gw.sandboxes["lipalater"].app[LL_STATE].tokens.clear()  # now stale
        gw.faults("lipalater").update(
            {"only_paths": ["/platform/token/"], "error_rate": 1.0, "error_status": 503}
        )
        write = await gw.query(document, {"id": order_id})
        again = await gw.query(read, {"id": order_id})
        for answer in (write, again):
            [error] = answer.errors
            assert error["extensions"]["code"] == "PROVIDER_UNAVAILABLE"
            assert error["extensions"]["retryable"] is True
            assert error["message"].endswith("; nothing was sent")
        assert len(gw.calls("lipalater", "/acceptContract/")) == 1  # refused: invalid token


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (400, "PROVIDER_ERROR", False),
        (301, "PROVIDER_ERROR", False),
    ],
)
async def test_a_token_endpoint_refusing_or_redirecting_is_the_gateways_fault(
    status: int, code: str, retryable: bool
) -> None:
    """A login's 400 (OAuth's invalid_client) read as BAD_USER_INPUT, blaming the caller for
    the gateway's credentials; its redirect as a retryable PROVIDER_UNAVAILABLE, though the next
    login is redirected the same way."""
    async with gateway_with(names=("kalixo",)) as gw:
        gw.faults("kalixo").update(
            {"only_paths": ["/login"], "error_rate": 1.0, "error_status": status}
        )
        answer = await gw.query('{ orderByNumber(provider: KALIXO, number: "59400") { id } }')
        [error] = answer.errors
        assert (error["extensions"]["code"], error["extensions"]["retryable"]) == (code, retryable)
        assert error["extensions"]["httpStatus"] == status
        assert gw.calls("kalixo", "/orders/") == []


LIPALATER_PURCHASE = ids.encode(
    "OrderItem", ProviderName.LIPALATER_PURCHASES, "e87a57de-4fe3-447e-bfdf-89b9a1a6cd4f"
)


@pytest.mark.parametrize(
    ("name", "token_path", "body", "document", "variables"),
    [
        (
            "lipalater",
            "/platform/token/",
            {"code": 0, "msg": "ok", "success": True, "data": {"accessToken": {"x": 1}}},
            """query($n: String!, $c: String) {
                orderByNumber(provider: LIPALATER, number: $n, customerId: $c) { number } }""",
            {"n": lipalater_data.SEED_CONFIRMED[0], "c": lipalater_data.SEED_CONFIRMED[1]},
        ),
        (
            "lipalater_purchases",
            "/oauth/token",
            {"access_token": ["a"], "token_type": "Bearer", "expires_in": 7198},
            "query($id: ID!) { node(id: $id) { id } }",
            {"id": LIPALATER_PURCHASE},
        ),
    ],
)
async def test_a_token_that_is_no_string_is_no_token(
    name: str, token_path: str, body: Any, document: str, variables: dict[str, Any]
) -> None:
    """A token answered as a list or an object was cached and sent ("Bearer ['a']"): the
    provider's 401 then read as the gateway's credentials failing (PROVIDER_ERROR, not
    retryable), where a token endpoint answering nonsense is PROVIDER_UNAVAILABLE."""
    async with gateway_with(names=(name,)) as gw:
        gw.faults(name).update({"body": body, "only_paths": [token_path]})
        answer = await gw.query(document, variables)
        assert answer.codes == ["PROVIDER_UNAVAILABLE"]
        assert (
            "could not obtain an access token (token answer without"
            in (answer.errors[0]["message"])
        )
        assert [c.path for c in gw.calls(name)] == [c.path for c in gw.calls(name, token_path)]
