"""Akinon integration API sandbox (seed page 004): orders, order items, reject, plans, addresses.

It answers the way a Django REST framework service does, since that is what the page's
envelopes are: ``{"detail": ...}`` for 401/404/406/415, ``{<field>|non_field_errors: [...],
"code": ...}`` for 400, ``{count, next, previous, results}`` lists with ``page``/``limit``, and
unknown query parameters ignored; an injected fault (``Faults.error_body`` "provider") is a
``{"detail": ...}`` saying what DRF's exception of that status says. Checks run in DRF's
order: Accept (406), token (401), then Content-Type (415), which the page requires on every
request, reads included.

Knobs on ``app[STATE]`` play other deployments: ``ignore(path, *params)`` answers a list as
one whose filterset lacks those parameters (DRF skips them: every record comes back);
``html_errors`` answers a path with a status and an HTML page, as a proxy in front of a service
that is down does; ``max_page_size`` is DRF's: a larger ``limit`` is cut to it without a word;
``link_origin`` is the origin its ``next`` and ``previous`` links name, as a service behind a
proxy builds them from what the proxy forwarded (``http://`` behind TLS, or another host).
"""

from __future__ import annotations

import hashlib
import json
import operator
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from providers.sandbox.akinon_data import PLAN_STATUSES, PLAN_TYPES, Dataset, Row, build
from providers.sandbox.faults import Faults, Handler, json_response, phrase, sandbox_app

CREDENTIALS: dict[str, str] = {"username": "sandbox-seller", "password": "sandbox-pass"}
STATIC_TOKEN = "akinon-sandbox-static-token"
PREFIX = "/api/i1/"
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
REJECTED = 900


@dataclass
class AkinonState:
    """The sandbox's records (``data`` lists keep the list order) and its issued login key."""

    seed: int
    data: Dataset
    orders: dict[str, Row] = field(default_factory=dict)
    items: dict[str, Row] = field(default_factory=dict)
    key: str | None = None
    revoked: int = 0
    # List path ("orders/") -> query parameters this deployment does not filter on.
    ignored: dict[str, set[str]] = field(default_factory=dict)
    # A part of a path ("auth/login/") -> the status a proxy answers it with, in HTML.
    html_errors: dict[str, int] = field(default_factory=dict)
    # DRF's max_page_size: the most records a page holds, whatever ``limit`` asks for.
    max_page_size: int = MAX_LIMIT
    # The origin ("http://host:port") its links name instead of the one it was asked at.
    link_origin: str | None = None

    def __post_init__(self) -> None:
        self.orders = {str(row.data["id"]): row for row in self.data.orders}
        self.items = {str(row.data["id"]): row for row in self.data.items}

    def login_key(self) -> str:
        # Like DRF's TokenAuthentication, one key per user: every login returns the same one.
        if self.key is None:
            self.key = hashlib.sha1(f"akinon:{self.seed}:{self.revoked}".encode()).hexdigest()
        return self.key

    def revoke_key(self) -> None:
        """Expire the issued key (the next login issues a new one), to test re-login on 401."""
        self.key = None
        self.revoked += 1

    def accepts(self, token: str) -> bool:
        return token == STATIC_TOKEN or (self.key is not None and token == self.key)

    def ignore(self, path: str, *params: str) -> None:
        """Answer the list at ``path`` (``"order-items/"``) as a deployment without the filters
        ``params`` does: as if they were not in the query."""
        self.ignored.setdefault(path, set()).update(params)


STATE = web.AppKey("state", AkinonState)


# Filters -----------------------------------------------------------------------------------

Getter = Callable[[AkinonState, Row], Any]


class _Invalid(Exception):
    """A query value the filter cannot parse (django-filter answers 400 with the message)."""


@dataclass(frozen=True)
class Param:
    """One query parameter: how its value parses (``kind``), how it compares, what it reads."""

    kind: str  # str, istr, int, dec, dt, date, bool, uuid, choice, json
    lookup: str  # exact, contains, icontains, gt, gte, lt, lte, in, has
    get: Getter
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Field:
    """A getter of the record's own field, which :func:`_filtered` can compare directly."""

    name: str

    def __call__(self, state: AkinonState, row: Row) -> Any:
        return row.data[self.name]


def _of(name: str) -> Getter:
    return _Field(name)


def _of_order(name: str) -> Getter:
    return lambda state, row: state.orders[row.data["order"]].data[name]


def _created(state: AkinonState, row: Row) -> datetime:
    return row.created_at


def _updated(state: AkinonState, row: Row) -> datetime:
    return row.updated_at


def _ranges(name: str, kind: str, get: Getter, *, odd: str | None = None) -> dict[str, Param]:
    """``name__gt`` .. ``name__lte``; ``odd`` is the page's underscore-less spelling of the name."""
    params = {f"{name}__{op}": Param(kind, op, get) for op in ("gt", "gte", "lt", "lte")}
    if odd:
        params |= {f"{odd}{op}": Param(kind, op, get) for op in ("gt", "gte", "lt", "lte")}
    return params


def _stamps() -> dict[str, Param]:
    return _ranges("created_at", "dt", _created) | _ranges("updated_at", "dt", _updated)


def _exact(names: str, kind: str) -> dict[str, Param]:
    return {name: Param(kind, "exact", _of(name)) for name in names.split()}


ORDER_PARAMS: dict[str, Param] = {
    "number": Param("str", "exact", _of("number")),
    "number__contains": Param("str", "contains", _of("number")),
    "number__icontains": Param("str", "icontains", _of("number")),
    "status": Param("int", "exact", _of("status")),
    "currency": Param("istr", "exact", _of("currency")),
    "has_gift_box": Param("bool", "exact", _of("has_gift_box")),
    # The gateway's batch filters.
    "id__in": Param("uuid", "in", _of("id")),
    "number__in": Param("str", "in", _of("number")),
    "status__in": Param("int", "in", _of("status")),
    **_ranges("date_placed", "dt", _of("date_placed")),
    **_ranges("amount", "dec", _of("amount")),
    **_ranges("discount_amount", "dec", _of("discount_amount")),
    **_stamps(),
}

# The page's table spells the order lookups without their double underscores
# (``ordernumbercontains``, ``orderdate_placedgte``); DRF's spelling is accepted as well.
ITEM_PARAMS: dict[str, Param] = {
    "order__number": Param("str", "exact", _of_order("number")),
    "order__status": Param("int", "exact", _of_order("status")),
    "ordernumbercontains": Param("str", "contains", _of_order("number")),
    "order__number__contains": Param("str", "contains", _of_order("number")),
    "ordernumbericontains": Param("str", "icontains", _of_order("number")),
    "order__number__icontains": Param("str", "icontains", _of_order("number")),
    "status": Param("int", "exact", _of("status")),
    "price_currency": Param("istr", "exact", _of("price_currency")),
    "order__in": Param("uuid", "in", _of("order")),
    "id__in": Param("uuid", "in", _of("id")),
    **_ranges("order__date_placed", "dt", _of_order("date_placed"), odd="orderdate_placed"),
    **_ranges("price", "dec", _of("price")),
    **_ranges("retail_price", "dec", _of("retail_price")),
    **_ranges("discount_amount", "dec", _of("discount_amount")),
    **_stamps(),
}

PLAN_PARAMS: dict[str, Param] = {
    "created_at__date": Param("date", "exact", _created),
    "order__number": Param("str", "exact", _of_order("number")),
    "order": Param("uuid", "exact", _of("order")),
    "order_items": Param("uuid", "has", _of("order_items")),
    **_exact("shipping_refund_amount refund_amount discount_refund_amount", "dec"),
    "status": Param("choice", "exact", _of("status"), PLAN_STATUSES),
    "plan_type": Param("choice", "exact", _of("plan_type"), PLAN_TYPES),
    "invoice_number": Param("str", "exact", _of("invoice_number")),
    "payment_plan": Param("json", "exact", _of("payment_plan")),
    "order__in": Param("uuid", "in", _of("order")),
    "id__in": Param("uuid", "in", _of("id")),
}

# The page's table has a row with an empty key between ``id`` and ``phone_number``: the
# schema's ``email``, taken to be that filter.
ADDRESS_PARAMS: dict[str, Param] = {
    **_exact("id country city township district", "uuid"),
    **_exact("email phone_number first_name last_name line postcode notes", "str"),
    **_exact("company_name tax_office tax_no identity_number", "str"),
    **_exact("is_active e_bill_taxpayer", "bool"),
    "id__in": Param("uuid", "in", _of("id")),
}

_TRUE, _FALSE = {"true", "True", "1"}, {"false", "False", "0"}
_MESSAGES = {"int": "Enter a number.", "dec": "Enter a number.", "uuid": "Enter a valid UUID."}
_MESSAGES |= {"dt": "Enter a valid date/time.", "date": "Enter a valid date."}
_MESSAGES |= {"json": "Enter a valid JSON."}


def _datetime(value: str | datetime) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # naive means UTC


def _parse(param: Param, raw: str) -> Any:
    try:
        match param.kind:
            case "int":
                return int(raw)
            case "dec":
                number = Decimal(raw)
                if not number.is_finite():
                    raise InvalidOperation
                return number
            case "dt":
                return _datetime(raw)
            case "date":
                return date.fromisoformat(raw)
            case "uuid":
                return str(uuid.UUID(raw))
            case "json":
                return json.loads(raw)
            case "istr":
                return raw.lower()
    except (ValueError, InvalidOperation) as exc:
        raise _Invalid(_MESSAGES[param.kind]) from exc
    if param.kind == "choice" and raw not in param.choices:
        raise _Invalid(f"Select a valid choice. {raw} is not one of the available choices.")
    return raw


_NORMALISED = frozenset({"dec", "dt", "date", "istr"})  # the kinds :func:`_normal` converts


def _normal(kind: str, value: Any) -> Any:
    """A record's value in the form its parsed query value takes."""
    match kind:
        case "dec":
            return Decimal(value)
        case "dt":
            return _datetime(value)
        case "date":
            return value.date()
        case "istr":
            return str(value).lower()
    return value


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "exact": operator.eq,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
    "in": lambda value, wanted: value in wanted,
    "contains": lambda value, wanted: wanted in value,
    "icontains": lambda value, wanted: wanted.lower() in value.lower(),
}


def _matches(param: Param, wanted: Any, actual: Any) -> bool:
    if actual is None:  # a null never passes a filter, as in SQL
        return False
    if param.lookup == "has":
        return bool(wanted in actual)
    return bool(_COMPARE[param.lookup](_normal(param.kind, actual), wanted))


def _filtered(
    state: AkinonState,
    rows: list[Row],
    params: dict[str, Param],
    request: web.Request,
    ignored: set[str] | None = None,
) -> list[Row] | web.Response:
    """The rows passing every known filter but the ``ignored`` ones, or the 400 answer naming
    the invalid values."""
    checks: list[tuple[Param, Any]] = []
    errors: dict[str, list[str]] = {}
    for name, param in params.items():
        if ignored and name in ignored:
            continue
        values = request.query.getall(name, [])
        raw = values[-1] if values else ""  # Django's QueryDict reads the last value
        if not raw:  # django-filter skips empty values
            continue
        try:
            if param.kind == "bool":
                if raw not in _TRUE | _FALSE:  # NullBooleanField reads anything else as unset
                    continue
                checks.append((param, raw in _TRUE))
            elif param.lookup == "in":
                checks.append((param, {_parse(param, part) for part in raw.split(",") if part}))
            else:
                checks.append((param, _parse(param, raw)))
        except _Invalid as exc:
            errors[name] = [str(exc)]
    if errors:
        return json_response({**errors, "code": "invalid"}, 400)
    # An exact or ``in`` filter on a record's own field, whose value is compared as stored,
    # narrows the rows first in one comprehension (``number=`` leaves one order of hundreds);
    # the rest of the filters, through their getters, then read only what is left.
    rest = []
    for param, wanted in checks:
        if not (isinstance(param.get, _Field) and param.kind not in _NORMALISED):
            rest.append((param, wanted))
        elif param.lookup == "exact":
            rows = [row for row in rows if row.data[param.get.name] == wanted]
        elif param.lookup == "in":
            rows = [row for row in rows if row.data[param.get.name] in wanted]
        else:
            rest.append((param, wanted))
    return [
        row
        for row in rows
        if all(_matches(param, wanted, param.get(state, row)) for param, wanted in rest)
    ]


# Pagination --------------------------------------------------------------------------------


def _limit(raw: str | None, most: int) -> int:
    # DRF's page_size_query_param: anything but a positive integer means the default; more
    # than max_page_size means max_page_size.
    try:
        limit = int(raw or "")
    except ValueError:
        return DEFAULT_LIMIT
    return min(limit, most) if limit > 0 else DEFAULT_LIMIT


def _page(request: web.Request, rows: list[Row]) -> web.Response:
    limit = _limit(request.query.get("limit"), request.app[STATE].max_page_size)
    pages = max(1, -(-len(rows) // limit))
    raw = request.query.get("page", "1")
    try:
        page = pages if raw == "last" else int(raw)
    except ValueError:
        page = 0
    if not 1 <= page <= pages:
        return json_response({"detail": "Invalid page."}, 404)
    url = request.url
    if origin := request.app[STATE].link_origin:
        scheme, host = urlsplit(origin)[:2]
        url = request.clone(scheme=scheme, host=host).url
    following = str(url.update_query(page=str(page + 1))) if page < pages else None
    if page == 1:
        preceding = None
    elif page == 2:  # DRF drops the page parameter for the first page
        preceding = str(url.without_query_params("page"))
    else:
        preceding = str(url.update_query(page=str(page - 1)))
    chunk = rows[(page - 1) * limit : page * limit]
    return json_response(
        {
            "count": len(rows),
            "next": following,
            "previous": preceding,
            "results": [row.data for row in chunk],
        }
    )


# Request checks ----------------------------------------------------------------------------


def _acceptable(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    if not accept.strip():
        return True
    ranges = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    return bool(ranges & {"application/json", "application/*", "*/*"})


def _media_refusal(request: web.Request) -> web.Response | None:
    raw = request.headers.get("Content-Type", "")
    if raw.split(";")[0].strip().lower() == "application/json":
        return None
    return json_response({"detail": f'Unsupported media type "{raw}" in request.'}, 415)


def _auth_refusal(request: web.Request) -> web.Response | None:
    # The page sends "Authentication: Bearer" on reads and "Authorization: Bearer" on reject; the
    # official SDK sends "Authorization: Token". All four combinations are accepted.
    header = request.headers.get("Authorization") or request.headers.get("Authentication") or ""
    parts = header.split()
    if not parts or parts[0].lower() not in ("token", "bearer"):
        detail = "Authentication credentials were not provided."
    elif len(parts) == 1:
        detail = "Invalid token header. No credentials provided."
    elif len(parts) > 2:
        detail = "Invalid token header. Token string should not contain spaces."
    elif request.app[STATE].accepts(parts[1]):
        return None
    else:
        detail = "Invalid token."
    return json_response({"detail": detail}, 401, {"WWW-Authenticate": "Token"})


# The default detail of DRF's exception of each status; any 5xx says APIException's.
_DRF_DETAILS = {
    400: "Malformed request.",
    401: "Invalid token.",
    403: "You do not have permission to perform this action.",
    404: "Not found.",
    406: "Could not satisfy the request Accept header.",
    429: "Request was throttled.",
}


def fault_body(status: int, path: str) -> dict[str, str]:
    """The body of an injected error of ``status``, as DRF's exception handler writes it."""
    detail = "A server error occurred." if status >= 500 else _DRF_DETAILS.get(status)
    return {"detail": detail or phrase(status)}


_PROXY_PAGE = (
    "<html><head><title>{status}</title></head><body><center><h1>{status}</h1></center>"
    "<hr><center>nginx</center></body></html>"
)


def _proxy_refusal(request: web.Request) -> web.Response | None:
    for part, status in request.app[STATE].html_errors.items():
        if part in request.path:
            page = _PROXY_PAGE.format(status=status)
            return web.Response(status=status, text=page, content_type="text/html")
    return None


def _guarded(handler: Handler, *, auth: bool = True) -> Handler:
    async def guarded(request: web.Request) -> web.StreamResponse:
        if proxied := _proxy_refusal(request):  # the proxy answers before the service
            return proxied
        if not _acceptable(request):
            return json_response({"detail": "Could not satisfy the request Accept header."}, 406)
        refusal = (_auth_refusal(request) if auth else None) or _media_refusal(request)
        return refusal or await handler(request)

    return guarded


# Handlers ----------------------------------------------------------------------------------


def _field_error(name: str, message: str, code: str) -> web.Response:
    return json_response({name: [message], "code": code}, 400)


async def _login(request: web.Request) -> web.StreamResponse:
    try:
        body = await request.json()
    except ValueError as exc:
        return json_response({"detail": f"JSON parse error - {exc}", "code": "parse_error"}, 400)
    if not isinstance(body, dict):
        message = f"Invalid data. Expected a dictionary, but got {type(body).__name__}."
        return _field_error("non_field_errors", message, "invalid")
    for name in ("username", "password"):
        if not isinstance(body.get(name), str):
            return _field_error(name, "This field is required.", "required")
        if not body[name]:
            return _field_error(name, "This field may not be blank.", "blank")
    if body["username"] != CREDENTIALS["username"] or body["password"] != CREDENTIALS["password"]:
        message = "Unable to log in with provided credentials."
        return _field_error("non_field_errors", message, "authorization_error")
    return json_response({"key": request.app[STATE].login_key()})


def _lister(path: str, rows: Callable[[Dataset], list[Row]], params: dict[str, Param]) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        state = request.app[STATE]
        found = _filtered(state, rows(state.data), params, request, state.ignored.get(path))
        return found if isinstance(found, web.Response) else _page(request, found)

    return handler


async def _reject(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    try:
        item = state.items.get(str(uuid.UUID(request.match_info["item_id"])))
    except ValueError:
        item = None
    if item is None:
        return json_response({"detail": "Not found."}, 404)
    status = int(item.data["status"])
    if status == REJECTED:
        message = "Order item is already rejected."
    elif status in (700, 800):
        message = "Cancelled order items cannot be rejected."
    elif status >= 400:  # packaged (400) or later, or a code outside the table
        message = "Packaged order items cannot be rejected."
    else:
        now = datetime.now(UTC)
        item.data["status"], item.updated_at = REJECTED, now
        order = state.orders[item.data["order"]]
        siblings = [row for row in state.items.values() if row.data["order"] == order.data["id"]]
        if all(row.data["status"] == REJECTED for row in siblings):
            order.data["status"], order.updated_at = REJECTED, now
        return web.Response(status=204)
    return _field_error("non_field_errors", message, "order_item_not_rejectable")


def create_app(*, faults: Faults | None = None, seed: int = 0) -> web.Application:
    """The Akinon sandbox with the page's examples plus data generated from ``seed``."""
    app = sandbox_app(faults, seed, error_body=fault_body)
    app[STATE] = AkinonState(seed, build(seed))
    lists: list[tuple[str, Callable[[Dataset], list[Row]], dict[str, Param]]] = [
        ("orders/", lambda data: data.orders, ORDER_PARAMS),
        ("order-items/", lambda data: data.items, ITEM_PARAMS),
        ("cancellation-plans/", lambda data: data.plans, PLAN_PARAMS),
        ("customer-addresses/", lambda data: data.addresses, ADDRESS_PARAMS),
    ]
    for path, rows, params in lists:
        app.router.add_get(PREFIX + path, _guarded(_lister(path, rows, params)))
    app.router.add_post(PREFIX + "auth/login/", _guarded(_login, auth=False))
    app.router.add_post(PREFIX + "order-items/{item_id}/reject/", _guarded(_reject))
    return app
