"""Errors as clients see them: every failure becomes one ``extensions.code``, in one place.

The gateway's own errors subclass :class:`GatewayError`; the providers' tree
(``providers/errors.py``) is mapped by :func:`extensions_for`. Anything else is a bug: its
message is replaced (in production mode) and it is logged with the request id.
"""

from __future__ import annotations

from typing import Any

from providers import errors as pe
from providers.redact import SECRETS


class GatewayError(Exception):
    """An error the gateway itself raises, with its ``extensions.code``."""

    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extensions = extensions


class BadUserInput(GatewayError):
    code = "BAD_USER_INPUT"


class NotFoundError(GatewayError):
    code = "NOT_FOUND"


class Forbidden(GatewayError):
    code = "FORBIDDEN"


class Unauthenticated(GatewayError):
    code = "UNAUTHENTICATED"


class QueryTooComplex(GatewayError):
    code = "QUERY_TOO_COMPLEX"


class Unsupported(GatewayError):
    """Nothing this gateway serves can do what was asked (no provider to name)."""

    code = "UNSUPPORTED_OPERATION"


# Most specific first: the first class that matches names the code.
_PROVIDER_CODES: tuple[tuple[type[pe.ProviderError], str], ...] = (
    (pe.UnsupportedOperation, "UNSUPPORTED_OPERATION"),
    (pe.NotConfigured, "UNSUPPORTED_OPERATION"),
    (pe.InvalidRequest, "BAD_USER_INPUT"),
    (pe.ProviderTimeout, "PROVIDER_TIMEOUT"),
    (pe.ProviderUnavailable, "PROVIDER_UNAVAILABLE"),
    (pe.RateLimited, "RATE_LIMITED"),
    (pe.NotFound, "NOT_FOUND"),
    # A provider refusing what was asked (a filter value it has no choice for, a parameter it
    # refuses) is the request's to change, not the provider failing; a mutation's refusal is a
    # userErrors entry (resolvers/mutations.py) before it gets here.
    (pe.Rejected, "BAD_USER_INPUT"),
    (pe.ProviderError, "PROVIDER_ERROR"),
)


def provider_code(exc: pe.ProviderError) -> str:
    return next(code for cls, code in _PROVIDER_CODES if isinstance(exc, cls))


def extensions_for(exc: BaseException | None) -> tuple[str, dict[str, Any]] | None:
    """The safe message and ``extensions`` for a known error; ``None`` for anything else."""
    if isinstance(exc, GatewayError):
        return SECRETS.redact(exc.message), {"code": exc.code, **exc.extensions}
    if isinstance(exc, pe.ProviderError):
        extensions: dict[str, Any] = {
            "code": provider_code(exc),
            "provider": exc.provider.upper(),
            "retryable": exc.retryable,
        }
        if exc.http_status is not None:
            extensions["httpStatus"] = exc.http_status
        if exc.request_id:
            extensions["providerRequestId"] = SECRETS.redact(exc.request_id)
        if isinstance(exc, pe.StatusError) and exc.code:
            extensions["providerCode"] = SECRETS.redact(exc.code)  # an upstream may echo into it
        if isinstance(exc, pe.RateLimited) and exc.retry_after is not None:
            extensions["retryAfter"] = exc.retry_after
        return SECRETS.redact(f"{exc.provider}: {exc.message}"), extensions
    return None
