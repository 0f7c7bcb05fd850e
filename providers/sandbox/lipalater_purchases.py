"""Sandbox of Lipa Later core v2 purchases (seed page 001).

OAuth2 client credentials at ``POST /api/v2/oauth/token``; purchases at ``/api/v2/purchases``
(create, get, update, cancel). Success envelope ``{apiVersion: "2.0", status, order_id, data}``;
errors ``{type, title, status, detail}``, except validation errors, which carry ``details``
(field -> messages) instead. Every answer carries ``X-Request-ID`` (the client's, else one
made from the seed, so runs repeat). Statuses are the ones PROVIDERS.md lists (400, 401, 402,
403, 404, 429, 5xx): a refused status change or cancel (a second cancel included) is a 400
``invalid-state-transition``, there is no 409. A second cancel is that 400 ("is already
cancelled") by DELETE and by a PUT of ``facility_status: cancelled`` alike; the page shows
neither, nor a PUT of a purchase's own status, and any other status PUT again changes nothing.
Issued tokens come from a seeded source apart from ``rng``, so runs repeat and purchase ids do
not depend on logins. An injected fault (``Faults.error_body`` "provider") is a problem named
after its status (``.../problems/service-unavailable``); on the token route, OAuth's error.

``app[STATE].expires_in_as_text`` makes the token endpoint answer ``expires_in`` as a numeric
string ("7198"), as some OAuth servers do.
"""

from __future__ import annotations

import base64
import json
import math
import random
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from providers.sandbox.faults import Faults, json_response, phrase, sandbox_app
from providers.sandbox.lipalater_purchases_data import (
    FACILITY_STATUSES,
    TRANSITIONS,
    FieldErrors,
    Purchase,
    choice,
    example_purchases,
    generated_purchases,
    iso_ms,
    parse_item,
    parse_order_id,
    text,
    uuid4,
)

CREDENTIALS: dict[str, str] = {
    "client_id": "sandbox-client-id",
    "client_secret": "sandbox-client-secret",
}
# The bearer token of the page's own GET example.
STATIC_TOKEN = "Xq3P06LFD5p0yRy6ZoVGY13gY8UeKU4Oi_S1K9sA54M"
TOKEN_TTL_S = 7198
SCOPES = frozenset({"read", "write"})
API_VERSION = "2.0"
PROBLEM_BASE = "https://core-v2-multi-country.herokuapp.com/problems/"

PURCHASES = "/api/v2/purchases"
TOKEN_PATH = "/api/v2/oauth/token"

# Heroku's router keeps a client's X-Request-ID of this shape and replaces any other.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9+/=-]{20,200}$")


@dataclass(frozen=True)
class IssuedToken:
    scopes: frozenset[str]
    expires_at: float  # time.monotonic(); inf for the static token


@dataclass
class LipaLaterPurchasesState:
    """Purchases by id, the order -> loan application map and the issued tokens."""

    rng: random.Random
    token_ttl_s: int
    # X-Request-IDs of its own, from a source apart from ``rng``'s ids: deterministic, and the
    # ids of purchases do not depend on how many requests came before.
    request_ids: random.Random
    # Access tokens, likewise from a source of their own.
    token_rng: random.Random
    purchases: dict[str, Purchase] = field(default_factory=dict)
    applications: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, IssuedToken] = field(default_factory=dict)
    # Knob: ``expires_in`` as a numeric string ("7198") instead of a number.
    expires_in_as_text: bool = False

    def add(self, purchase: Purchase) -> None:
        self.purchases[purchase.id] = purchase
        self.applications.setdefault(purchase.order_id, purchase.loan_application_detail_id)


STATE = web.AppKey("state", LipaLaterPurchasesState)


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str | None = None,
    details: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    body: dict[str, Any] = {"type": PROBLEM_BASE + slug, "title": title, "status": status}
    if details is not None:
        body["details"] = details
    else:
        body["detail"] = detail
    return json_response(body, status, headers)


# OAuth's error codes for an injected fault on the token route; RFC 6749 names no others that fit.
_OAUTH_FAULTS = {400: "invalid_request", 401: "invalid_client", 503: "temporarily_unavailable"}


def fault_body(status: int, path: str) -> dict[str, Any]:
    """The body of an injected error of ``status`` at ``path``: a problem, or OAuth's error."""
    title = phrase(status)
    if path == TOKEN_PATH:
        return {"error": _OAUTH_FAULTS.get(status, "server_error"), "error_description": title}
    slug = "-".join(title.lower().replace("'", "").split())
    detail = "The access token is invalid" if status == 401 else title
    return {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail}


def _not_found(purchase_id: str) -> web.Response:
    return problem(404, "not-found", "Not Found", f"Item with ID {purchase_id} was not found")


def _refused_transition(detail: str) -> web.Response:
    """A status change (or cancel) the purchase's state does not allow: a 400, as listed."""
    return problem(400, "invalid-state-transition", "Bad Request", detail)


def _already_cancelled(purchase_id: str) -> str:
    return f"Item with ID {purchase_id} is already cancelled"


def _now() -> str:
    return iso_ms(datetime.now(UTC))


# --- OAuth2 token --------------------------------------------------------------------------


def _oauth_error(status: int, error: str, description: str) -> web.Response:
    body = {"error": error, "error_description": description}
    return json_response(body, status, {"Cache-Control": "no-store", "Pragma": "no-cache"})


async def _token_params(request: web.Request) -> dict[str, str] | None:
    if request.content_type == "application/json":
        try:
            raw = await request.json()
        except ValueError:
            return None
        if not isinstance(raw, dict):
            return None
        return {str(k): str(v) for k, v in raw.items() if v is not None}
    form = await request.post()
    return {k: v for k, v in form.items() if isinstance(v, str)}


async def token(request: web.Request) -> web.Response:
    params = await _token_params(request)
    if params is None:
        return _oauth_error(400, "invalid_request", "The request body could not be parsed.")
    grant_type = params.get("grant_type")
    if not grant_type:
        return _oauth_error(400, "invalid_request", "Missing required parameter: grant_type.")
    if grant_type != "client_credentials":
        return _oauth_error(
            400,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server.",
        )
    client = (params.get("client_id"), params.get("client_secret"))
    if client != (CREDENTIALS["client_id"], CREDENTIALS["client_secret"]):
        return _oauth_error(
            401,
            "invalid_client",
            "Client authentication failed due to unknown client, no client authentication "
            "included, or unsupported authentication method.",
        )
    scopes = params.get("scope", "read write").split()
    if not scopes or not SCOPES.issuperset(scopes):
        return _oauth_error(
            400, "invalid_scope", "The requested scope is invalid, unknown, or malformed."
        )
    state = request.app[STATE]
    # 32 random bytes in URL-safe base64, as secrets.token_urlsafe(32) makes them.
    access_token = base64.urlsafe_b64encode(state.token_rng.randbytes(32)).rstrip(b"=").decode()
    expires_at = time.monotonic() + state.token_ttl_s
    state.tokens[access_token] = IssuedToken(frozenset(scopes), expires_at)
    body = {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": str(state.token_ttl_s) if state.expires_in_as_text else state.token_ttl_s,
        "scope": " ".join(scopes),
        "created_at": int(time.time()),
    }
    return json_response(body, 200, {"Cache-Control": "no-store", "Pragma": "no-cache"})


def _refuse_token(request: web.Request, scope: str) -> web.Response | None:
    """The 401/403 answer for a request without a live token of ``scope``, else None."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return _unauthorized("The access token is missing")
    issued = request.app[STATE].tokens.get(value.strip())
    if issued is None:
        return _unauthorized("The access token is invalid")
    if time.monotonic() >= issued.expires_at:
        return _unauthorized("The access token expired")
    if scope not in issued.scopes:
        return problem(
            403, "insufficient-scope", "Forbidden", f"The access token lacks the {scope} scope"
        )
    return None


def _unauthorized(detail: str) -> web.Response:
    challenge = f'Bearer error="invalid_token", error_description="{detail}"'
    return problem(
        401, "unauthorized", "Unauthorized", detail, headers={"WWW-Authenticate": challenge}
    )


# --- validation ----------------------------------------------------------------------------


def _validation_error(errors: dict[str, list[str]]) -> web.Response:
    return problem(400, "validation-error", "Validation Error", details=errors)


async def _json_body(request: web.Request) -> Any:
    """The parsed body; raises ValueError on a body that is not JSON."""
    return json.loads(await request.text())


# --- purchases -----------------------------------------------------------------------------


async def create_purchases(request: web.Request) -> web.Response:
    if refusal := _refuse_token(request, "write"):
        return refusal
    try:
        body = await _json_body(request)
    except ValueError:
        return problem(400, "invalid-json", "Bad Request", "The request body is not valid JSON")
    if not isinstance(body, dict):
        return _validation_error({"body": ["must be a JSON object"]})
    errors = FieldErrors()
    customer_id = text(body, "customer_id", "", errors)
    order_id = parse_order_id(body.get("order_id"), errors)
    items = body.get("items")
    if not isinstance(items, list) or not items:
        errors.add("items", "must be a non-empty list")
        items = []
    fields = [parse_item(raw, f"items[{i}].", errors) for i, raw in enumerate(items)]
    if errors:
        return _validation_error(errors)
    state = request.app[STATE]
    application_id = state.applications.get(order_id) or uuid4(state.rng)
    now = _now()
    created = [
        Purchase(
            id=uuid4(state.rng),
            order_id=order_id,
            customer_id=customer_id,
            facility_status="pending_collection_customer",
            created_at=now,
            updated_at=now,
            loan_application_detail_id=application_id,
            **item,
        )
        for item in fields
    ]
    for purchase in created:
        state.add(purchase)
    return _envelope(201, [p.render() for p in created], order_id)


def _envelope(status: int, data: Any, order_id: str | None = None) -> web.Response:
    body: dict[str, Any] = {"apiVersion": API_VERSION, "status": status}
    if order_id is not None:
        body["order_id"] = order_id
    body["data"] = data
    return json_response(body, status)


async def get_purchase(request: web.Request) -> web.Response:
    if refusal := _refuse_token(request, "read"):
        return refusal
    purchase_id = request.match_info["purchase_id"]
    purchase = request.app[STATE].purchases.get(purchase_id)
    if purchase is None:
        return _not_found(purchase_id)
    return _envelope(200, purchase.render(), purchase.order_id)


def _updates(body: Any, path_id: str | None, errors: FieldErrors) -> list[tuple[str, str]]:
    """(id, facility_status) pairs from ``{items: [{id, facility_status}]}``.

    The page's example PUTs to the bare collection with ids in the body; with an id in the
    path, items may leave ``id`` out, and a bare ``{facility_status}`` body is one item.
    """
    if not isinstance(body, dict):
        errors.add("body", "must be a JSON object")
        return []
    items = body.get("items", [body] if path_id else None)
    if not isinstance(items, list) or not items:
        errors.add("items", "must be a non-empty list")
        return []
    updates: list[tuple[str, str]] = []
    for i, raw in enumerate(items):
        where = f"items[{i}]."
        if not isinstance(raw, dict):
            errors.add(f"items[{i}]", "must be an object")
            continue
        item_id = raw.get("id", path_id)
        if not isinstance(item_id, str) or not item_id:
            errors.add(f"{where}id", "is required")
        elif path_id is not None and item_id != path_id:
            errors.add(f"{where}id", "does not match the ID in the path")
        status = choice(raw, "facility_status", FACILITY_STATUSES, where, errors)
        updates.append((str(item_id), status))
    return updates


async def update_purchases(request: web.Request) -> web.Response:
    if refusal := _refuse_token(request, "write"):
        return refusal
    try:
        body = await _json_body(request)
    except ValueError:
        return problem(400, "invalid-json", "Bad Request", "The request body is not valid JSON")
    errors = FieldErrors()
    updates = _updates(body, request.match_info.get("purchase_id"), errors)
    if errors:
        return _validation_error(errors)
    purchases = request.app[STATE].purchases
    # Check every item before changing any, so a refused request changes nothing.
    staged: dict[str, str] = {}
    for purchase_id, status in updates:
        if purchase_id not in purchases:
            return _not_found(purchase_id)
        current = staged.get(purchase_id, purchases[purchase_id].facility_status)
        if status == current == "cancelled":  # a second cancel, refused as DELETE refuses it
            return _refused_transition(_already_cancelled(purchase_id))
        if status != current and status not in TRANSITIONS[current]:
            return _refused_transition(
                f"Item with ID {purchase_id} cannot move from {current} to {status}"
            )
        staged[purchase_id] = status
    now = _now()
    for purchase_id, status in staged.items():
        purchase = purchases[purchase_id]
        if purchase.facility_status != status:
            purchase.facility_status = status
            purchase.updated_at = now
    return _envelope(200, [purchases[purchase_id].render() for purchase_id, _ in updates])


async def cancel_purchase(request: web.Request) -> web.Response:
    if refusal := _refuse_token(request, "write"):
        return refusal
    purchase_id = request.match_info["purchase_id"]
    purchase = request.app[STATE].purchases.get(purchase_id)
    if purchase is None:
        return _not_found(purchase_id)
    if purchase.facility_status == "cancelled":
        return _refused_transition(_already_cancelled(purchase_id))
    if "cancelled" not in TRANSITIONS[purchase.facility_status]:
        return _refused_transition(
            f"Item with ID {purchase_id} is {purchase.facility_status} and cannot be cancelled"
        )
    purchase.facility_status = "cancelled"
    purchase.updated_at = _now()
    message = f"Item with ID {purchase_id} was successfully cancelled"
    return _envelope(200, {"message": message})


async def _add_request_id(request: web.Request, response: web.StreamResponse) -> None:
    incoming = request.headers.get("X-Request-ID", "")
    response.headers["X-Request-ID"] = (
        incoming if _REQUEST_ID.match(incoming) else uuid4(request.app[STATE].request_ids)
    )


def create_app(
    *, faults: Faults | None = None, seed: int = 0, token_ttl_s: int = TOKEN_TTL_S
) -> web.Application:
    """The Lipa Later v2 purchases sandbox, seeded with the page's records and ``seed``."""
    app = sandbox_app(faults, seed, error_body=fault_body)
    rng = random.Random(seed)
    state = LipaLaterPurchasesState(
        rng=rng,
        token_ttl_s=token_ttl_s,
        request_ids=random.Random(f"lipalater-purchases-request-ids-{seed}"),
        token_rng=random.Random(f"lipalater-purchases-tokens-{seed}"),
    )
    state.tokens[STATIC_TOKEN] = IssuedToken(SCOPES, math.inf)
    for purchase in example_purchases() + generated_purchases(rng):
        state.add(purchase)
    app[STATE] = state
    app.on_response_prepare.append(_add_request_id)
    app.router.add_post(TOKEN_PATH, token)
    app.router.add_post(PURCHASES, create_purchases)
    app.router.add_put(PURCHASES, update_purchases)
    app.router.add_get(PURCHASES + "/{purchase_id}", get_purchase)
    app.router.add_put(PURCHASES + "/{purchase_id}", update_purchases)
    app.router.add_delete(PURCHASES + "/{purchase_id}", cancel_purchase)
    return app
