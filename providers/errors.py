"""What can go wrong talking to a provider, as one tree.

    ProviderError                   base: provider name, message, request id
    ├── ProviderUnavailable         connection refused or reset, circuit open
    │   └── NotSent                 nothing left the gateway: connect failed, circuit open
    │       ├── CircuitOpen         the provider's circuit breaker is open
    │       └── QueueTimeout        the deadline passed while waiting for a max_concurrency slot
    ├── ProviderTimeout             the call's total deadline passed
    │   └── OutcomeUnknown          a create's answer lost, and a lookup could not tell
    ├── BadResponse                 malformed JSON or a body of the wrong shape
    ├── NotConfigured               the provider has no section in the config
    ├── InvalidRequest              the caller's input cannot be sent (checked before sending)
    ├── UnsupportedOperation        the provider's API cannot do this
    └── StatusError                 the provider answered with an error status or envelope
        ├── AuthFailed              401/403: our credentials were refused
        ├── NotFound                the thing asked for does not exist
        ├── RateLimited             429, with ``retry_after`` seconds when given
        ├── Rejected                a business refusal (a 4xx the caller can act on)
        └── ServerError             5xx (and the provider's own 510)

``Rejected`` and ``NotFound`` are the caller's to act on: mutations turn them into
``userErrors``. Every message passes through ``providers.redact.SECRETS.redact`` when it is
rendered, so a token that slipped into a provider's error text never leaves the gateway.
Connectors choose the class in one function each; ``graph/errors.py`` maps the tree to
``extensions.code`` in one function.
"""

from __future__ import annotations

from typing import Any, TypeVar


class ProviderError(Exception):
    """Base of every upstream failure; ``retryable`` says whether trying again may help: the
    class's answer, unless the failure says otherwise (a write whose answer was lost may have
    been applied, so sending it again is not safe, whatever its class)."""

    retryable = False

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        request_id: str | None = None,
        http_status: int | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.message = message
        self.request_id = request_id
        self.http_status = http_status
        if retryable is not None:
            self.retryable = retryable


class ProviderUnavailable(ProviderError):
    retryable = True


class NotSent(ProviderUnavailable):
    """The request never reached the provider, so sending it again cannot do anything twice."""


class CircuitOpen(NotSent):
    """Failing fast: the provider failed too often lately (see ``providers/resilience.py``)."""


class QueueTimeout(NotSent):
    """The call's deadline passed while it waited for one of the provider's ``max_concurrency``
    slots: the queue is the gateway's own, so it says nothing about the provider's health."""


class ProviderTimeout(ProviderError):
    retryable = True


class OutcomeUnknown(ProviderTimeout):
    """A create was sent, its answer was lost, and the connector's own lookup by reference
    could not tell whether it landed: nothing more can be learnt by asking again now."""


class BadResponse(ProviderError):
    retryable = True


class NotConfigured(ProviderError):
    pass


class InvalidRequest(ProviderError):
    """The caller asked for something this provider cannot be sent; nothing was sent.

    ``field`` names the input field at fault, as the caller named it (``["customerId"]``).
    """

    def __init__(self, provider: str, message: str, *, field: list[str] | None = None) -> None:
        super().__init__(provider, message)
        self.field = field


class UnsupportedOperation(ProviderError):
    def __init__(self, provider: str, operation: str) -> None:
        super().__init__(provider, f"does not support {operation}")
        self.operation = operation


class StatusError(ProviderError):
    """The provider answered, and said no. ``code`` is the provider's own error code."""

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        http_status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        field: list[str] | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(provider, message, request_id=request_id, http_status=http_status)
        self.code = code
        self.field = field
        self.body = body


class AuthFailed(StatusError):
    pass


class NotFound(StatusError):
    pass


class RateLimited(StatusError):
    retryable = True

    def __init__(self, *args: Any, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after = retry_after


class Rejected(StatusError):
    pass


class ServerError(StatusError):
    retryable = True


def error_for_status(
    provider: str,
    status: int,
    message: str,
    *,
    code: str | None = None,
    request_id: str | None = None,
    field: list[str] | None = None,
    retry_after: float | None = None,
    body: Any = None,
) -> StatusError:
    """The tree's class for an HTTP error status, as stripe picks its error from the code."""
    kwargs: dict[str, Any] = {
        "http_status": status,
        "code": code,
        "request_id": request_id,
        "field": field,
        "body": body,
    }
    if status in (401, 403):
        return AuthFailed(provider, message, **kwargs)
    if status == 404:
        return NotFound(provider, message, **kwargs)
    if status == 429:
        return RateLimited(provider, message, retry_after=retry_after, **kwargs)
    if status >= 500:
        return ServerError(provider, message, **kwargs)
    return Rejected(provider, message, **kwargs)


E = TypeVar("E", bound=ProviderError)


def with_message(error: E, message: str, *, retryable: bool | None = None) -> E:
    """A copy of ``error`` saying ``message`` (and ``retryable``, when given). An error may be
    handed to every caller waiting on one batch or one token fetch, so it is never changed in
    place: a suffix one request added showed in another's answer."""
    copied = type(error).__new__(type(error))
    copied.__dict__.update(error.__dict__)
    copied.args = (message,)
    copied.message = message
    if retryable is not None:
        copied.retryable = retryable
    return copied
