"""The Provider protocol: what every connector can be asked, and what it says it can do.

A connector subclasses :class:`BaseProvider`, declares its :class:`Capability` set, and
overrides the methods behind those capabilities. Every other method answers
:class:`~providers.errors.UnsupportedOperation`, so the graph layer never special-cases a
provider. Batch methods take a sequence of keys and answer a list aligned with it: the record,
``None`` for a key that does not exist, or an exception instance for a key that failed.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Iterable, Sequence
from typing import Any, ClassVar, Protocol, TypeVar

from providers.errors import ProviderError, UnsupportedOperation
from providers.model import (
    Address,
    AddressFilter,
    CancellationPlan,
    CancellationPlanFilter,
    CreditStatus,
    ItemOutcome,
    NewOrder,
    Order,
    OrderFilter,
    OrderItem,
    OrderRef,
    Page,
    ProviderName,
    RefundRequest,
    RepaymentSchedule,
)

T = TypeVar("T")
Batch = list[T | None | Exception]
log = logging.getLogger("commerce_graph.providers")


class Capability(enum.Enum):
    READ_ORDER = "READ_ORDER"
    LIST_ORDERS = "LIST_ORDERS"
    PLACE_ORDER = "PLACE_ORDER"
    CONFIRM_ORDER = "CONFIRM_ORDER"
    CANCEL_ORDER = "CANCEL_ORDER"
    REFUND_ORDER = "REFUND_ORDER"
    REJECT_ORDER_ITEM = "REJECT_ORDER_ITEM"
    CONTRACT = "CONTRACT"
    UPDATE_ITEM_STATUS = "UPDATE_ITEM_STATUS"
    REPAYMENT_SCHEDULE = "REPAYMENT_SCHEDULE"
    CREDIT_STATUS = "CREDIT_STATUS"
    CANCELLATION_PLANS = "CANCELLATION_PLANS"
    CUSTOMER_ADDRESSES = "CUSTOMER_ADDRESSES"


class Provider(Protocol):
    """What the resolvers may ask of a provider."""

    name: ProviderName
    capabilities: frozenset[Capability]
    creates_idempotent_by_reference: bool

    async def orders_by_key(self, keys: Sequence[str]) -> Batch[Order]: ...
    async def orders_by_ref(self, refs: Sequence[OrderRef]) -> Batch[Order]: ...
    async def list_orders(self, flt: OrderFilter, offset: int, limit: int) -> Page[Order]: ...
    async def items_by_order(self, order_keys: Sequence[str]) -> Batch[list[OrderItem]]: ...
    async def items_by_key(self, keys: Sequence[str]) -> Batch[OrderItem]: ...
    async def addresses_by_key(self, keys: Sequence[str]) -> Batch[Address]: ...
    async def plans_by_order(self, order_keys: Sequence[str]) -> Batch[list[CancellationPlan]]: ...
    async def plans_by_key(
        self, keys: Sequence[str], *, amounts: bool = True
    ) -> Batch[CancellationPlan]: ...
    async def list_cancellation_plans(
        self, flt: CancellationPlanFilter, offset: int, limit: int, *, amounts: bool = True
    ) -> Page[CancellationPlan]:
        """A page of plans; ``amounts`` False: none of their amounts is shown, and the plans
        may come without them (no read made only for their currency)."""
        ...

    async def list_addresses(
        self, flt: AddressFilter, offset: int, limit: int
    ) -> Page[Address]: ...
    async def repayment_schedule(
        self, order_key: str, loan_product_id: int, country_id: int | None
    ) -> RepaymentSchedule: ...
    async def credit_status(self, order_key: str) -> CreditStatus: ...
    async def place_order(self, order: NewOrder) -> Order: ...
    async def place_order_again(self, order: NewOrder) -> Order: ...
    async def find_order_by_reference(self, reference: str) -> Order | None: ...
    async def confirm_order(self, order_key: str, install_plan_id: str) -> Order: ...
    async def cancel_order(self, order_key: str, reason: str | None) -> list[ItemOutcome]: ...
    async def refund_order(self, order_key: str, refund: RefundRequest) -> None: ...
    async def reject_order_item(self, item_key: str) -> None: ...
    async def accept_contract(self, order_key: str) -> None: ...
    async def reject_contract(self, order_key: str) -> None: ...
    async def update_item_status(self, item_key: str, status: str) -> OrderItem: ...
    def public_settings(self) -> dict[str, Any]: ...
    async def close(self) -> None: ...


class BaseProvider:
    """Answers ``UnsupportedOperation`` for everything; connectors override what they do."""

    name: ClassVar[ProviderName]
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    # Whether the provider refuses a second order under one external reference (Kalixo keeps
    # externalOrderCode unique), so that sending a create again as it was cannot place it twice:
    # it places the order if the first send never landed, and is refused as a duplicate if it
    # did. Where the order cannot be looked up by its reference, PlaceOnce then sends a create
    # whose outcome is unknown again (``place_order_again``) instead of answering
    # OUTCOME_UNKNOWN for as long as it keeps the key.
    creates_idempotent_by_reference: ClassVar[bool] = False

    def _unsupported(self, operation: str) -> UnsupportedOperation:
        return UnsupportedOperation(self.name.value, operation)

    async def orders_by_key(self, keys: Sequence[str]) -> Batch[Order]:
        raise self._unsupported("reading orders")

    async def orders_by_ref(self, refs: Sequence[OrderRef]) -> Batch[Order]:
        raise self._unsupported("reading orders by number")

    async def list_orders(self, flt: OrderFilter, offset: int, limit: int) -> Page[Order]:
        raise self._unsupported("listing orders")

    async def items_by_order(self, order_keys: Sequence[str]) -> Batch[list[OrderItem]]:
        raise self._unsupported("reading order items")

    async def items_by_key(self, keys: Sequence[str]) -> Batch[OrderItem]:
        raise self._unsupported("reading order items")

    async def addresses_by_key(self, keys: Sequence[str]) -> Batch[Address]:
        raise self._unsupported("customer addresses")

    async def plans_by_order(self, order_keys: Sequence[str]) -> Batch[list[CancellationPlan]]:
        raise self._unsupported("cancellation plans")

    async def plans_by_key(
        self, keys: Sequence[str], *, amounts: bool = True
    ) -> Batch[CancellationPlan]:
        raise self._unsupported("cancellation plans")

    async def list_cancellation_plans(
        self, flt: CancellationPlanFilter, offset: int, limit: int, *, amounts: bool = True
    ) -> Page[CancellationPlan]:
        raise self._unsupported("cancellation plans")

    async def list_addresses(self, flt: AddressFilter, offset: int, limit: int) -> Page[Address]:
        raise self._unsupported("customer addresses")

    async def repayment_schedule(
        self, order_key: str, loan_product_id: int, country_id: int | None
    ) -> RepaymentSchedule:
        raise self._unsupported("repayment schedules")

    async def credit_status(self, order_key: str) -> CreditStatus:
        raise self._unsupported("credit status")

    async def place_order(self, order: NewOrder) -> Order:
        raise self._unsupported("placing orders")

    async def place_order_again(self, order: NewOrder) -> Order:
        """Send again a create whose outcome is unknown (an earlier send of it may have landed):
        the order it places, the order the earlier send placed, or ``OutcomeUnknown``. Only a
        provider whose ``creates_idempotent_by_reference`` can."""
        raise self._unsupported("placing an order again")

    async def find_order_by_reference(self, reference: str) -> Order | None:
        raise self._unsupported("finding orders by reference")

    async def confirm_order(self, order_key: str, install_plan_id: str) -> Order:
        raise self._unsupported("confirming orders")

    async def cancel_order(self, order_key: str, reason: str | None) -> list[ItemOutcome]:
        raise self._unsupported("cancelling orders")

    async def refund_order(self, order_key: str, refund: RefundRequest) -> None:
        raise self._unsupported("refunding orders")

    async def reject_order_item(self, item_key: str) -> None:
        raise self._unsupported("rejecting order items")

    async def accept_contract(self, order_key: str) -> None:
        raise self._unsupported("accepting contracts")

    async def reject_contract(self, order_key: str) -> None:
        raise self._unsupported("rejecting contracts")

    async def update_item_status(self, item_key: str, status: str) -> OrderItem:
        raise self._unsupported("updating item status")

    def public_settings(self) -> dict[str, Any]:
        """Settings safe to show (no secrets): base URL, timeout, currency."""
        return {}

    async def close(self) -> None:
        return None


async def settled(steps: Iterable[Awaitable[T]]) -> list[T | Exception]:
    """Each step's answer, or the exception it raised, in order, all at once: one key's failure
    is that key's, never the batch's. Every batch read of an API that has none goes through
    here (one call per key). A cancellation is no key's failure: it is raised.

    One step, the usual batch of a query that reads one order, is awaited in place: a task and
    ``gather``'s callback for it would put two more turns of the event loop between the
    provider's answer and its reader, each a whole loop cycle under load (W4 at c = 1: 18 ->
    15 turns a request, tests/benchmarks/HISTORY.md)."""
    pending = list(steps)
    if len(pending) == 1:
        try:
            return [await pending[0]]
        except Exception as exc:  # noqa: BLE001 - handed to that key's reader
            return [exc]
    results = await asyncio.gather(*pending, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, Exception):
            raise result
    return results  # type: ignore[return-value]  # BaseExceptions other than Exception raised


async def read_back(placed: Order, read: Awaitable[Order | None], answered: str) -> Order:
    """An order just placed, as ``read`` finds it (the statuses its create answer lacks); where
    the read fails or finds nothing, ``placed``, from the create's answer, with a warning saying
    it was ``answered`` so. The order exists: an error would invite the caller to place it
    again."""
    try:
        found = await read
    except ProviderError as exc:
        found, why = None, exc.message
    else:
        why = f"{placed.provider.value} answered no such order"
    if found is not None:
        return found
    log.warning(
        "%s order %s placed, but its status could not be read (%s); answered %s",
        placed.provider.value,
        placed.key,
        why,
        answered,
        extra={"provider": placed.provider.value},
    )
    return placed
