"""The gateway's own contract: auth and scopes, providers, unsupported operations, the schema."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from graph import ids
from graph.config import Config
from graph.schema import sdl
from providers.model import ProviderName
from providers.sandbox import akinon_data as data
from tests.conftest import gateway_with
from tests.harness import Gateway

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = '{ orderByNumber(provider: AKINON, number: "45243493") { number } }'


async def test_no_key_is_401_unauthenticated(gateway: Gateway) -> None:
    for key in (None, "wrong-key"):
        answer = await gateway.query(EXAMPLE, key=key)
        assert answer.status == 401
        assert answer.codes == ["UNAUTHENTICATED"]
        assert "data" not in answer.body
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert gateway.calls("akinon") == []


async def test_a_field_needing_a_missing_scope_is_forbidden_alone() -> None:
    keys = {"reader": ["orders:read"], "nobody": []}
    async with gateway_with(names=("akinon",), server={"api_keys": keys}) as gw:
        address = ids.encode("CustomerAddress", ProviderName.AKINON, data.EXAMPLE_ADDRESS_ID)
        document = """query($id: ID!) { node(id: $id) {
            ... on CustomerAddress { email identityNumber taxNumber }
        } }"""
        answer = await gw.query(document, {"id": address}, key="reader")
        assert answer.status == 200
        assert answer.data == {
            "node": {"email": "akinon@akinon.com", "identityNumber": None, "taxNumber": None}
        }
        assert answer.codes == ["FORBIDDEN", "FORBIDDEN"]
        assert {tuple(e["path"]) for e in answer.errors} == {
            ("node", "identityNumber"),
            ("node", "taxNumber"),
        }
        denied = await gw.query(EXAMPLE, key="nobody")
        assert denied.codes == ["FORBIDDEN"]
        assert denied.data == {"orderByNumber": None}
        written = await gw.query(
            'mutation { rejectOrderItem(input: {itemId: "x"}) { userErrors { code } } }',
            key="reader",
        )
        assert written.codes == ["FORBIDDEN"]


async def test_providers_lists_every_provider_with_capabilities(gateway: Gateway) -> None:
    answer = await gateway.ok(
        "{ providers { name configured built capabilities health { status } } }"
    )
    by_name = {p["name"]: p for p in answer["providers"]}
    assert list(by_name) == ["LIPALATER", "LIPALATER_PURCHASES", "FRONTPAYMENT", "KALIXO", "AKINON"]
    assert by_name["AKINON"]["configured"] is True
    assert by_name["AKINON"]["health"] == {"status": "UP"}
    assert "LIST_ORDERS" in by_name["AKINON"]["capabilities"]
    for info in by_name.values():
        assert info["configured"] == info["built"]


async def test_an_operation_a_provider_lacks_is_unsupported(gateway: Gateway) -> None:
    order = ids.encode("Order", ProviderName.AKINON, data.EXAMPLE_ORDER_ID)
    answer = await gateway.query(
        """mutation($id: ID!) { confirmOrder(input: {orderId: $id, installPlanId: "1"}) {
            order { id } userErrors { code } } }""",
        {"id": order},
    )
    assert answer.codes == ["UNSUPPORTED_OPERATION"]
    assert answer.errors[0]["extensions"]["provider"] == "AKINON"
    assert answer.errors[0]["message"] == "akinon: does not support confirming orders"


async def test_a_provider_left_out_of_the_config_is_unsupported() -> None:
    async with gateway_with(names=("akinon",)) as gw:
        answer = await gw.query('{ orderByNumber(provider: KALIXO, number: "1") { id } }')
        assert answer.codes == ["UNSUPPORTED_OPERATION"]
        assert answer.errors[0]["message"] == "kalixo: not configured in this gateway"
        assert answer.errors[0]["extensions"]["provider"] == "KALIXO"
        info = await gw.ok("{ providers { name configured health { status } } }")
        kalixo = next(p for p in info["providers"] if p["name"] == "KALIXO")
        assert kalixo == {
            "name": "KALIXO",
            "configured": False,
            "health": {"status": "NOT_CONFIGURED"},
        }


async def test_a_list_no_configured_provider_serves_is_unsupported_and_names_none() -> None:
    async with gateway_with(names=("kalixo", "frontpayment")) as gw:
        answer = await gw.query("{ customerAddresses(first: 1) { totalCount } }")
        assert answer.codes == ["UNSUPPORTED_OPERATION"]
        error = answer.errors[0]
        assert error["message"] == "no configured provider supports customer addresses"
        assert error["extensions"] == {"code": "UNSUPPORTED_OPERATION"}
        assert error["path"] == ["customerAddresses"]


async def test_request_id_is_kept_and_returned(gateway: Gateway) -> None:
    answer = await gateway.query(EXAMPLE, headers={"X-Request-ID": "trace-123"})
    assert answer.headers["x-request-id"] == "trace-123"
    made = await gateway.query(EXAMPLE)
    assert len(made.headers["x-request-id"]) == 32


async def test_graphiql_page_needs_no_key(gateway: Gateway) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(gateway.url, headers={"Accept": "text/html"}) as response:
            assert response.status == 200
            assert "graphiql" in (await response.text()).lower()


def test_schema_graphql_is_what_the_code_prints() -> None:
    assert (ROOT / "schema.graphql").read_text() == sdl()
    printed = subprocess.run(
        [sys.executable, "-m", "graph.cli", "export-schema"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert printed.stdout == sdl()


def test_config_file_is_read_and_checked(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(
        '[server]\napi_keys = { "k1" = ["orders:read"] }\nmode = "production"\n'
        '[providers.akinon]\nbase_url = "https://seller.example.com"\ntoken = "t0ken-value"\n'
    )
    config = Config.load(good)
    assert config.server.production
    assert config.server.api_keys == {"k1": ["orders:read"]}
    assert config.providers["akinon"]["base_url"] == "https://seller.example.com"
    bad = tmp_path / "bad.toml"
    bad.write_text('[server]\napi_keys = { "k1" = ["orders:everything"] }\n')
    result = subprocess.run(
        [sys.executable, "-m", "graph.cli", "serve", "--config", str(bad)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert "unknown scopes ['orders:everything']" in result.stderr


NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Order { number } } }"


async def test_nodes_answers_every_id_it_can_beside_the_errors_of_the_rest() -> None:
    akinon = ids.encode("Order", ProviderName.AKINON, data.EXAMPLE_ORDER_ID)
    async with gateway_with() as gw:
        found = await gw.ok('{ orderByNumber(provider: KALIXO, number: "59400") { id } }')
        kalixo = found["orderByNumber"]["id"]

        answer = await gw.query(NODES, {"ids": ["not-an-id", akinon]})
        assert answer.data == {"nodes": [None, {"id": akinon, "number": "45243493"}]}
        assert [(e["path"], e["extensions"]["code"]) for e in answer.errors] == [
            (["nodes", 0], "BAD_USER_INPUT")
        ]

        gw.clear_calls()
        gw.faults("kalixo").update({"malformed": True})
        answer = await gw.query(NODES, {"ids": [akinon, kalixo, akinon]})
        order = {"id": akinon, "number": "45243493"}
        assert answer.data == {"nodes": [order, None, order]}
        assert [(e["path"], e["extensions"]["provider"]) for e in answer.errors] == [
            (["nodes", 1], "KALIXO")
        ]
        assert len(gw.calls("akinon", "/orders/")) == 1  # the two reads of one order, one call


@pytest.mark.parametrize(
    ("provider", "number", "customer"),
    [
        ("AKINON", "45243493", None),
        ("KALIXO", "59400", None),
        ("FRONTPAYMENT", "ODR986760186", None),
        ("LIPALATER", "8800000001", "100001"),
        ("LIPALATER_PURCHASES", "e87a57de-4fe3-447e-bfdf-89b9a1a6cd4f", None),
    ],
)
async def test_a_number_pasted_with_spaces_around_it_finds_its_order(
    gateway: Gateway, provider: str, number: str, customer: str | None
) -> None:
    """Trimmed once, for every provider: Lipa Later refused " 8800000001" as BAD_USER_INPUT
    while the others found their order."""
    document = """query($p: Provider!, $n: String!, $c: String) {
        orderByNumber(provider: $p, number: $n, customerId: $c) { id } }"""
    exact = await gateway.ok(document, {"p": provider, "n": number, "c": customer})
    padded = {"p": provider, "n": f" {number}\t", "c": None if customer is None else f"{customer} "}
    assert await gateway.ok(document, padded) == exact
    assert exact["orderByNumber"] is not None


async def test_an_id_is_taken_only_as_it_was_given_out(gateway: Gateway) -> None:
    """Base64 decoding skips stray characters and takes padding: ``<id>!!`` found the order
    and answered ``<id>``, so the id sent and the id returned differed."""
    document = "query($id: ID!) { node(id: $id) { id } }"
    kalixo = ids.encode("Order", ProviderName.KALIXO, "59400")
    assert await gateway.ok(document, {"id": kalixo}) == {"node": {"id": kalixo}}
    for variant in (f"{kalixo}!!", f"{kalixo}==", f" {kalixo}", kalixo.replace("O", "O\n", 1)):
        answer = await gateway.query(document, {"id": variant})
        assert answer.codes == ["BAD_USER_INPUT"], variant
        assert answer.errors[0]["message"] == f"{variant!r} is not a valid id"
    item = ids.encode("OrderItem", ProviderName.KALIXO, "59400/1")
    wrong = await gateway.query("query($id: ID!) { order(id: $id) { id } }", {"id": item})
    assert wrong.errors[0]["message"] == f"{item!r} is the id of an OrderItem, not of an Order"


async def test_providers_settings_show_the_currency_each_provider_works_in(
    gateway: Gateway,
) -> None:
    """Kalixo showed ``currency: null`` where it places and reads GBP unless configured."""
    found = await gateway.ok("{ providers { name settings } }")
    currencies = {p["name"]: p["settings"]["currency"] for p in found["providers"]}
    assert currencies == {
        "AKINON": "USD",
        "FRONTPAYMENT": "NOK",
        "KALIXO": "GBP",
        "LIPALATER": "KES",
        "LIPALATER_PURCHASES": "KES",
    }
