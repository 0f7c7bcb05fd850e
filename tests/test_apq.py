"""Automatic persisted queries over HTTP (Apollo's protocol), and the allowlist mode."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from graph.apq import PersistedQueries, footprint
from graph.config import DEV_KEY, Config, ConfigError
from graph.embedded import start_sandboxes
from providers.sandbox.akinon_data import EXAMPLE_ORDER_NUMBER
from tests.conftest import gateway_with, started
from tests.harness import Gateway

QUERY = "query Order($n: String!) { orderByNumber(provider: AKINON, number: $n) { number } }"
DIGEST = hashlib.sha256(QUERY.encode()).hexdigest()
OTHER = "{ providers { name } }"
AUTH = {"Authorization": f"Bearer {DEV_KEY}"}


def persisted(digest: str = DIGEST) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


async def post(gw: Gateway, body: dict[str, Any]) -> dict[str, Any]:
    async with gw.session.post(gw.url, json=body, headers=AUTH) as response:
        result: dict[str, Any] = await response.json(content_type=None)
        return result


async def get(gw: Gateway, **params: Any) -> tuple[int, dict[str, Any]]:
    query = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in params.items()}
    headers = AUTH | {"Accept": "application/json"}
    async with gw.session.get(gw.url, params=query, headers=headers) as response:
        return response.status, await response.json(content_type=None)


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


async def test_hash_miss_then_register_then_hit(gateway: Gateway) -> None:
    variables = {"n": EXAMPLE_ORDER_NUMBER}
    miss = await post(gateway, {"variables": variables, "extensions": persisted()})
    assert miss["errors"][0]["message"] == "PersistedQueryNotFound"
    assert codes(miss) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert gateway.calls("akinon", "/orders/") == []

    registered = await post(
        gateway, {"query": QUERY, "variables": variables, "extensions": persisted()}
    )
    assert registered["data"]["orderByNumber"]["number"] == EXAMPLE_ORDER_NUMBER

    hit = await post(gateway, {"variables": variables, "extensions": persisted()})
    assert "errors" not in hit
    assert hit["data"]["orderByNumber"]["number"] == EXAMPLE_ORDER_NUMBER


async def test_get_with_extensions_in_the_query_string(gateway: Gateway) -> None:
    variables = {"n": EXAMPLE_ORDER_NUMBER}
    status, miss = await get(gateway, variables=variables, extensions=persisted())
    assert codes(miss) == ["PERSISTED_QUERY_NOT_FOUND"]
    status, first = await get(gateway, query=QUERY, variables=variables, extensions=persisted())
    assert status == 200
    assert first["data"]["orderByNumber"]["number"] == EXAMPLE_ORDER_NUMBER
    status, hit = await get(gateway, variables=variables, extensions=persisted())
    assert status == 200
    assert hit["data"]["orderByNumber"]["number"] == EXAMPLE_ORDER_NUMBER


async def test_a_hash_that_does_not_match_is_refused_and_not_registered(
    gateway: Gateway,
) -> None:
    wrong = hashlib.sha256(b"something else").hexdigest()
    body = {"query": OTHER, "extensions": persisted(wrong)}
    answer = await post(gateway, body)
    assert codes(answer) == ["BAD_USER_INPUT"]
    assert "does not match" in answer["errors"][0]["message"]
    again = await post(gateway, {"extensions": persisted(wrong)})
    assert codes(again) == ["PERSISTED_QUERY_NOT_FOUND"]
    bad_version = await post(gateway, {"extensions": {"persistedQuery": {"version": 2}}})
    assert codes(bad_version) == ["BAD_USER_INPUT"]


@pytest.mark.parametrize("digest", [DIGEST.upper(), DIGEST + "\n", DIGEST[:63]])
async def test_a_hash_not_written_as_hexdigest_writes_it_is_refused_saying_how(
    gateway: Gateway, digest: str
) -> None:
    """A trailing newline passed the check (``$`` matches before one) and then missed."""
    answer = await post(gateway, {"query": QUERY, "extensions": persisted(digest)})
    assert codes(answer) == ["BAD_USER_INPUT"]
    message = "persistedQuery.sha256Hash must be 64 lower-case hex digits"
    assert answer["errors"][0]["message"] == message
    assert gateway.calls("akinon") == []


async def test_persisted_only_runs_registered_documents_alone(tmp_path: Path) -> None:
    manifest = tmp_path / "persisted.json"
    manifest.write_text(json.dumps({DIGEST: QUERY}))
    server = {"persisted_only": True, "persisted_queries": str(manifest)}
    async with gateway_with(names=("akinon",), server=server) as gw:
        variables = {"n": EXAMPLE_ORDER_NUMBER}
        by_hash = await post(gw, {"variables": variables, "extensions": persisted()})
        assert by_hash["data"]["orderByNumber"]["number"] == EXAMPLE_ORDER_NUMBER
        in_full = await post(gw, {"query": QUERY, "variables": variables})
        assert in_full["data"]["orderByNumber"]["number"] == EXAMPLE_ORDER_NUMBER

        other = hashlib.sha256(OTHER.encode()).hexdigest()
        refused = [
            await post(gw, {"query": OTHER}),
            await post(gw, {"query": OTHER, "extensions": persisted(other)}),
            await post(gw, {"extensions": persisted(other)}),  # registration is off
        ]
        for answer in refused:
            assert codes(answer) == ["PERSISTED_QUERY_NOT_IN_LIST"], answer
            assert answer.get("data") is None


async def test_a_manifest_whose_hash_is_wrong_fails_at_startup(tmp_path: Path) -> None:
    manifest = tmp_path / "persisted.json"
    manifest.write_text(json.dumps({"0" * 64: QUERY}))
    config, running = await start_sandboxes(("akinon",))
    config.server.extra.update(persisted_only=True, persisted_queries=str(manifest))
    try:
        with pytest.raises(ConfigError, match="not the sha256"):
            async with started(config):
                pass
    finally:
        for s in running:
            await s.close()


@pytest.mark.parametrize(
    ("manifest", "message"),
    [(None, "needs \\[server\\].persisted_queries = FILE"), ({}, "registers no document")],
)
def test_persisted_only_needs_a_file_with_documents(
    tmp_path: Path, manifest: dict[str, str] | None, message: str
) -> None:
    server: dict[str, Any] = {"persisted_only": True}
    if manifest is not None:
        server["persisted_queries"] = str(tmp_path / "persisted.json")
        (tmp_path / "persisted.json").write_text(json.dumps(manifest))
    with pytest.raises(ConfigError, match=message):
        PersistedQueries.from_config(Config.from_dict({"server": server}).server)


async def register_two_use_the_first_add_a_third(
    gw: Gateway, documents: list[str], digests: list[str]
) -> list[dict[str, Any]]:
    """Register two documents, run the first by its hash, register the third; then what each
    hash alone answers, in order."""
    for document, digest in zip(documents[:2], digests, strict=False):
        registered = await post(gw, {"query": document, "extensions": persisted(digest)})
        assert "errors" not in registered, registered
    assert "errors" not in await post(gw, {"extensions": persisted(digests[0])})
    await post(gw, {"query": documents[2], "extensions": persisted(digests[2])})
    return [await post(gw, {"extensions": persisted(d)}) for d in digests]


async def test_the_registered_cache_keeps_the_most_recently_used() -> None:
    """``apq_cache_size = 2``: registering a third document drops the one used least recently,
    not the one registered first."""
    documents = [f"{{ providers {{ {field} }} }}" for field in ("name", "configured", "built")]
    digests = [hashlib.sha256(d.encode()).hexdigest() for d in documents]
    async with gateway_with(names=("akinon",), server={"apq_cache_size": 2}) as gw:
        kept = await register_two_use_the_first_add_a_third(gw, documents, digests)
        assert [codes(answer) for answer in kept] == [[], ["PERSISTED_QUERY_NOT_FOUND"], []]
        assert "AKINON" in {p["name"] for p in kept[0]["data"]["providers"]}


def padded(field: str, size: int) -> str:
    """``{ providers { <field> } }`` under a comment that makes it ``size`` characters long: a
    comment is no token, so the limits let it through, however long."""
    body = f"{{ providers {{ {field} }} }}"
    return "#" + "x" * (size - len(body) - 2) + "\n" + body


async def test_the_registered_cache_is_bounded_in_bytes_too() -> None:
    """``apq_cache_bytes = 25000``: two documents of 10,000 characters fit, a third pushes out
    the one used least recently; a document larger than the whole bound runs, and is not kept
    (it would push out everything else)."""
    documents = [padded(field, 10_000) for field in ("name", "configured", "built")]
    digests = [hashlib.sha256(d.encode()).hexdigest() for d in documents]
    async with gateway_with(names=("akinon",), server={"apq_cache_bytes": 25_000}) as gw:
        kept = await register_two_use_the_first_add_a_third(gw, documents, digests)
        assert [codes(answer) for answer in kept] == [[], ["PERSISTED_QUERY_NOT_FOUND"], []]
        assert "AKINON" in {p["name"] for p in kept[0]["data"]["providers"]}
        cache = gw.app.state.view.persisted._cache
        assert list(cache) == [digests[0], digests[2]]
        assert cache.bytes == footprint(digests[0], documents[0]) + footprint(
            digests[2], documents[2]
        )
        assert 20_000 < cache.bytes <= 25_000

        huge = padded("name", 30_000)
        digest = hashlib.sha256(huge.encode()).hexdigest()
        ran = await post(gw, {"query": huge, "extensions": persisted(digest)})
        assert "errors" not in ran, ran
        assert codes(await post(gw, {"extensions": persisted(digest)})) == [
            "PERSISTED_QUERY_NOT_FOUND"
        ]
        assert list(cache) == [digests[0], digests[2]]


PAGE = "query Page($n: Int) { orders(first: $n) { totalCount } }"
REFUSED = [
    # (what, document, variables, code): each sent with its hash, each refused before it runs
    (
        "over max_tokens",
        " ".join(f"query Q{i} {{ providers {{ name }} }}" for i in range(600)),
        None,
        "QUERY_TOO_COMPLEX",
    ),
    ("a syntax error", "{ providers { name }", None, "BAD_USER_INPUT"),
    ("an unknown field", "{ providers { nope } }", None, "BAD_USER_INPUT"),
    ("over max_page_size", PAGE, {"n": 1000}, "BAD_USER_INPUT"),
]


@pytest.mark.parametrize(("what", "document", "variables", "code"), REFUSED)
async def test_a_refused_document_is_not_registered(
    gateway: Gateway, what: str, document: str, variables: dict[str, Any] | None, code: str
) -> None:
    """Registered only once it has run: a document refused by parsing, validation or the
    limits is not kept, and its hash alone answers PERSISTED_QUERY_NOT_FOUND (as Apollo's
    server does), not the refusal again; nothing reaches a provider."""
    digest = hashlib.sha256(document.encode()).hexdigest()
    body = {"query": document, "variables": variables, "extensions": persisted(digest)}
    refused = await post(gateway, body)
    assert codes(refused) == [code], (what, refused)
    assert "data" not in refused
    again = await post(gateway, {"variables": variables, "extensions": persisted(digest)})
    assert codes(again) == ["PERSISTED_QUERY_NOT_FOUND"], what
    assert digest not in gateway.app.state.view.persisted._cache
    assert gateway.calls("akinon", "/orders/") == []


async def test_a_document_refused_for_its_variables_is_registered_once_it_runs(
    gateway: Gateway,
) -> None:
    """The limits measure an operation with its variables: the same document, run with a page
    size the limits allow, is registered then, and its hash runs it."""
    digest = hashlib.sha256(PAGE.encode()).hexdigest()
    refused = await post(
        gateway, {"query": PAGE, "variables": {"n": 1000}, "extensions": persisted(digest)}
    )
    assert codes(refused) == ["BAD_USER_INPUT"]
    ran = await post(
        gateway, {"query": PAGE, "variables": {"n": 2}, "extensions": persisted(digest)}
    )
    assert "errors" not in ran, ran
    hit = await post(gateway, {"variables": {"n": 2}, "extensions": persisted(digest)})
    assert hit == ran


@pytest.mark.parametrize("size", [-1, True, "32MB"])
def test_apq_cache_bytes_must_be_a_whole_number(size: object) -> None:
    with pytest.raises(ConfigError, match=r"\[server\].apq_cache_bytes must be a whole number"):
        PersistedQueries.from_config(Config.from_dict({"server": {"apq_cache_bytes": size}}).server)
