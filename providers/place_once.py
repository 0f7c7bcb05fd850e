"""Placing an order at most once per idempotency key and per external reference, whatever
retries and lost answers do.

:class:`PlaceOnce` sits between ``placeOrder`` and the connector's ``place_order``. A create
claims a record for each of its keys (:func:`scopes`): its idempotency key, and its external
reference, which names one order at the provider whatever key it comes with (unless the
provider itself refuses a second order under one reference, and a key is given). "Key" below
is either, and an answer names the input whose record it comes from (``idempotencyKey`` or
``externalReference``). A record that is not this call's to own answers for the call, and the
records claimed before it go back as they were (or, when it holds this very order, hold it too):

- a key seen before with another input: ``IDEMPOTENCY_CONFLICT``;
- a key whose create succeeded: the order it made (the caller re-reads it by its key);
- a key whose create is running in this process: wait for it and share its outcome; running
  in another process (or past ``wait_s``): ``IDEMPOTENCY_IN_PROGRESS``;
- a create that may have landed (timeout, reset, 5xx, an unreadable answer): the order is
  looked up by its reference (``find_order_by_reference``, the reference trimmed as connectors
  send it) before anything is sent again. Found: that is the answer. Not found or cannot tell:
  ``OUTCOME_UNKNOWN``, and the key stays ``UNKNOWN``; the next attempt with it looks the order
  up again first, and sends the create only when the provider says there is no such order.
  A provider whose creates are idempotent by reference (``creates_idempotent_by_reference``:
  a second order under one reference is refused, as Kalixo's unique externalOrderCode is)
  needs no lookup to be safe: where it cannot tell, the next attempt sends the create again
  (``place_order_again``), which places the order only if no earlier send landed, and the
  connector answers that order, the one that landed, or ``OutcomeUnknown``; whatever fails,
  the key stays ``UNKNOWN`` until a send places the order. Any other provider that cannot be
  asked keeps answering ``OUTCOME_UNKNOWN`` for that key, and says so: never a blind second
  create. A connector that raises ``OutcomeUnknown`` itself has done its own recovery, and its
  message says what was tried and what is left to do.
- a definite failure (a 4xx refusal, bad input, nothing sent): its records are dropped, so the
  same key and reference may be tried again. Nothing was sent when no attempt of the create
  left the gateway (the shared client counts them, ``providers/http.py``): whatever failed before,
  a token that could not be had (``TokenUnavailable``), an order that could not be encoded
  (an amount too large or not a number: ``InvalidRequest``, the safety net under the
  connectors' checks), even a cancellation, placed nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from providers import errors as pe
from providers.base import Provider
from providers.http import Sent, counting
from providers.idempotency import Claim, IdempotencyStore, Record, State
from providers.model import NewOrder, Order

log = logging.getLogger("commerce_graph.place_once")

CONFLICT = "IDEMPOTENCY_CONFLICT"
IN_PROGRESS = "IDEMPOTENCY_IN_PROGRESS"
OUTCOME_UNKNOWN = "OUTCOME_UNKNOWN"


class PlaceOnceError(Exception):
    """A placeOrder answer the caller acts on; ``code`` is the userErrors code."""

    def __init__(self, code: str, message: str, field: list[str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


@dataclass(frozen=True, slots=True)
class Placed:
    order_key: str
    order: Order | None  # None: replayed from the record; re-read the order by its key
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class Scope:
    """One record a create claims (``record``, its key in the store), and the input it stands
    for (``field``), which every answer about it names."""

    record: str
    field: str


def scopes(provider: Provider, caller: str, key: str | None, new: NewOrder) -> list[Scope]:
    """The records a create claims: its idempotency key, in the namespace of the API key that
    sent it (``caller``, an id, never the key) and of the provider; and its external reference
    as connectors send it (``_reference``), in the provider's namespace, where the provider
    holds it. One reference names one order, whatever key it comes with: under a second key,
    the same order answers the first one's and another order is a conflict. A provider that
    itself refuses a second order under one reference (``creates_idempotent_by_reference``:
    Kalixo) is left to do so when a key is given."""
    name = provider.name.value
    claimed = [Scope(f"{name}:key:{caller}:{key}", "idempotencyKey")] if key else []
    reference = _reference(new)
    if reference and not (claimed and provider.creates_idempotent_by_reference):
        claimed.append(Scope(f"{name}:ref:{reference}", "externalReference"))
    return claimed


# What claiming a create's records ends with: the records it holds, and the first one it could
# not claim (its scope and the record as found), if any.
Claimed = tuple[list[Claim], tuple[Scope, Record] | None]

_NOT_FOUND = object()  # the provider says no order holds the reference
_CANNOT_ASK = object()  # the provider has no lookup by reference at all


class PlaceOnce:
    """Idempotent order creation over an :class:`IdempotencyStore`."""

    def __init__(
        self, store: IdempotencyStore, *, lease_s: float = 120.0, wait_s: float = 30.0
    ) -> None:
        self.store = store
        self.lease_s = lease_s
        self.wait_s = wait_s
        # Creates running in this process, by each record they claimed, so a concurrent retry
        # (under the same key or reference) waits instead of refusing.
        self._running: dict[str, tuple[str, asyncio.Future[Placed]]] = {}
        self._gate = asyncio.Lock()

    async def place(
        self, provider: Provider, claimed: Sequence[Scope], fingerprint: str, new: NewOrder
    ) -> Placed:
        """Place ``new`` once for every record of ``claimed`` (see :func:`scopes`)."""
        if not claimed:
            return await self._create(provider, new)
        future: asyncio.Future[Placed] = asyncio.get_running_loop().create_future()
        async with self._gate:  # the checks and the claims as one step within this process
            running = next(
                ((s, self._running[s.record]) for s in claimed if s.record in self._running), None
            )
            if running is None:
                claims, taken = await self._claim_whole(claimed, fingerprint)
                if taken is None:
                    self._running.update(
                        dict.fromkeys((s.record for s in claimed), (fingerprint, future))
                    )
        if running is not None:
            scope, (theirs, pending) = running
            if theirs != fingerprint:
                raise _conflict(scope)
            return await self._wait(pending, scope)
        if taken is not None:
            return _answer(*taken, fingerprint)
        try:
            placed = await self._owned(provider, claims, new)
        except BaseException as exc:
            shared = exc if isinstance(exc, Exception) else _unknown(provider, new)
            future.set_exception(shared)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waits
            raise
        else:
            future.set_result(placed)
            return placed
        finally:
            for scope in claimed:
                self._running.pop(scope.record, None)

    async def _claim_whole(self, claimed: Sequence[Scope], fingerprint: str) -> Claimed:
        """``_claim``, which a cancellation (a gateway shutting down) does not cut short: the
        store's steps run in a thread, which goes on regardless, so the claims are let finish
        and then given back, never left ``RUNNING`` for a lease with no create behind them."""
        claiming = asyncio.ensure_future(self._claim(claimed, fingerprint))
        try:
            return await asyncio.shield(claiming)
        except asyncio.CancelledError:
            await asyncio.shield(self._abandon(claiming))
            raise

    async def _abandon(self, claiming: asyncio.Future[Claimed]) -> None:
        """Give back what a claiming whose caller is gone ends up holding. Its caller was
        cancelled and stays so: a store that fails meanwhile (closed as the gateway stops) is
        logged, and its records end with their lease."""
        try:
            claims, taken = await claiming
        except Exception:  # noqa: BLE001 - ``_claim`` gave back its claims before raising
            return
        if taken is not None:  # ``_claim`` gave back the records before the one it found taken
            return
        try:
            await self._give_back(claims)
        except Exception:
            log.warning(
                "placeOrder: cancelled while claiming its idempotency records, which the "
                "store failed to give back; they are held until their lease ends",
                exc_info=True,
            )

    async def _claim(self, claimed: Sequence[Scope], fingerprint: str) -> Claimed:
        """Claim every record, in order; stop at the first that is not this call's to own (its
        scope and record), giving back the ones claimed before it (``_give_back``): where the
        record holds this very order already, holding it too. A store that fails part-way (a
        shared file locked too long) has the ones claimed before given back too."""
        claims: list[Claim] = []
        for scope in claimed:
            try:
                claim = await self.store.begin(scope.record, fingerprint, self.lease_s)
            except Exception:
                await self._give_back(claims)
                raise
            if claim.owned:
                claims.append(claim)
                continue
            record = claim.record
            same = record.fingerprint == fingerprint and record.state is State.DONE
            await self._give_back(claims, record.order_key if same else None)
            return claims, (scope, record)
        return claims, None

    async def _give_back(self, claims: Sequence[Claim], held: str | None = None) -> None:
        """Records claimed for a create that will not run, as they were: dropped, or
        ``UNKNOWN`` again where one was taken over; or holding order ``held``."""
        for mine in claims:
            if held is not None:
                await self.store.complete(mine.record.key, held)
            else:
                await self.store.fail(mine.record.key, unknown=mine.previous is not None)

    async def _wait(self, future: asyncio.Future[Placed], scope: Scope) -> Placed:
        try:
            placed = await asyncio.wait_for(asyncio.shield(future), self.wait_s)
        except TimeoutError:
            raise PlaceOnceError(
                IN_PROGRESS,
                f"an order with this {scope.field} is still being placed after "
                f"{self.wait_s:g} s; ask again later",
                ["input", scope.field],
            ) from None
        return dataclasses.replace(placed, replayed=True)

    async def _owned(self, provider: Provider, claims: Sequence[Claim], new: NewOrder) -> Placed:
        """Run the create these records now hold; they end DONE, UNKNOWN or dropped, together."""
        keys = [claim.record.key for claim in claims]
        sent: Sent | None = None  # the create's attempts; none: nothing sent, whatever failed
        again = False  # sending again a create that may have landed earlier
        try:
            if any(claim.previous is not None for claim in claims):
                # A create under this key or reference may have landed earlier: ask before
                # sending again.
                found = await self._lookup(provider, new)
                if isinstance(found, Order):
                    await self._complete(keys, found.key)
                    return Placed(found.key, found, replayed=True)
                # A provider that refuses a second order under the reference needs no answer.
                again = found is not _NOT_FOUND and provider.creates_idempotent_by_reference
                if found is not _NOT_FOUND and not again:
                    raise _unknown(provider, new, askable=found is not _CANNOT_ASK)
            sent = Sent()
            placed = await self._create(provider, new, sent, again=again)
        except PlaceOnceError as exc:
            await self._fail(keys, unknown=exc.code == OUTCOME_UNKNOWN)
            raise
        except BaseException as exc:
            # Failing in the lookup keeps what an earlier create left (UNKNOWN), as does any
            # failure of sending it again; failing before any attempt of this create left the
            # gateway placed nothing.
            unknown = again or (_may_have_landed(exc) and (sent is None or sent.attempts > 0))
            await asyncio.shield(self._fail(keys, unknown=unknown))
            raise
        await self._complete(keys, placed.order_key)
        return placed

    async def _complete(self, keys: Sequence[str], order_key: str) -> None:
        for key in keys:
            await self.store.complete(key, order_key)

    async def _fail(self, keys: Sequence[str], *, unknown: bool) -> None:
        for key in keys:
            await self.store.fail(key, unknown=unknown)

    async def _create(
        self,
        provider: Provider,
        new: NewOrder,
        sent: Sent | None = None,
        *,
        again: bool = False,
    ) -> Placed:
        """Send the create (``again``: one that may have landed before, see ``_owned``)."""
        try:
            with counting(sent) as counted:
                if again:
                    order = await provider.place_order_again(new)
                else:
                    order = await provider.place_order(new)
        except pe.OutcomeUnknown as exc:
            raise _unknown(provider, new, exc) from None  # the connector has looked it up
        except Exception as exc:
            if not counted.attempts:  # nothing was sent: a definite failure, however it failed
                unsent = _unsent(provider, exc)
                if unsent is exc:
                    raise
                raise unsent from exc
            if not _may_have_landed(exc):
                raise
            found = await self._lookup(provider, new)
            if isinstance(found, Order):
                return Placed(found.key, found)
            raise _unknown(provider, new, exc, askable=found is not _CANNOT_ASK) from None
        return Placed(order.key, order)

    async def _lookup(self, provider: Provider, new: NewOrder) -> object:
        """The order holding the reference, ``_NOT_FOUND``, ``_CANNOT_ASK`` (no lookup by
        reference), or ``None``: cannot tell."""
        reference = _reference(new)
        if reference is None:
            return None
        try:
            found = await provider.find_order_by_reference(reference)
        except pe.UnsupportedOperation:
            return _CANNOT_ASK
        except pe.ProviderError:
            return None
        return _NOT_FOUND if found is None else found


def _may_have_landed(exc: BaseException) -> bool:
    """Whether a create that ended in ``exc`` may still have made the order."""
    if isinstance(exc, pe.StatusError):
        return isinstance(exc, pe.ServerError)  # a refusal made nothing; a 5xx may have
    definite = (pe.NotSent, pe.InvalidRequest, pe.UnsupportedOperation, pe.NotConfigured)
    return not isinstance(exc, definite)


def _unsent(provider: Provider, exc: Exception) -> Exception:
    """What a create that failed before anything was sent raises: its own error, or, for an
    order its connector could not encode (an amount too large or not a number, which its checks
    let through), ``InvalidRequest``."""
    if not isinstance(exc, ArithmeticError | orjson.JSONEncodeError):
        return exc
    log.warning(
        "placeOrder: the order could not be encoded; nothing was sent",
        exc_info=exc,
        extra={"provider": provider.name.value},
    )
    return pe.InvalidRequest(
        provider.name.value,
        f"the order cannot be encoded for {provider.name.value} ({type(exc).__name__}): an "
        "amount in it is too large or not a number; nothing was sent",
    )


def _conflict(scope: Scope) -> PlaceOnceError:
    return PlaceOnceError(
        CONFLICT, f"this {scope.field} was used for a different order", ["input", scope.field]
    )


def _answer(scope: Scope, record: Record, fingerprint: str) -> Placed:
    """The answer of a record this call could not claim: the order it holds, or why not."""
    if record.fingerprint != fingerprint:
        raise _conflict(scope)
    if record.state is State.DONE and record.order_key is not None:
        return Placed(record.order_key, None, replayed=True)
    raise PlaceOnceError(
        IN_PROGRESS,
        f"an order with this {scope.field} is being placed right now; ask again in a moment",
        ["input", scope.field],
    )


def _reference(new: NewOrder) -> str | None:
    """The external reference as connectors send it: trimmed, and blank is none."""
    return (new.external_reference or "").strip() or None


def _unknown(
    provider: Provider,
    new: NewOrder,
    cause: BaseException | None = None,
    *,
    askable: bool = True,
) -> PlaceOnceError:
    why = f" ({cause.message})" if isinstance(cause, pe.ProviderError) else ""
    if isinstance(cause, pe.OutcomeUnknown):
        then = ""  # the connector's own recovery: its message says what is left to do
    elif _reference(new) is None:
        then = "; read the provider's orders before placing it again"
    elif askable:
        then = (
            "; ask again with the same idempotencyKey or externalReference: the order is "
            "looked up before anything is sent again"
        )
    elif provider.creates_idempotent_by_reference:
        then = (
            "; ask again with the same idempotencyKey or externalReference: the create is sent "
            f"again under the same reference, which {provider.name.value} never places twice"
        )
    else:
        then = (
            "; the provider cannot be asked for an order by its reference, so asking again "
            "with this key answers this again: read the provider's orders before placing it "
            "again"
        )
    return PlaceOnceError(
        OUTCOME_UNKNOWN,
        f"{provider.name.value}: the order was sent but its outcome is unknown{why}{then}",
        ["input"],
    )
