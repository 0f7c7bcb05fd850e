"""Secrets stay secret: field scopes on every path a value can take, and a log canary."""

from __future__ import annotations

import json
import logging
import re
import secrets
from typing import Any
from urllib.parse import quote, quote_plus

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from graph.config import Config, embedded
from graph.logs import JsonFormatter
from providers.redact import MASK, SECRETS, Secrets, forms, runs
from providers.sandbox import akinon, kalixo, lipalater, lipalater_purchases
from providers.sandbox import frontpayment_data as fp
from providers.sandbox import kalixo_data as kx
from providers.sandbox import lipalater_data as ll
from providers.sandbox import lipalater_purchases_data as lp
from tests.conftest import gateway_with, started
from tests.harness import Gateway

AKINON_ORDER = '{ orderByNumber(provider: AKINON, number: "45243493") { id items { id } } }'
KALIXO_ORDER = f'orderByNumber(provider: KALIXO, number: "{kx.EXAMPLE_ORDER_ID}")'


def forbidden_paths(body: dict[str, Any]) -> set[tuple[Any, ...]]:
    return {
        tuple(e["path"])
        for e in body.get("errors") or []
        if e.get("extensions", {}).get("code") == "FORBIDDEN"
    }


async def test_scopes_hold_through_node_nodes_fragments_and_aliases() -> None:
    def add_a_reader(config: Config) -> None:
        config.server.api_keys["r"] = ["orders:read"]

    async with gateway_with(names=("akinon", "kalixo"), adjust=add_a_reader) as gw:
        item = (await gw.ok(AKINON_ORDER))["orderByNumber"]["items"][0]["id"]
        paths = {
            "node": (
                "query($i: ID!) { node(id: $i) { ... on OrderItem { codes { code } } } }",
                {("node", "codes")},
            ),
            "nodes + named fragment": (
                "query($i: ID!) { nodes(ids: [$i, $i]) { ...C } }\n"
                "fragment C on OrderItem { sku codes { code } }",
                {("nodes", 0, "codes"), ("nodes", 1, "codes")},
            ),
            "aliases": (
                "query($i: ID!) { x: node(id: $i) { ... on OrderItem { pins: codes { code } "
                "o: order { r: raw } } } }",
                {("x", "pins"), ("x", "o", "r")},
            ),
            "item.order.items": (
                "query($i: ID!) { node(id: $i) { ... on OrderItem { order { items { codes "
                "{ code } } shippingAddress { identityNumber taxNumber } } } } }",
                None,
            ),
        }
        for name, (document, expected) in paths.items():
            answer = await gw.query(document, {"i": item}, key="r")
            got = forbidden_paths(answer.body)
            assert got, name
            assert len(got) == len(answer.errors), (name, answer.errors)
            if expected is not None:
                assert got == expected, name
        pii = forbidden_paths(
            (await gw.query(paths["item.order.items"][0], {"i": item}, key="r")).body
        )
        assert ("node", "order", "shippingAddress", "identityNumber") in pii
        assert ("node", "order", "shippingAddress", "taxNumber") in pii
        # Kalixo PINs: refused to a key without pins:read, and never in raw for any key.
        refused = await gw.query(
            f"{{ {KALIXO_ORDER} {{ items {{ codes {{ code }} }} }} }}", key="r"
        )
        assert {p[-1] for p in forbidden_paths(refused.body)} == {"codes"}
        assert kx.EXAMPLE_PIN not in str(refused.body)
        raw = await gw.ok(f"{{ {KALIXO_ORDER} {{ raw items {{ order {{ raw }} }} }} }}")
        assert raw["orderByNumber"]["raw"]
        assert kx.EXAMPLE_PIN not in str(raw)
        assert "'pin'" not in str(raw).lower()  # the key itself is scrubbed from raw


def known_secrets(gw: Gateway) -> set[str]:
    """Every credential in the config, the tokens the sandboxes issued, and the PINs."""
    secret_keys = ("password", "secret", "token", "api_key", "key")
    found = {
        str(value)
        for section in gw.config.providers.values()
        for name, value in section.items()
        if any(k in name for k in secret_keys) and isinstance(value, str) and len(value) >= 6
    }
    apps = {name: s.app for name, s in gw.sandboxes.items()}
    if (key := apps["akinon"][akinon.STATE].key) is not None:
        found.add(key)
    found |= set(apps["lipalater"][lipalater.STATE].tokens)
    found |= set(apps["lipalater_purchases"][lipalater_purchases.STATE].tokens)
    state = apps["kalixo"][kalixo.STATE]
    found |= {pin for order in state.orders.values() for line in order.lines for pin in line.pins}
    return found


CANARY_RUN = [
    (AKINON_ORDER, None),
    (f"{{ {KALIXO_ORDER} {{ id raw items {{ sku }} }} }}", None),
    ('{ orderByNumber(provider: KALIXO, number: "1") { id } }', None),
    (
        "query($n: String!) { orderByNumber(provider: LIPALATER, number: $n, "
        'customerId: "100001") { id raw } }',
        {"n": str(ll.FIRST_ORDER_NO)},
    ),
    (
        "query($n: String!) { orderByNumber(provider: LIPALATER_PURCHASES, number: $n) { id } }",
        {"n": lp.EXAMPLE_ORDER_ID},
    ),
    (
        "query($n: String!) { orderByNumber(provider: FRONTPAYMENT, number: $n) { id raw } }",
        {"n": fp.EXAMPLE_UUID},
    ),
    ('{ orderByNumber(provider: FRONTPAYMENT, number: "ODR000000000") { id } }', None),
    ("{ orders(first: 5) { nodes { number raw } } }", None),
]


async def test_log_canary_finds_no_secret_in_logs_or_errors(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    answers = []
    with caplog.at_level(logging.DEBUG):
        for document, variables in CANARY_RUN:
            answers.append(await gateway.query(document, variables))
        place = await gateway.query(
            """mutation($in: PlaceOrderInput!) { placeOrder(input: $in) {
                order { id } userErrors { code message } } }""",
            {
                "in": {
                    "provider": "KALIXO",
                    "externalReference": "O-CANARY",
                    "currency": "GBP",
                    "items": [
                        {
                            "productId": "2",
                            "sku": "GB-EN-4251604177278",
                            "unitPrice": "32.99",
                            "quantity": 1,
                        }
                    ],
                }
            },
        )
        answers.append(place)
    secrets = known_secrets(gateway)
    assert kx.EXAMPLE_PIN in secrets
    assert len(secrets) >= 8  # credentials of five providers, issued tokens, PINs
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert len(caplog.records) > 10
    errors = str([a.errors for a in answers])
    assert any(a.errors for a in answers)  # the unknown orders answered errors
    bodies = str([a.body for a in answers])  # no `codes` asked for: no PIN in the data either
    leaked = {s for s in secrets if s in logged or s in errors or s in bodies}
    assert leaked == set()


def raw_values(data: Any) -> list[Any]:
    """Every ``raw`` in an answer's data, at any depth."""
    if isinstance(data, dict):
        own = [data["raw"]] if "raw" in data else []
        return own + [r for k, v in data.items() if k != "raw" for r in raw_values(v)]
    if isinstance(data, list):
        return [r for v in data for r in raw_values(v)]
    return []


async def test_raw_never_holds_a_personal_number() -> None:
    """raw:read without pii:read once showed Akinon's identity_number and tax_no in ``raw``:
    the raw scrubber masks every personal number, for every key; pii:read reads them from the
    typed fields."""

    def add_keys(config: Config) -> None:
        config.server.api_keys["raw-only"] = ["orders:read", "raw:read"]

    document = """{ customerAddresses(first: 100) { nodes { identityNumber taxNumber raw } }
        orders(first: 20) { nodes { shippingAddress { identityNumber raw }
            billingAddress { taxNumber raw } raw } } }"""
    async with gateway_with(names=("akinon",), adjust=add_keys) as gw:
        seeded = [row.data for row in gw.sandboxes["akinon"].app[akinon.STATE].data.addresses]
        numbers = {str(a[k]) for a in seeded for k in ("identity_number", "tax_no") if a[k]}
        assert len(numbers) > 300  # every address has an identity number, companies a tax one
        for key in ("raw-only", "dev-key"):
            answer = await gw.query(document, key=key)
            raws = [n["raw"] for n in answer.data["customerAddresses"]["nodes"]]
            assert len(raws) == 100
            assert {r["identity_number"] for r in raws} == {MASK}
            assert {r["tax_no"] for r in raws} == {MASK, None}  # a null one stays null
            shown_raw = str(raw_values(answer.data))
            assert "shipping_address" in shown_raw  # the orders' raw too
            assert [n for n in numbers if n in shown_raw] == [], key
            if key == "raw-only":
                assert [n for n in numbers if n in str(answer.body)] == []
        typed = await gw.ok(document)  # the development key has pii:read
        shown = [n["identityNumber"] for n in typed["customerAddresses"]["nodes"]]
        assert len(shown) == 100
        assert set(shown) <= numbers
        assert {n["taxNumber"] for n in typed["customerAddresses"]["nodes"]} - {None} <= numbers
        refused = await gw.query(document, key="raw-only")
        assert {e["extensions"]["code"] for e in refused.errors} == {"FORBIDDEN"}
        assert {e["path"][-1] for e in refused.errors} == {"identityNumber", "taxNumber"}


# -- an upstream that hands back what it was sent ----------------------------------------

ISSUED = "Iss+ued/T0ken=="  # what Echo's token endpoints issue: base64's + / = need encoding
TOKEN_PATHS = ("/platform/token/", "/oauth/token", "/auth/login", "/auth/login/", "/auth/refresh")
# The headers that carry a credential: their values must never come back to a client.
CREDENTIAL_HEADERS = ("authorization", "authentication", "sign")


class Echo:
    """A misbehaving upstream: each error answer echoes the request's headers, query and body,
    in every field a provider's error envelope reads its message or code from, and its last
    credential in ``X-Request-ID``. With ``issue`` its token endpoints first answer a token
    (``ISSUED``) in every provider's shape, so the call that carries the token is the one
    echoed. ``style`` is how the echo is written: ``text``; an ``object`` (a provider's
    message as a dict, which a connector must quote); percent-escapes in ``lowerhex`` (.NET's
    ``HttpUtility``); or ``dotnet``, System.Text.Json's escapes of ``+<>&'"``."""

    def __init__(self, *, issue: bool, style: str = "text") -> None:
        self.issue = issue
        self.style = style
        self.seen: list[str] = []  # every credential header value it was sent
        self.app = web.Application()
        self.app.router.add_route("*", "/{tail:.*}", self.answer)

    async def answer(self, request: web.Request) -> web.Response:
        for name, value in request.headers.items():
            if name.lower() in CREDENTIAL_HEADERS:
                self.seen += [value, value.partition(" ")[2]]  # "Basic X": X alone too
        if self.issue and request.path.endswith(TOKEN_PATHS):
            issued = {"accessToken": ISSUED, "expiresSeconds": 300}
            token = {"access_token": ISSUED, "expires_in": 300, "key": ISSUED, "token": ISSUED}
            return web.json_response({"success": True, "code": 0, "data": issued} | token)
        body = await request.text()
        echo: Any = f"refused {request.path_qs} with {dict(request.headers)} and {body}"
        if self.style == "lowerhex":
            echo = re.sub(r"%[0-9A-F]{2}", lambda escape: escape[0].lower(), echo)
        elif self.style == "object":
            echo = {"refused": {"headers": dict(request.headers), "body": body}}
        fields = ("msg", "message", "detail", "error", "error_description", "code", "statusCode")
        text = json.dumps({"success": False} | dict.fromkeys(fields, echo))
        if self.style == "dotnet":
            text = re.sub("[+<>&']", lambda char: f"\\u{ord(char[0]):04X}", text)
        headers = {"X-Request-ID": self.seen[-1]} if self.seen and self.seen[-1] else {}
        return web.Response(text=text, status=400, content_type="application/json", headers=headers)


FP = "frontpayment"  # a static token only: nothing is issued
# Each provider's credentials, with the characters that change when encoded: quote and
# quote_plus (a form or a query), JSON (a body), and a secret short of six characters.
ECHOED: dict[str, dict[str, str]] = {
    "lipalater": {
        "api_key": "LL-API-KEY-abcdef",
        "api_secret": "LL-API-SECRET-xyz",
        "app_secret": "a+p/p=",
    },
    "lipalater_purchases": {"client_id": "lp-client", "client_secret": "Zm9v+YmFy/c2VjcmV0=="},
    "kalixo": {"email": "ops@shop.example", "password": 's3cr"et\\pass wörd'},
    "akinon": {"username": "seller", "password": "ak pass&word=/+1"},
    FP: {"token": "tok42"},
}
NOT_SECRET = ("client_id", "email", "username")  # names, not credentials
ECHO_STYLES = ("text", "object", "lowerhex", "dotnet")
PLACE_ECHOED = """mutation($in: PlaceOrderInput!) { placeOrder(input: $in) {
    order { id } userErrors { message code providerCode } } }"""
READ_ECHOED = {
    "lipalater": '(provider: LIPALATER, number: "8800000001", customerId: "100001")',
    "lipalater_purchases": f'(provider: LIPALATER_PURCHASES, number: "{lp.EXAMPLE_ORDER_ID}")',
    "kalixo": '(provider: KALIXO, number: "59400")',
    "akinon": '(provider: AKINON, number: "45243493")',
    FP: f'(provider: FRONTPAYMENT, number: "{fp.EXAMPLE_UUID}")',
}


def echoed_documents(name: str) -> list[tuple[str, dict[str, Any] | None]]:
    """What the test asks of ``name``: an order, and for Kalixo a placement as well (a refusal
    is then a userError with the provider's code)."""
    read = (f"{{ orderByNumber{READ_ECHOED[name]} {{ id }} }}", None)
    if name != "kalixo":
        return [read]
    item = {"productId": "2", "sku": "S", "unitPrice": "32.99", "quantity": 1}
    place = {"provider": "KALIXO", "externalReference": "O-ECHO", "currency": "GBP"}
    return [read, (PLACE_ECHOED, {"in": place | {"items": [item]}})]


def travelling_forms(value: str) -> set[str]:
    """``value`` as it may come back: itself, URL-encoded (upper- or lower-case hex),
    JSON-escaped (by Python, or System.Text.Json's way) or in Python's repr."""
    url = {value, quote(value), quote(value, safe=""), quote_plus(value)}
    url |= {re.sub(r"%[0-9A-F]{2}", lambda e: e[0].lower(), v) for v in url}
    escaped = {json.dumps(v, ensure_ascii=a)[1:-1] for v in url for a in (True, False)}
    dotnet = {re.sub("[+<>&']", lambda c: f"\\u{ord(c[0]):04X}", v) for v in escaped}
    return url | escaped | dotnet | {repr(v)[1:-1] for v in url}


def strings(data: Any) -> list[str]:
    """Every string in a JSON value, keys included."""
    if isinstance(data, dict):
        return [s for k, v in data.items() for s in [str(k), *strings(v)]]
    if isinstance(data, list):
        return [s for v in data for s in strings(v)]
    return [str(data)] if data is not None else []


@pytest.mark.parametrize(
    ("name", "issue", "style"),
    [(name, False, style) for name in ECHOED for style in ECHO_STYLES]
    + [(name, True, "text") for name in ECHOED if name != FP],
    ids=lambda v: {False: "first-call-echoed", True: "token-echoed"}.get(v, v),
)
async def test_an_upstream_echoing_credentials_gets_them_masked(
    name: str, issue: bool, style: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Lipa Later's error once showed ``bad auth Basic TEwt...`` (api_key:api_secret) and the
    Sign; Lipa Later purchases the URL-encoded client_secret, Kalixo the JSON-escaped
    password, and a five-character token was never masked: only the raw value was. Then:
    a message that was an object was quoted in Python's repr, an escape unknown to masking;
    lower-case percent-escapes and System.Text.Json's ``\\u002B`` went unmasked; and the
    provider's ``X-Request-ID`` became ``providerRequestId`` as it came."""
    echo = Echo(issue=issue, style=style)
    async with TestServer(echo.app) as upstream:
        config = embedded({name: (f"http://127.0.0.1:{upstream.port}", ECHOED[name])})
        with caplog.at_level(logging.DEBUG):
            async with started(config) as gw:
                answers = [await gw.query(*document) for document in echoed_documents(name)]
    shown = [s for answer in answers for s in strings(answer.body)]
    for answer in answers:  # the echo came back (in an error or a userError), masked
        assert any(MASK in s for s in strings(answer.body)), answer.body
    if issue:
        assert ISSUED in echo.seen  # the call carried the issued token, and had it echoed
    formatter = JsonFormatter()
    lines = [formatter.format(r) for r in caplog.records]
    shown += lines + [s for line in lines for s in strings(orjson.loads(line))]
    sent = [v for k, v in ECHOED[name].items() if k not in NOT_SECRET] + echo.seen
    leaked = {f for v in sent if v for f in travelling_forms(v) if any(f in s for s in shown)}
    assert leaked == set()


@pytest.mark.parametrize(
    "value",
    [*ECHOED["kalixo"].values(), "ak pass&word=/+1", ISSUED, "+/=", "sandbox-lipalater-api-secret"],
)
def test_every_form_of_a_secret_holds_each_of_its_runs(value: str) -> None:
    """Masking skips a text missing one of a secret's runs of letters and digits: making
    every form of Lipa Later's Sign for each answer cost about 100 us a call, and matching
    every line against every form a few us a line."""
    assert all(run in form for form in forms(value) for run in runs(value))


def test_a_text_with_a_secrets_words_but_not_the_secret_is_left_as_it_is() -> None:
    secrets_ = Secrets()
    secrets_.add("sandbox-lipalater-api-secret")
    line = '{"provider": "lipalater", "message": "upstream call", "endpoint": "/api/secret"}'
    assert not secrets_.found(line)
    assert secrets_.redact(line) == line
    assert secrets_.redact(f"{line} sandbox-lipalater-api-secret") == f"{line} {MASK}"


async def test_a_token_cache_keeps_two_tokens_registered_however_many_it_had() -> None:
    """Every token a cache was issued stayed registered: a gateway up for weeks renews
    thousands (Lipa Later's live five minutes), and each one made every log line slower to
    mask. The token in use and the one it replaced are masked; older ones are forgotten."""
    issued: list[str] = []

    async def revoking(request: web.Request) -> web.Response:
        if request.path.endswith("/oauth/token"):
            issued.append(secrets.token_urlsafe(16))
            return web.json_response({"access_token": issued[-1], "expires_in": 300})
        return web.json_response({"detail": "token revoked"}, status=401)  # renewed once

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", revoking)
    section = {"client_id": "lp-client", "client_secret": "lp-client-secret"}
    async with TestServer(app) as upstream:
        config = embedded({"lipalater_purchases": (f"http://127.0.0.1:{upstream.port}", section)})
        async with started(config) as gw:
            for _ in range(4):
                answer = await gw.query(
                    f"{{ orderByNumber{READ_ECHOED['lipalater_purchases']} {{ id }} }}"
                )
                assert answer.errors
    assert len(issued) == 5  # the first query had two, each other one
    assert [SECRETS.redact(t) == MASK for t in issued] == [False, False, False, True, True]


async def test_a_purchases_sandbox_token_is_the_same_for_its_seed_and_still_masked() -> None:
    """The purchases sandbox's tokens were secrets.token_urlsafe(32); now drawn from its seed,
    every gateway over a fresh sandbox is issued the same first token. It is registered as a
    secret as it is issued, as before, however many gateways were issued it."""
    read = "query($n: String!) { orderByNumber(provider: LIPALATER_PURCHASES, number: $n) { id } }"
    issued = []
    for _ in range(2):
        async with gateway_with(names=("lipalater_purchases",)) as gw:
            await gw.ok(read, {"n": lp.EXAMPLE_PURCHASE_ID})
            tokens = gw.sandboxes["lipalater_purchases"].app[lipalater_purchases.STATE].tokens
            [token] = set(tokens) - {lipalater_purchases.STATIC_TOKEN}
            assert SECRETS.redact(f"Bearer {token}") == f"Bearer {MASK}"
            issued.append(token)
    assert issued[0] == issued[1]
