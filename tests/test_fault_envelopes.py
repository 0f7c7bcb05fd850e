"""An injected fault speaks its provider's error envelope (``Faults.error_body`` "provider"),
so the gateway reports what that envelope says, as it would the provider's own; "proxy" keeps
the bare ``{"detail": "sandbox fault"}`` a proxy in front of the provider answers. Every
sandbox answered that bare body, so no connector's reading of its envelope met a fault."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from providers.sandbox import frontpayment_data as fp
from providers.sandbox import lipalater_data as ll
from tests.conftest import gateway_with
from tests.harness import Gateway

FP_READ = "query($n: String!) { orderByNumber(provider: FRONTPAYMENT, number: $n) { number } }"
KX_READ = '{ orderByNumber(provider: KALIXO, number: "59400") { number } }'
LL_READ = (
    "query($n: String!) { orderByNumber(provider: LIPALATER, number: $n, "
    'customerId: "100001") { number } }'
)


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    async with gateway_with(names=("frontpayment", "kalixo", "lipalater")) as gw:
        yield gw


def the_error(errors: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    [error] = errors
    return error["message"], error["extensions"]


@pytest.mark.parametrize(
    ("error_body", "message"),
    [
        ("provider", "frontpayment: Something Went Wrong"),  # the page's 510 envelope
        ("proxy", "frontpayment: sandbox fault"),
    ],
)
async def test_a_front_payment_510_reports_the_pages_message(
    gateway: Gateway, error_body: str, message: str
) -> None:
    gateway.faults("frontpayment").update(
        {
            "error_rate": 1.0,
            "error_status": 510,
            "only_paths": ["/orders/details/"],
            "error_body": error_body,
        }
    )
    answer = await gateway.query(FP_READ, {"n": fp.EXAMPLE_UUID})
    assert answer.data == {"orderByNumber": None}
    shown, extensions = the_error(answer.errors)
    assert shown == message
    assert (extensions["code"], extensions["httpStatus"]) == ("PROVIDER_ERROR", 510)


@pytest.mark.parametrize(
    ("error_body", "message", "provider_code"),
    [
        ("provider", "kalixo: Service Unavailable", "api_error"),  # from Kalixo's envelope
        ("proxy", "kalixo: HTTP 503", None),  # no envelope: only the status to go by
    ],
)
async def test_a_kalixo_fault_reports_its_envelope(
    gateway: Gateway, error_body: str, message: str, provider_code: str | None
) -> None:
    gateway.faults("kalixo").update(
        {
            "error_rate": 1.0,
            "error_status": 503,
            "only_paths": ["retrieve-order"],
            "error_body": error_body,
        }
    )
    answer = await gateway.query(KX_READ)
    shown, extensions = the_error(answer.errors)
    assert shown == message
    assert extensions.get("providerCode") == provider_code
    assert (extensions["httpStatus"], extensions["retryable"]) == (503, True)


async def test_a_lipalater_401_saying_invalid_token_is_met_with_a_new_token(
    gateway: Gateway,
) -> None:
    """The platform's "invalid token" makes the connector fetch a token and send once more,
    so an injected 401 in the platform's envelope heals; the same 401 from a proxy, which says
    nothing of the token, is the answer."""
    number = str(ll.FIRST_ORDER_NO)
    knobs = {"fail_next": 1, "error_status": 401, "only_paths": ["/detail/"]}
    gateway.faults("lipalater").update(knobs)
    data = await gateway.ok(LL_READ, {"n": number})
    assert data == {"orderByNumber": {"number": number}}
    assert len(gateway.calls("lipalater", "/detail/")) == 2
    assert len(gateway.calls("lipalater", "/platform/token/")) == 2

    gateway.clear_calls()
    gateway.faults("lipalater").update({**knobs, "error_body": "proxy"})
    answer = await gateway.query(LL_READ, {"n": number})
    shown, extensions = the_error(answer.errors)
    assert shown == "lipalater: sandbox fault"
    assert extensions["httpStatus"] == 401
    assert len(gateway.calls("lipalater", "/detail/")) == 1
    assert gateway.calls("lipalater", "/platform/token/") == []
