"""Hostile documents and requests: each refused with its code, before any upstream call."""

from __future__ import annotations

import io
import logging
import time
from typing import Any

import aiohttp
import pytest

from graph.config import Config
from providers.akinon import Akinon
from tests.conftest import gateway_with, started
from tests.harness import Answer, Gateway

GQL_RESPONSE = "application/graphql-response+json"


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
        assert logged[0].__dict__["requestId"] == "req-canary-1"
        assert "bug detail" in str(logged[0].exc_info[1])  # type: ignore[index]


async def test_sandbox_mode_keeps_graphiql_introspection_and_suggestions(gateway: Gateway) -> None:
    async with gateway.session.get(gateway.url, headers={"Accept": "text/html"}) as page:
        assert page.status == 200
        assert "graphiql" in (await page.text()).lower()
    await gateway.ok("{ __schema { types { name } } }")
    typo = await gateway.query('{ orderByNumber(provider: AKINON, number: "1") { numbr } }')
    assert "Did you mean" in typo.errors[0]["message"]
