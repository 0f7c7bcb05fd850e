"""placeOrder never creates two upstream orders for one idempotency key (or reference).

Kalixo is the provider here: it places orders, refuses a second order under one
externalOrderCode (so a create sent again cannot buy twice, and a key whose outcome is unknown
sends it again) but cannot be asked for an order by it, and its sandbox keeps every order it
placed, so the tests count orders where they land.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from graph.embedded import start_sandboxes
from providers import errors as pe
from providers.idempotency import Claim, IdempotencyStore, State
from providers.model import NewOrder, NewOrderItem, ProviderName
from providers.place_once import Scope
from providers.registry import connector_built
from tests.conftest import gateway_with, started
from tests.harness import Gateway

pytestmark = pytest.mark.skipif(
    not connector_built(ProviderName.KALIXO), reason="the Kalixo connector is not built yet"
)

PLACE = """
mutation($in: PlaceOrderInput!) {
  placeOrder(input: $in) {
    order { id number externalReference }
    userErrors { field message code }
  }
}"""
READ = '{ orderByNumber(provider: KALIXO, number: "59400") { number } }'
ITEMS = [
    {"productId": "2", "sku": "GB-EN-4251604177278", "unitPrice": "32.99", "quantity": 1},
    {"productId": "6", "sku": "GB-EN-4251604133182", "unitPrice": "8.39", "quantity": 1},
]


def new_order(ref: str, key: str | None = None, items: list[Any] | None = None) -> Any:
    fields = {"provider": "KALIXO", "externalReference": ref, "currency": "GBP"}
    return {"in": fields | {"items": items or ITEMS, "idempotencyKey": key}}


def placed_refs(gw: Gateway) -> Counter[str]:
    """Orders per reference, as the Kalixo sandbox holds them."""
    from providers.sandbox.kalixo import STATE

    return Counter(o.external_code for o in gw.sandboxes["kalixo"].app[STATE].orders.values())


def payload(data: Any) -> tuple[Any, list[str]]:
    answer = data["placeOrder"]
    return answer["order"], [e["code"] for e in answer["userErrors"]]


@asynccontextmanager
async def kalixo(**section: Any) -> AsyncIterator[Gateway]:
    async with gateway_with({"kalixo": section}, names=("kalixo",)) as gw:
        await gw.ok(READ)  # log in before any fault
        gw.clear_calls()
        yield gw


async def test_a_retry_after_success_answers_the_first_order_without_a_create() -> None:
    async with kalixo() as gw:
        first, errors = payload(await gw.ok(PLACE, new_order("I-ONE", "key-1")))
        assert errors == []
        again, errors = payload(await gw.ok(PLACE, new_order("I-ONE", "key-1")))
        assert errors == []
        assert again["id"] == first["id"]
        assert len(gw.calls("kalixo", "place-order")) == 1
        assert placed_refs(gw)["I-ONE"] == 1


async def test_the_same_key_with_another_input_is_a_conflict() -> None:
    async with kalixo() as gw:
        await gw.ok(PLACE, new_order("I-TWO", "key-2"))
        other = [{"productId": "1", "sku": "GB-EN-4251604177261", "unitPrice": "10.99"}]
        order, errors = payload(await gw.ok(PLACE, new_order("I-TWO", "key-2", other)))
        assert order is None
        assert errors == ["IDEMPOTENCY_CONFLICT"]
        assert len(gw.calls("kalixo", "place-order")) == 1


async def test_many_concurrent_identical_calls_with_create_timeouts_make_one_order_per_key() -> (
    None
):
    # The breaker left closed: six lost answers would open it, and the keys asked again below
    # would send nothing.
    async with kalixo(timeout_s=0.4, circuit_failures=100) as gw:
        faults = gw.faults("kalixo")
        # Every create lands, but only after the gateway stopped waiting for its answer.
        faults.latency_s, faults.only_paths = 0.6, ["place-order"]
        keys = [f"dup-{n}" for n in range(3)]
        calls = [gw.ok(PLACE, new_order(f"REF-{key}", key)) for key in keys for _ in range(8)]
        started_at = time.perf_counter()
        answers = [payload(a) for a in await asyncio.gather(*calls)]
        # Each key's 8 calls share one create (waiters in this process), bounded in time.
        assert time.perf_counter() - started_at < 8
        for order, errors in answers:
            assert (order is not None and errors == []) or errors == ["OUTCOME_UNKNOWN"]
        # At most the connector's own create + one retry after a lookup, per key; never 8.
        assert len(gw.calls("kalixo", "place-order")) <= 2 * len(keys)

        faults.latency_s = 0.0
        await asyncio.sleep(0.7)  # the delayed creates land
        creates = len(gw.calls("kalixo", "place-order"))
        sent_again = 0
        for key, (first, _) in zip(keys, answers[::8], strict=True):
            order, errors = payload(await gw.ok(PLACE, new_order(f"REF-{key}", key)))
            if first is None:  # unknown: sent again, and refused as the duplicate it is
                assert errors == ["OUTCOME_UNKNOWN"]
                sent_again += 1
            else:
                assert errors == []
                assert order["externalReference"] == f"REF-{key}"
        assert len(gw.calls("kalixo", "place-order")) == creates + sent_again
        refs = placed_refs(gw)
        assert [refs[f"REF-{key}"] for key in keys] == [1, 1, 1]


async def test_an_unknown_outcome_that_landed_is_sent_again_and_never_placed_twice() -> None:
    async with kalixo(timeout_s=0.3) as gw:
        faults = gw.faults("kalixo")
        faults.latency_s, faults.only_paths = 0.5, ["/v1/orders/"]  # create and lookup slow
        order, errors = payload(await gw.ok(PLACE, new_order("I-LIMBO", "key-limbo")))
        assert order is None
        assert errors == ["OUTCOME_UNKNOWN"]
        creates = len(gw.calls("kalixo", "place-order"))

        faults.latency_s = 0.0
        await asyncio.sleep(0.4)
        gw.clear_calls()
        order, errors = payload(await gw.ok(PLACE, new_order("I-LIMBO", "key-limbo")))
        # Kalixo cannot be asked for an order by its reference, but refuses a second one under
        # it: the create is sent again, refused as a duplicate, and the outcome stays unknown.
        assert order is None
        assert errors == ["OUTCOME_UNKNOWN"]
        assert [c.path for c in gw.calls("kalixo")] == ["/v1/orders/place-order"]
        assert creates >= 1
        assert placed_refs(gw)["I-LIMBO"] == 1


async def test_another_process_running_the_key_answers_in_progress(tmp_path: Path) -> None:
    """Two gateways sharing one SQLite store: the second sees the first's create running."""
    config, running = await start_sandboxes(names=("kalixo",))
    config.server.extra["idempotency_db"] = str(tmp_path / "idempotency.sqlite3")
    config.providers["kalixo"]["timeout_s"] = 3
    sandboxes = {s.name: s for s in running}
    try:
        async with started(config, sandboxes) as one, started(config, sandboxes) as two:
            await one.ok(READ)
            await two.ok(READ)
            one.faults("kalixo").latency_s = 0.8
            one.faults("kalixo").only_paths = ["place-order"]
            first = asyncio.create_task(one.ok(PLACE, new_order("I-SHARED", "key-shared")))
            await asyncio.sleep(0.3)
            order, errors = payload(await two.ok(PLACE, new_order("I-SHARED", "key-shared")))
            assert order is None
            assert errors == ["IDEMPOTENCY_IN_PROGRESS"]
            placed, errors = payload(await first)
            assert errors == []
            again, errors = payload(await two.ok(PLACE, new_order("I-SHARED", "key-shared")))
            assert errors == []
            assert again["id"] == placed["id"]
            assert placed_refs(one)["I-SHARED"] == 1
    finally:
        for s in running:
            await s.close()


@pytest.mark.skipif(
    not connector_built(ProviderName.LIPALATER), reason="the Lipa Later connector is not built"
)
async def test_another_process_placing_the_reference_under_another_key_answers_in_progress(
    tmp_path: Path,
) -> None:
    """Two gateways sharing one store: the second, with another key and the same reference,
    sees the first's create running, at the reference; its own key is put back, not left
    running, so asked again once the first is done it answers that order."""
    config, running = await start_sandboxes(names=("lipalater",))
    config.server.extra["idempotency_db"] = str(tmp_path / "idempotency.sqlite3")
    sandboxes = {s.name: s for s in running}

    def order(key: str) -> Any:
        return {"in": LIPALATER | {"externalReference": "LL-SHARED", "idempotencyKey": key}}

    try:
        async with started(config, sandboxes) as one, started(config, sandboxes) as two:
            await one.ok(PLACE, {"in": LIPALATER | {"externalReference": "LL-WARM"}})
            one.faults("lipalater").update({"latency_s": 1.5, "only_paths": ["/create"]})
            first = asyncio.create_task(one.ok(PLACE, order("key-one")))
            await asyncio.sleep(0.5)
            busy = (await two.ok(PLACE, order("key-two")))["placeOrder"]
            assert busy == {
                "order": None,
                "userErrors": [
                    {
                        "field": ["input", "externalReference"],
                        "message": "an order with this externalReference is being placed right "
                        "now; ask again in a moment",
                        "code": "IDEMPOTENCY_IN_PROGRESS",
                    }
                ],
            }
            placed, errors = payload(await first)
            assert errors == []
            again, errors = payload(await two.ok(PLACE, order("key-two")))
            assert (again["id"], errors) == (placed["id"], [])
            assert len(one.calls("lipalater", "/create", "POST")) == 2  # LL-WARM, LL-SHARED
    finally:
        for s in running:
            await s.close()


# -- nothing sent: the key is free again -----------------------------------------------------

LOGIN_FAULTS = [
    pytest.param({"error_rate": 1.0, "error_status": 503}, id="503"),
    pytest.param({"hang": True}, id="timeout"),
    pytest.param({"malformed": True}, id="unreadable"),
]


@pytest.mark.parametrize("fault", LOGIN_FAULTS)
async def test_a_login_that_fails_sends_no_create_and_leaves_the_key_free(
    fault: dict[str, Any],
) -> None:
    """No token, no create: a retryable error (not OUTCOME_UNKNOWN), and the same key places
    the order once Kalixo logs in again. A login that timed out is not taken for a create
    whose answer was lost: no second login, no resend."""
    async with gateway_with({"kalixo": {"timeout_s": 0.5}}, names=("kalixo",)) as gw:
        gw.faults("kalixo").update({"only_paths": ["/auth/login"], **fault})
        started_at = time.perf_counter()
        answer = await gw.query(PLACE, new_order("I-NOLOGIN", "key-nologin"))
        assert time.perf_counter() - started_at < 1.0  # one login's deadline, not two
        assert answer.data == {"placeOrder": None}  # the payload is null beside its error
        assert answer.codes == ["PROVIDER_UNAVAILABLE"]
        assert answer.errors[0]["extensions"]["retryable"] is True
        assert answer.errors[0]["message"].startswith("kalixo: could not obtain an access token (")
        assert answer.errors[0]["message"].endswith("); nothing was sent")
        assert "may have been applied" not in answer.errors[0]["message"]  # a login changes nothing
        assert len(gw.calls("kalixo", "/auth/login")) == 1  # a POST: never resent
        assert gw.calls("kalixo", "place-order") == []

        gw.faults("kalixo").update(
            {"only_paths": [], "error_rate": 0.0, "hang": False, "malformed": False}
        )
        order, errors = payload(await gw.ok(PLACE, new_order("I-NOLOGIN", "key-nologin")))
        assert errors == []
        assert order["externalReference"] == "I-NOLOGIN"
        again, errors = payload(await gw.ok(PLACE, new_order("I-NOLOGIN", "key-nologin")))
        assert errors == []
        assert again["id"] == order["id"]
        assert len(gw.calls("kalixo", "place-order")) == 1
        assert placed_refs(gw)["I-NOLOGIN"] == 1


async def test_a_read_whose_login_fails_is_a_retryable_error_after_one_login() -> None:
    async with gateway_with(names=("kalixo",)) as gw:
        gw.faults("kalixo").update(
            {"only_paths": ["/auth/login"], "error_rate": 1.0, "error_status": 502}
        )
        answer = await gw.query(READ)
        assert answer.codes == ["PROVIDER_UNAVAILABLE"]
        extensions = answer.errors[0]["extensions"]
        assert (extensions["retryable"], extensions["httpStatus"]) == (True, 502)
        assert answer.errors[0]["message"] == (
            "kalixo: could not obtain an access token (Bad Gateway); nothing was sent"
        )
        assert len(gw.calls("kalixo", "/auth/login")) == 1
        assert len(gw.calls("kalixo")) == 1  # no read went out without a token


LIPALATER = {
    "provider": "LIPALATER",
    "externalReference": "LL-NOTOKEN",
    "customerId": "100001",
    "storeId": "S1",
    "items": [{"sku": "P1", "name": "Phone", "unitPrice": "1000", "quantity": 1}],
    "idempotencyKey": "key-ll-notoken",
}


@pytest.mark.skipif(
    not connector_built(ProviderName.LIPALATER), reason="the Lipa Later connector is not built"
)
async def test_a_lipalater_token_endpoint_down_sends_no_create_and_leaves_the_key_free() -> None:
    """Lipa Later cannot be asked for an order by its reference: a key left UNKNOWN would
    answer OUTCOME_UNKNOWN for good. Its token is a GET, so the shared client retries the 503
    (twice, by policy) and nothing retries it again on top."""
    async with gateway_with(names=("lipalater",)) as gw:
        faults = gw.faults("lipalater")
        faults.update({"only_paths": ["/platform/token/"], "error_rate": 1.0, "error_status": 503})
        answer = await gw.query(PLACE, {"in": LIPALATER})
        assert answer.data == {"placeOrder": None}  # the payload is null beside its error
        assert answer.codes == ["PROVIDER_UNAVAILABLE"]
        assert answer.errors[0]["extensions"]["retryable"] is True
        assert answer.errors[0]["message"] == (
            "lipalater: could not obtain an access token (Service Unavailable); nothing was sent"
        )
        assert len(gw.calls("lipalater", "/platform/token/")) == 3
        assert gw.calls("lipalater", "/create") == []

        faults.error_rate = 0.0
        order, errors = payload(await gw.ok(PLACE, {"in": LIPALATER}))
        assert errors == []
        assert order["externalReference"] == "LL-NOTOKEN"
        again, errors = payload(await gw.ok(PLACE, {"in": LIPALATER}))
        assert (again["id"], errors) == (order["id"], [])
        assert len(gw.calls("lipalater", "/create")) == 1


KEY_HUGE = Scope("key-huge", "idempotencyKey")


@pytest.mark.parametrize(
    ("price", "raised"),
    [("1e30", "TypeError"), ("Infinity", "OverflowError"), ("sNaN", "InvalidOperation")],
)
async def test_an_order_that_cannot_be_encoded_sends_nothing_and_leaves_the_key_free(
    price: str, raised: str
) -> None:
    """The safety net under the connectors' checks (and placeOrder's): an amount Kalixo's body
    cannot carry fails after the login and before place-order, so nothing was sent. Asked of
    PlaceOnce directly, as placeOrder refuses such amounts before it gets there."""
    async with gateway_with(names=("kalixo",)) as gw:
        gateway = gw.app.state.gateway
        kalixo, place_once = gateway.providers[ProviderName.KALIXO], gateway.place_once

        def order(unit_price: str) -> NewOrder:
            item = NewOrderItem(
                sku=str(ITEMS[0]["sku"]), product_id="2", unit_price=Decimal(unit_price)
            )
            return NewOrder("I-HUGE", None, None, "GBP", [item])

        with pytest.raises(pe.InvalidRequest) as refused:
            await place_once.place(kalixo, [KEY_HUGE], "fingerprint-1", order(price))
        assert refused.value.message == (
            f"the order cannot be encoded for kalixo ({raised}): an amount in it is too large "
            "or not a number; nothing was sent"
        )
        assert await place_once.store.get("key-huge") is None  # not UNKNOWN: free again
        assert gw.calls("kalixo", "place-order") == []

        placed = await place_once.place(kalixo, [KEY_HUGE], "fingerprint-2", order("32.99"))
        assert placed.order is not None
        assert placed.order.external_reference == "I-HUGE"
        assert len(gw.calls("kalixo", "place-order")) == 1
        assert len(gw.calls("kalixo", "/auth/login")) == 1
        assert placed_refs(gw)["I-HUGE"] == 1


async def test_a_same_key_retry_after_an_unknown_outcome_places_what_never_landed() -> None:
    """Every place-order answered 503 (nothing placed): OUTCOME_UNKNOWN after the connector's
    one more send, and the key stays UNKNOWN. Asked again with the same key once Kalixo is
    back, the create is sent again (Kalixo refuses a second order under one code, so it cannot
    buy twice) and places the order, where it answered OUTCOME_UNKNOWN, sending nothing, for
    the key's whole retention."""
    async with kalixo() as gw:
        faults = gw.faults("kalixo")
        faults.update({"only_paths": ["place-order"], "error_rate": 1.0, "error_status": 503})
        order, errors = payload(await gw.ok(PLACE, new_order("I-SENT", "key-sent")))
        assert (order, errors) == (None, ["OUTCOME_UNKNOWN"])
        assert len(gw.calls("kalixo", "place-order")) == 2
        faults.error_rate = 0.0
        order, errors = payload(await gw.ok(PLACE, new_order("I-SENT", "key-sent")))
        assert errors == []
        assert order["externalReference"] == "I-SENT"
        assert len(gw.calls("kalixo", "place-order")) == 3
        # Placed now: the key's record answers it, nothing is sent.
        again, errors = payload(await gw.ok(PLACE, new_order("I-SENT", "key-sent")))
        assert (again["id"], errors) == (order["id"], [])
        assert len(gw.calls("kalixo", "place-order")) == 3
        assert placed_refs(gw)["I-SENT"] == 1


async def test_a_same_key_retry_after_an_unknown_outcome_answers_the_order_placed_since() -> None:
    """The first key's create stayed unknown; the same reference was placed meanwhile under
    another key. The first key's retry sends the create again, Kalixo refuses the code as
    taken, and the answer is the order the gateway saw placed under it: one order."""
    async with kalixo() as gw:
        faults = gw.faults("kalixo")
        faults.update({"only_paths": ["place-order"], "error_rate": 1.0, "error_status": 503})
        order, errors = payload(await gw.ok(PLACE, new_order("I-BOTH", "key-first")))
        assert (order, errors) == (None, ["OUTCOME_UNKNOWN"])
        faults.error_rate = 0.0
        placed, errors = payload(await gw.ok(PLACE, new_order("I-BOTH", "key-second")))
        assert errors == []
        order, errors = payload(await gw.ok(PLACE, new_order("I-BOTH", "key-first")))
        assert errors == []
        assert (order["id"], order["externalReference"]) == (placed["id"], "I-BOTH")
        # The first key's two sends, the second key's create, the first key's send again.
        assert len(gw.calls("kalixo", "place-order")) == 4
        assert placed_refs(gw)["I-BOTH"] == 1


@pytest.mark.skipif(
    not connector_built(ProviderName.LIPALATER), reason="the Lipa Later connector is not built"
)
async def test_a_create_that_can_be_neither_looked_up_nor_sent_again_stays_unknown() -> None:
    """Lipa Later cannot be asked for an order by its reference, and nothing says a second
    create under one reference is refused: a create that was sent and failed in a way that may
    have landed (a 503) keeps its key UNKNOWN, and the same key sends nothing again."""
    order_in = LIPALATER | {"externalReference": "LL-SENT", "idempotencyKey": "key-ll-sent"}
    async with gateway_with(names=("lipalater",)) as gw:
        faults = gw.faults("lipalater")
        faults.update({"only_paths": ["/create"], "error_rate": 1.0, "error_status": 503})
        order, errors = payload(await gw.ok(PLACE, {"in": order_in}))
        assert (order, errors) == (None, ["OUTCOME_UNKNOWN"])
        faults.error_rate = 0.0
        order, errors = payload(await gw.ok(PLACE, {"in": order_in}))
        assert (order, errors) == (None, ["OUTCOME_UNKNOWN"])
        assert len(gw.calls("lipalater", "/create")) == 1


# -- a claim cut short gives back what it had claimed ----------------------------------------


class LockedOnce:
    """The gateway's store, whose claim of an external reference fails once, as a store file
    shared by several gateways does when another holds it longer than its busy timeout; or,
    ``held``, waits for ``release``, as a claim in a worker thread does."""

    def __init__(self, store: IdempotencyStore, *, held: bool = False) -> None:
        self.store, self.held, self.failed = store, held, False
        self.holding, self.release = asyncio.Event(), asyncio.Event()
        self.closed = False  # as the gateway's shutdown closes it: nothing is given back

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    async def begin(self, key: str, fingerprint: str, lease_s: float) -> Claim:
        if ":ref:" in key and self.held:
            self.holding.set()
            await self.release.wait()  # a thread is not cancelled: the claim goes on regardless
        elif ":ref:" in key and not self.failed:
            self.failed = True
            raise sqlite3.OperationalError("database is locked")
        return await self.store.begin(key, fingerprint, lease_s)

    async def fail(self, key: str, *, unknown: bool) -> None:
        if self.closed:
            raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
        await self.store.fail(key, unknown=unknown)


@pytest.mark.skipif(
    not connector_built(ProviderName.LIPALATER), reason="the Lipa Later connector is not built"
)
async def test_a_store_that_fails_after_claiming_the_key_gives_the_key_back() -> None:
    """A create claims its idempotency key, then its external reference; when the store failed
    on the second, the key stayed RUNNING, so the caller's retry answered
    IDEMPOTENCY_IN_PROGRESS for the whole lease (120 s) with no create behind it."""
    order = LIPALATER | {"externalReference": "LL-LOCKED", "idempotencyKey": "key-locked"}
    async with gateway_with(names=("lipalater",)) as gw:
        place_once = gw.app.state.gateway.place_once
        place_once.store = LockedOnce(place_once.store)
        answer = await gw.query(PLACE, {"in": order})
        assert answer.codes == ["INTERNAL_SERVER_ERROR"]
        assert gw.calls("lipalater", "/create") == []
        placed, errors = payload(await gw.ok(PLACE, {"in": order}))
        assert errors == []
        assert placed["externalReference"] == "LL-LOCKED"
        assert len(gw.calls("lipalater", "/create", "POST")) == 1


@pytest.mark.parametrize("closed", [False, True], ids=["store-open", "store-closed"])
async def test_a_create_cancelled_while_claiming_gives_back_what_it_claimed(
    closed: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """A gateway shutting down cancels a placeOrder between claiming its key and its
    reference: the reference's claim, in the store's thread, finishes anyway; neither is left
    RUNNING for a lease with no create behind it. A store closed meanwhile cannot take them
    back: that is logged, and the call still ends cancelled, not with the store's error."""
    async with gateway_with(names=("kalixo",)) as gw:
        gateway = gw.app.state.gateway
        place_once, kalixo = gateway.place_once, gateway.providers[ProviderName.KALIXO]
        store = place_once.store = LockedOnce(place_once.store, held=True)
        key, reference = "kalixo:key:c:k", "kalixo:ref:R"
        claimed = [Scope(key, "idempotencyKey"), Scope(reference, "externalReference")]
        item = NewOrderItem(sku=str(ITEMS[0]["sku"]), product_id="2", unit_price=Decimal("1"))
        new = NewOrder("R", None, None, "GBP", [item])
        placing = asyncio.create_task(place_once.place(kalixo, claimed, "fingerprint", new))
        await store.holding.wait()  # the key is claimed; the reference's claim is under way
        assert (await store.get(key)).state is State.RUNNING
        placing.cancel()
        await asyncio.sleep(0.05)
        store.closed = closed
        store.release.set()  # the reference's claim finishes, as its thread would
        with pytest.raises(asyncio.CancelledError):
            await placing
        left = {k: await store.get(k) for k in (key, reference)}
        if closed:
            assert {k: r.state for k, r in left.items() if r} == {
                key: State.RUNNING,
                reference: State.RUNNING,
            }
            [warning] = [r for r in caplog.records if r.name == "commerce_graph.place_once"]
            assert warning.getMessage() == (
                "placeOrder: cancelled while claiming its idempotency records, which the store "
                "failed to give back; they are held until their lease ends"
            )
        else:
            assert left == {key: None, reference: None}
        assert gw.calls("kalixo", "place-order") == []
