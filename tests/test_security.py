"""Hostile documents and requests: each refused with its code, before any upstream call."""

from __future__ import annotations

import io
import logging
import re
import time
from typing import Any

import aiohttp
import pytest

from graph import ids
from graph.config import Config
from providers.akinon import Akinon
from providers.model import ProviderName
from providers.sandbox import (
    akinon_data,
    frontpayment_data,
    kalixo_data,
    lipalater_data,
    lipalater_purchases_data,
)
from providers.sandbox.frontpayment import STATE as FP_STATE
from providers.sandbox.lipalater import STATE as LL_STATE
from providers.sandbox.lipalater_purchases import STATE as LP_STATE
from tests.conftest import gateway_with, started
from tests.harness import Answer, Gateway

GQL_RESPONSE = "application/graphql-response+json"
AKINON, FRONTPAYMENT, KALIXO = ProviderName.AKINON, ProviderName.FRONTPAYMENT, ProviderName.KALIXO
LIPALATER, PURCHASES = ProviderName.LIPALATER, ProviderName.LIPALATER_PURCHASES


async def post_raw(gw: Gateway, body: Any, content_type: str | None, **headers: str) -> Answer:
    """A POST as a browser or a script might send it, with the API key."""
    send = {"Authorization": "Bearer dev-key", **headers}
    if content_type is not None:
        send["Content-Type"] = content_type
    async with gw.session.post(gw.url, data=body, headers=send) as response:
        return Answer(response.status, await response.json(content_type=None), response.headers)


async def get(gw: Gateway, params: dict[str, str], **headers: str) -> Answer:
    send = {"Authorization": "Bearer dev-key", **headers}
    async with gw.session.get(gw.url, params=params, headers=send) as response:
        return Answer(response.status, await response.json(content_type=None), response.headers)


def no_upstream_calls(gw: Gateway) -> None:
    assert {name: gw.calls(name) for name in gw.sandboxes} == {name: [] for name in gw.sandboxes}


def deep_fragments(levels: int) -> str:
    """Depth through a chain of fragments: Order -> items -> order -> ..."""
    parts = ['{ orderByNumber(provider: AKINON, number: "45243493") { ...F0 } }']
    for i in range(levels):
        parts.append(f"fragment F{i} on Order {{ id items {{ order {{ ...F{i + 1} }} }} }}")
    parts.append(f"fragment F{levels} on Order {{ id }}")
    return "\n".join(parts)


ALIASES_IN_FRAGMENTS = (
    "{ providers { ...A } again: providers { ...A } third: providers { ...A } }\n"
    "fragment A on ProviderInfo { " + " ".join(f"n{i}: name" for i in range(20)) + " }"
)
COSTLY = """{ orders(first: 100) { nodes { items { order { items { order {
    cancellationPlans { id items { id } } } } } } } } }"""

# (name, document, variables, code, a phrase the message must hold)
HOSTILE_DOCUMENTS: list[tuple[str, str, dict[str, Any] | None, str, str]] = [
    ("depth via fragments", deep_fragments(8), None, "QUERY_TOO_COMPLEX", "max_depth = 12"),
    (
        "circular fragments",
        '{ orderByNumber(provider: AKINON, number: "1") { ...A } }\n'
        "fragment A on Order { items { order { ...B } } }\nfragment B on Order { ...A }",
        None,
        "BAD_USER_INPUT",
        "Cannot spread fragment",
    ),
    ("aliases in fragments", ALIASES_IN_FRAGMENTS, None, "QUERY_TOO_COMPLEX", "max_aliases = 50"),
    (
        "1,000 aliases",
        "{ " + " ".join(f"a{i}: __typename" for i in range(1000)) + " }",
        None,
        "QUERY_TOO_COMPLEX",
        "1000 aliases, over the limit (max_aliases = 50)",
    ),
    (
        "10,000 tokens",
        "{ providers { " + "name " * 9996 + "} }",
        None,
        "QUERY_TOO_COMPLEX",
        "max_tokens = 4000",
    ),
    (
        "braces nested 1,000 deep",
        "{ " + "a { " * 1000 + "}" * 1001,
        None,
        "QUERY_TOO_COMPLEX",
        "max_depth = 12",
    ),
    ("estimated cost", COSTLY, None, "QUERY_TOO_COMPLEX", "max_cost = 20000"),
    (
        "first: 1000000000",
        "{ orders(first: 1000000000) { totalCount } }",
        None,
        "BAD_USER_INPUT",
        "max_page_size = 100",
    ),
    (
        "first from a variable",
        "query($n: Int) { a: customerAddresses(first: 5) { totalCount } "
        "b: cancellationPlans(first: $n) { totalCount } }",
        {"n": 1_000_000_000},
        "BAD_USER_INPUT",
        "cancellationPlans(first: 1000000000)",
    ),
]


@pytest.mark.parametrize("media_type", ["application/json", GQL_RESPONSE])
async def test_hostile_documents_are_refused_before_any_upstream_call(
    gateway: Gateway, media_type: str
) -> None:
    gateway.clear_calls()
    for name, document, variables, code, phrase in HOSTILE_DOCUMENTS:
        started_at = time.monotonic()
        answer = await gateway.query(document, variables, headers={"Accept": media_type})
        assert answer.codes == [code], (name, answer.body)
        assert phrase in answer.errors[0]["message"], (name, answer.errors)
        assert "data" not in answer.body, name  # nothing ran
        assert answer.status == (400 if media_type == GQL_RESPONSE else 200), name
        assert answer.headers["Content-Type"].startswith(media_type), name
        assert time.monotonic() - started_at < 2.0, name
    no_upstream_calls(gateway)


async def test_remembered_checks_still_see_each_requests_variables(gateway: Gateway) -> None:
    """Limit checks are remembered per (document, operation, variables): a document that passed
    with small variables is still refused with large ones, and a refused one stays refused."""
    document = "query($n: Int) { cancellationPlans(first: $n) { totalCount } }"
    for n, codes in [
        (5, []),
        (1_000_000_000, ["BAD_USER_INPUT"]),
        (5, []),
        (10**9, ["BAD_USER_INPUT"]),
    ]:
        assert (await gateway.query(document, {"n": n})).codes == codes, n
    for _ in range(2):
        assert (await gateway.query(COSTLY)).codes == ["QUERY_TOO_COMPLEX"]
        assert (await gateway.query(deep_fragments(8))).codes == ["QUERY_TOO_COMPLEX"]


async def test_limit_errors_name_the_limit_and_its_value(gateway: Gateway) -> None:
    answer = await gateway.query(deep_fragments(8))
    assert answer.errors[0]["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "limit": "max_depth",
        "maximum": 12,
        "found": 18,
    }


async def test_hostile_requests_are_refused_with_their_code(gateway: Gateway) -> None:
    gateway.clear_calls()
    mutation = 'mutation { rejectOrderItem(input: {itemId: "x"}) { userErrors { code } } }'
    over_get = await get(gateway, {"query": mutation})
    assert (over_get.status, over_get.codes) == (405, ["BAD_USER_INPUT"])
    assert over_get.headers["Allow"] == "POST"

    body = '{"query": "{ providers { name } }"}'
    for content_type in ("application/x-www-form-urlencoded", "text/plain", None):
        csrf = await post_raw(gateway, body, content_type)
        assert (csrf.status, csrf.codes) == (400, ["BAD_USER_INPUT"]), content_type
        assert "cross-site request forgery" in csrf.errors[0]["message"]
    form = aiohttp.FormData({"query": "{ providers { name } }"})
    multipart = await post_raw(gateway, form(), None)
    assert (multipart.status, multipart.codes) == (400, ["BAD_USER_INPUT"])
    # A preflight-forcing header gets past the CSRF guard, but only JSON is read.
    preflighted = await post_raw(gateway, body, "text/plain", **{"GraphQL-Preflight": "1"})
    assert (preflighted.status, preflighted.codes) == (415, ["BAD_USER_INPUT"])

    huge = b'{"query": "{ providers { name } }", "pad": "' + b"x" * 2_000_000 + b'"}'
    too_big = await post_raw(gateway, io.BytesIO(huge), "application/json")
    assert (too_big.status, too_big.codes) == (413, ["QUERY_TOO_COMPLEX"])
    assert "max_body_bytes = 1000000" in too_big.errors[0]["message"]

    batch = '[{"query": "{ __typename }"}, {"query": "{ __typename }"}]'
    batched = await post_raw(gateway, batch, "application/json")
    assert (batched.status, batched.codes) == (400, ["BAD_USER_INPUT"])
    assert "batching is off" in batched.errors[0]["message"]
    no_upstream_calls(gateway)


async def test_limits_come_from_the_server_section() -> None:
    limits = {"max_depth": 3, "max_page_size": 5, "batching": True, "batch_limit": 2}
    async with gateway_with(names=("akinon",), server=limits) as gw:
        deep = await gw.query("{ orders(first: 1) { nodes { items { sku } } } }")
        assert deep.codes == ["QUERY_TOO_COMPLEX"]
        assert deep.errors[0]["message"] == "query depth 4 is over the limit (max_depth = 3)"
        page = await gw.query("{ orders(first: 6) { totalCount } }")
        assert "max_page_size = 5" in page.errors[0]["message"]
        found = await gw.ok("{ orders(first: 5) { nodes { number } } }")
        assert len(found["orders"]["nodes"]) == 5
        one = '{"query": "{ providers { name } }"}'
        pair = await post_raw(gw, f"[{one}, {one}]", "application/json")
        assert pair.status == 200
        assert [len(r["data"]["providers"]) for r in pair.body] == [5, 5]  # type: ignore[index]
        three = await post_raw(gw, f"[{one}, {one}, {one}]", "application/json")
        assert (three.status, three.codes) == (400, ["QUERY_TOO_COMPLEX"])
        assert "batch_limit = 2" in three.errors[0]["message"]


def test_a_wrong_limit_in_the_config_is_refused() -> None:
    from graph.config import ConfigError

    with pytest.raises(ConfigError, match=r"\[server\].max_depth must be a positive integer"):
        Config.from_dict({"server": {"max_depth": "deep"}})


async def test_a_legitimate_large_query_and_introspection_still_run(gateway: Gateway) -> None:
    found = await gateway.ok(
        """{ orders(first: 50) { totalCount pageInfo { hasNextPage endCursor }
          nodes { id number status total { amount currency }
            items { sku status tracking { number company } }
            shippingAddress { city line }
            cancellationPlans { planType refund { amount currency } } } } }"""
    )
    assert len(found["orders"]["nodes"]) == 50
    from graphql import get_introspection_query

    schema = await gateway.ok(get_introspection_query(descriptions=True))
    assert schema["__schema"]["queryType"]["name"] == "Query"


async def test_graphql_response_media_type_is_negotiated(gateway: Gateway) -> None:
    document = "{ providers { name } }"
    for accept, expected in [
        (GQL_RESPONSE, GQL_RESPONSE),
        (f"{GQL_RESPONSE}, application/json;q=0.9", GQL_RESPONSE),
        (f"application/json, {GQL_RESPONSE};q=0.5", "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
    ]:
        answer = await gateway.query(document, headers={"Accept": accept})
        assert answer.status == 200
        assert answer.headers["Content-Type"].split(";")[0] == expected, accept
        assert len(answer.data["providers"]) == 5
    invalid = await gateway.query("{ nope }", headers={"Accept": GQL_RESPONSE})
    assert invalid.status == 400
    assert "data" not in invalid.body
    legacy = await gateway.query("{ nope }", headers={"Accept": "application/json"})
    assert legacy.status == 200
    assert "data" not in legacy.body
    assert legacy.codes == ["BAD_USER_INPUT"]


async def test_cors_allows_only_the_configured_origins() -> None:
    config = Config.from_dict(
        {"server": {"api_keys": {"k": ["orders:read"]}, "cors_origins": ["https://shop.example"]}}
    )
    async with started(config) as gw:
        preflight = {
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        }
        for origin, allowed in [("https://shop.example", True), ("https://evil.example", False)]:
            async with gw.session.options(
                gw.url, headers={"Origin": origin, **preflight}
            ) as response:
                assert (response.status == 200) is allowed, origin
                got = response.headers.get("Access-Control-Allow-Origin")
                assert got == (origin if allowed else None)
        async with gw.session.post(
            gw.url,
            json={"query": "{ __typename }"},
            headers={"Origin": "https://shop.example", "Authorization": "Bearer k"},
        ) as response:
            assert response.status == 200
            assert response.headers["Access-Control-Allow-Origin"] == "https://shop.example"
            assert "X-Request-ID" in response.headers["Access-Control-Expose-Headers"]


async def test_production_mode_hides_the_schema_and_masks_bugs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async with gateway_with(names=("akinon",), server={"mode": "production"}) as gw:
        async with gw.session.get(gw.url, headers={"Accept": "text/html"}) as page:
            assert page.status == 404  # no GraphiQL
        introspection = await gw.query("{ __schema { types { name } } }")
        assert set(introspection.codes) == {"BAD_USER_INPUT"}  # one per introspection field
        assert "introspection has been disabled" in introspection.errors[0]["message"]
        assert "data" not in introspection.body
        typo = await gw.query('{ orderByNumber(provider: AKINON, number: "1") { numbr } }')
        assert typo.codes == ["BAD_USER_INPUT"]
        assert "Did you mean" not in typo.errors[0]["message"]
        enum_typo = await gw.query('{ orderByNumber(provider: AKINO, number: "1") { id } }')
        assert "Did you mean" not in enum_typo.errors[0]["message"]

        async def bug(self: Akinon, refs: Any) -> Any:
            raise RuntimeError("bug detail: connection string postgres://u:hunter2@db")

        monkeypatch.setattr(Akinon, "orders_by_ref", bug)
        with caplog.at_level(logging.ERROR, logger="commerce_graph.errors"):
            masked = await gw.query(
                '{ orderByNumber(provider: AKINON, number: "45243493") { id } }',
                headers={"X-Request-ID": "req-canary-1"},
            )
        assert masked.errors[0]["message"] == "Internal server error"
        assert masked.errors[0]["extensions"] == {
            "code": "INTERNAL_SERVER_ERROR",
            "requestId": "req-canary-1",
        }
        assert "hunter2" not in str(masked.body)
        logged = [r for r in caplog.records if r.getMessage() == "unexpected error"]
        assert len(logged) == 1
        assert logged[0].__dict__["request_id"] == "req-canary-1"
        assert "bug detail" in str(logged[0].exc_info[1])  # type: ignore[index]


async def test_sandbox_mode_keeps_graphiql_introspection_and_suggestions(gateway: Gateway) -> None:
    async with gateway.session.get(gateway.url, headers={"Accept": "text/html"}) as page:
        assert page.status == 200
        assert "graphiql" in (await page.text()).lower()
    await gateway.ok("{ __schema { types { name } } }")
    typo = await gateway.query('{ orderByNumber(provider: AKINON, number: "1") { numbr } }')
    assert "Did you mean" in typo.errors[0]["message"]


# -- forged ids never reach another upstream path ------------------------------------------
#
# A global id is base64 of "Type:provider:key" that any client can forge, and connectors put keys
# into URL paths. A key of the wrong shape must name nothing and send nothing: not a dot segment
# the URL parser resolves (``../``), a slash, a query (``?``), a fragment (``#``), an encoded
# slash or dot (``%2F``, ``%2e``, which the parser decodes), nor a newline the parser drops.

USER_ERRORS = "userErrors { field message code providerCode }"
ORDER_BY_ID = "query($id: ID!) { order(id: $id) { id } }"


def on_order(name: str, more: str = "") -> str:
    """A mutation on the order ``$id``, answering its id and userErrors."""
    return f"""mutation($id: ID!) {{
        {name}(input: {{orderId: $id{more}}}) {{ order {{ id }} {USER_ERRORS} }} }}"""


NODE_BY_ID = "query($id: ID!) { node(id: $id) { id } }"


def forged(type_name: str, provider: ProviderName, key: str) -> str:
    return ids.encode(type_name, provider, key)


def hostile(valid: str) -> list[str]:
    """Keys built around a valid one that would move the path it goes into."""
    return [
        f"../{valid}",
        f"{valid}/..",
        f"x/../../{valid}",
        f"{valid}?x=1",
        f"{valid}#",
        f"{valid}%2F..",
        f"%2e%2e/{valid}",
        f"{valid}/../{valid}",
        "..",
        ".",
    ]


REJECT_ITEM = f"""mutation($id: ID!) {{
    rejectOrderItem(input: {{itemId: $id}}) {{ item {{ id }} {USER_ERRORS} }} }}"""


async def test_a_forged_akinon_item_id_rejects_nothing_and_sends_nothing() -> None:
    """The audit's keys: each once moved rejectOrderItem's POST to another Akinon route (an
    order's cancel, the login) with the gateway's credentials."""
    target = akinon_data.REJECTABLE_ORDER_ID
    keys = [
        *hostile(akinon_data.REJECTABLE_ITEM_IDS[0]),
        f"../orders/{target}/cancel#",
        "x/../../auth/login/?",
        f"{akinon_data.REJECTABLE_ITEM_IDS[0]}?x=1",
        "%2e%2e/orders",
    ]
    async with gateway_with(names=("akinon",)) as gw:
        for key in keys:
            gw.clear_calls()
            answer = await gw.ok(REJECT_ITEM, {"id": forged("OrderItem", AKINON, key)})
            assert answer["rejectOrderItem"] == {
                "item": None,
                "userErrors": [
                    {
                        "field": ["input", "itemId"],
                        "message": f"akinon: no order item {key!r}",
                        "code": "NOT_FOUND",
                        "providerCode": None,
                    }
                ],
            }, key
            # As the reads answer such a key: not found, and nothing asked.
            read = await gw.query(ORDER_BY_ID, {"id": forged("Order", AKINON, key)})
            assert (read.data, read.codes) == ({"order": None}, ["NOT_FOUND"]), key
            assert gw.calls("akinon") == [], key  # not even a login


async def test_an_akinon_item_id_is_sent_as_the_uuid_akinon_answers() -> None:
    """A uuid in another spelling (upper case, braces, spaces) is canonicalised as the reads
    do, and the POST goes to that item's documented path and no other."""
    item = akinon_data.REJECTABLE_ITEM_IDS[1]
    async with gateway_with(names=("akinon",)) as gw:
        gw.clear_calls()
        key = f" {{{item.upper()}}}\n"
        answer = await gw.ok(REJECT_ITEM, {"id": forged("OrderItem", AKINON, key)})
        assert answer["rejectOrderItem"]["userErrors"] == []
        posts = [(c.method, c.path, c.query) for c in gw.calls("akinon", method="POST")]
        assert posts == [
            ("POST", "/api/i1/auth/login/", {}),
            ("POST", f"/api/i1/order-items/{item}/reject/", {}),
        ]


FP_CANCEL = on_order("cancelOrder", ', reason: "Wrong size"')
FP_REFUND = on_order("refundOrder", ', amount: "1.00"')


async def test_a_forged_frontpayment_order_id_reaches_no_path() -> None:
    uuid = frontpayment_data.SENT_UUID
    async with gateway_with(names=("frontpayment",)) as gw:
        for key in [*hostile(uuid), f"{uuid}\n", f"{uuid}\t"]:
            gw.clear_calls()
            gid = forged("Order", FRONTPAYMENT, key)
            not_found = {
                "field": ["input", "orderId"],
                "message": f"frontpayment: no order {key!r}",
                "code": "NOT_FOUND",
                "providerCode": None,
            }
            for name, document in [("cancelOrder", FP_CANCEL), ("refundOrder", FP_REFUND)]:
                answer = await gw.ok(document, {"id": gid})
                assert answer[name] == {"order": None, "userErrors": [not_found]}, (name, key)
            read = await gw.query(ORDER_BY_ID, {"id": gid})
            assert (read.data, read.codes) == ({"order": None}, ["NOT_FOUND"]), key
            assert gw.calls("frontpayment") == [], key
            # An item key is "<uuid>/<productId>": only an order's details may be read, the
            # uuid one path segment of the documented shape.
            item = await gw.query(NODE_BY_ID, {"id": forged("OrderItem", FRONTPAYMENT, key)})
            assert (item.data, item.errors) == ({"node": None}, []), key
            for call in gw.calls("frontpayment"):
                assert (call.method, call.query) == ("GET", {}), key
                assert re.fullmatch(r"/api/v1/connect/orders/details/[A-Za-z0-9_-]+", call.path)
        status = gw.sandboxes["frontpayment"].app[FP_STATE].orders[uuid]["status"]
        assert status == "SENT"  # "<uuid>\n" once cancelled this order


LL_MUTATIONS = {
    "confirmOrder": on_order("confirmOrder", ', installPlanId: "1"'),
    "cancelOrder": on_order("cancelOrder", ', reason: "changed mind"'),
    "acceptContract": on_order("acceptContract"),
    "rejectContract": on_order("rejectContract"),
}
LL_BY_NUMBER = """query($n: String!, $c: String) {
    orderByNumber(provider: LIPALATER, number: $n, customerId: $c) { id } }"""


async def test_a_forged_lipalater_order_id_reaches_no_path() -> None:
    """memberId and orderNo both go into the path (``/order/{memberId}/detail/{orderNo}``):
    a dot segment in either, or a newline the URL parser drops, once reached another route
    or acted on the real order."""
    number, member = lipalater_data.SEED_CREATED
    keys = [
        f"../{number}",
        f"{member}/..",
        f"./{number}",
        f"{member}/.",
        f"{member}/{number}\n",
        f"{member}\n/{number}",
        f"{member}/{number}?x=1",
        f"{member}/{number}#",
        f"{member}/{number}%2F..",
        f"%2e%2e/{number}",
        f"{member}/../../platform/token/",
        f"{member}/{number}/../{number}",
    ]
    async with gateway_with(names=("lipalater",)) as gw:
        for key in keys:
            gw.clear_calls()
            gid = forged("Order", LIPALATER, key)
            bad_key = {
                "field": ["input", "orderId"],
                "message": f"{key!r} is not a Lipa Later order key",
                "code": "BAD_USER_INPUT",
                "providerCode": None,
            }
            for name, document in LL_MUTATIONS.items():
                answer = await gw.ok(document, {"id": gid})
                assert answer[name] == {"order": None, "userErrors": [bad_key]}, (name, key)
            read = await gw.query(ORDER_BY_ID, {"id": gid})
            assert (read.data, read.codes) == ({"order": None}, ["BAD_USER_INPUT"]), key
            assert gw.calls("lipalater") == [], key  # not even a token
        for number_, customer in [("..", member), (number, ".."), (number, "."), ("..", "..")]:
            read = await gw.query(LL_BY_NUMBER, {"n": number_, "c": customer})
            assert (read.data, read.codes) == ({"orderByNumber": None}, ["BAD_USER_INPUT"])
        assert gw.calls("lipalater") == []
        seeded = gw.sandboxes["lipalater"].app[LL_STATE].find(member, number)
        assert seeded is not None
        assert seeded.status == lipalater_data.CREATED


LP_UPDATE = f"""mutation($id: ID!) {{
    updateOrderItemStatus(input: {{itemId: $id, status: "collected_by_agent"}}) {{
        item {{ id }} {USER_ERRORS} }} }}"""
LP_CANCEL = on_order("cancelOrder", ', reason: "changed mind"')
LP_BY_NUMBER = """query($n: String!) {
    orderByNumber(provider: LIPALATER_PURCHASES, number: $n) { id } }"""


async def test_a_forged_purchase_id_reaches_no_path() -> None:
    """Purchase ids go into ``/purchases/{id}`` (reads, cancel's DELETE): ``<id>\\n`` once
    deleted the real purchase, the URL parser dropping the newline."""
    purchase = lipalater_purchases_data.EXAMPLE_PURCHASE_ID
    order = lipalater_purchases_data.EXAMPLE_ORDER_ID
    name = "lipalater_purchases"
    async with gateway_with(names=(name,)) as gw:
        for key in [*hostile(purchase), f"{purchase}\n"]:
            gw.clear_calls()
            update = await gw.ok(LP_UPDATE, {"id": forged("OrderItem", PURCHASES, key)})
            assert update["updateOrderItemStatus"] == {
                "item": None,
                "userErrors": [
                    {
                        "field": ["input", "itemId"],
                        "message": f"lipalater_purchases: no purchase {key!r}",
                        "code": "NOT_FOUND",
                        "providerCode": None,
                    }
                ],
            }, key
            order_key = forged("Order", PURCHASES, f"{order}~{key}")
            cancel = await gw.ok(LP_CANCEL, {"id": order_key})
            assert cancel["cancelOrder"] == {
                "order": None,
                "userErrors": [
                    {
                        "field": ["input", "orderId"],
                        "message": "lipalater_purchases: no such order",
                        "code": "NOT_FOUND",
                        "providerCode": None,
                    }
                ],
            }, key
            read = await gw.query(ORDER_BY_ID, {"id": order_key})
            assert (read.data, read.codes) == ({"order": None}, ["NOT_FOUND"]), key
            node = await gw.query(NODE_BY_ID, {"id": forged("OrderItem", PURCHASES, key)})
            assert (node.data, node.errors) == ({"node": None}, []), key
            if key.strip() != purchase:  # orderByNumber strips the number it is given
                by_number = await gw.query(LP_BY_NUMBER, {"n": key})
                assert by_number.codes == ["NOT_FOUND"], key
            assert gw.calls(name) == [], key
        status = gw.sandboxes[name].app[LP_STATE].purchases[purchase].facility_status
        assert status == lipalater_purchases_data.PENDING


KALIXO_BY_NUMBER = """query($n: String!) {
    orderByNumber(provider: KALIXO, number: $n) { id } }"""


async def test_a_forged_kalixo_id_goes_nowhere_but_the_retrieve_query() -> None:
    """Kalixo ids are numbers, sent as the ``id`` query value of retrieve-order: anything
    else (``&id=``, ``#``, ``../``, non-ASCII digits) names no order and sends nothing."""
    valid = str(kalixo_data.EXAMPLE_ORDER_ID)
    keys = [*hostile(valid), f"{valid}&id=1", f"{valid}\n", "٥٩٤٠٠", f"{valid}.0", f"-{valid}"]
    async with gateway_with(names=("kalixo",)) as gw:
        for key in keys:
            gw.clear_calls()
            read = await gw.query(ORDER_BY_ID, {"id": forged("Order", KALIXO, key)})
            assert (read.data, read.codes) == ({"order": None}, ["NOT_FOUND"]), key
            if key.strip() != valid:
                by_number = await gw.query(KALIXO_BY_NUMBER, {"n": key})
                assert by_number.codes == ["NOT_FOUND"], key
            assert gw.calls("kalixo") == [], key
            # An item key is "<orderId>/<line>": only its order may be asked, by the query.
            node = await gw.query(NODE_BY_ID, {"id": forged("OrderItem", KALIXO, f"{key}/9")})
            assert (node.data, node.errors) == ({"node": None}, []), key
            for call in gw.calls("kalixo", "/orders/"):
                assert (call.method, call.path, call.query) == (
                    "GET",
                    "/v1/orders/retrieve-order",
                    {"id": valid},
                ), key
        gw.clear_calls()
        await gw.ok(ORDER_BY_ID, {"id": forged("Order", KALIXO, valid)})
        reads = [(c.method, c.path, c.query) for c in gw.calls("kalixo", "/orders/")]
        assert reads == [("GET", "/v1/orders/retrieve-order", {"id": valid})]
