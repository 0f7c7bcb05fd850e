"""The order mutations: one set, whatever provider holds the order.

Each mutation takes one ``input`` and answers a payload with the object, re-read after the
change, and ``userErrors``. What the caller can act on (bad input, the provider refusing, a
missing order) is a ``userErrors`` entry; a provider that cannot be reached, or that lacks the
operation, is a GraphQL error with its ``extensions.code``.

A change the provider made is the mutation's answer: the payload's ``order`` (or ``item``) is
re-read only when it is resolved, so a re-read that fails is an error on that field alone,
never one of the mutation, which a caller would retry, making the change twice.

The inputs, and what is checked of them before anything is sent, are in
resolvers/mutation_inputs.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry

from graph import ids
from graph.auth import CanWriteOrders
from graph.context import Context, Info
from graph.errors import BadUserInput
from graph.types.common import UserError
from graph.types.order import Order, OrderItem
from providers import errors as pe
from providers import model
from providers.base import Provider
from providers.http import MAY_HAVE_APPLIED, counting
from providers.model import ProviderName
from providers.place_once import PlaceOnceError, scopes
from providers.redact import SECRETS
from resolvers.loaders import Later
from resolvers.mutation_inputs import (
    CancelOrderInput,
    ConfirmOrderInput,
    OrderIdInput,
    PlaceOrderInput,
    RefundItemInput,
    RefundOrderInput,
    RejectOrderItemInput,
    UpdateOrderItemStatusInput,
    amount_errors,
    check_new_order,
    fingerprint,
    new_order,
)

T = TypeVar("T")
R = TypeVar("R")


class MutationFailed(Exception):
    """Carries the userErrors of a mutation that did nothing."""

    def __init__(self, errors: list[UserError]) -> None:
        super().__init__(errors[0].message if errors else "")
        self.errors = errors


def user_error(
    exc: pe.StatusError | pe.InvalidRequest | BadUserInput, field: list[str] | None = None
) -> UserError:
    if isinstance(exc, BadUserInput):
        return UserError(field=field, message=exc.message, code=exc.code)
    if isinstance(exc, pe.InvalidRequest):
        where = ["input", *exc.field] if exc.field else field
        return UserError(field=where, message=SECRETS.redact(exc.message), code="BAD_USER_INPUT")
    code = "NOT_FOUND" if isinstance(exc, pe.NotFound) else "REJECTED_BY_PROVIDER"
    return UserError(
        # The connector's own path into the input (["input", "items", "1", "itemType"]) says
        # more than the mutation's default.
        field=exc.field or field,
        message=SECRETS.redact(f"{exc.provider}: {exc.message}"),
        code=code,
        provider_code=exc.code and SECRETS.redact(exc.code),  # an upstream may echo into it
    )


async def attempt(step: Awaitable[T], field: list[str] | None = None) -> T:
    """Run one provider step; what the caller can act on becomes a ``MutationFailed``.

    A step that fails after one of its writes may have been applied (the write was answered
    with anything but a refusal, a 5xx or a body that cannot be read included, or its answer
    was lost) fails not ``retryable``, whatever the failure's class, and says so: sending the
    mutation again might apply it twice (a refund made twice). A failure before any write
    keeps its class's answer.
    """
    with counting() as sent:
        try:
            return await step
        except (pe.NotFound, pe.Rejected, pe.InvalidRequest) as exc:
            raise MutationFailed([user_error(exc, field)]) from None
        except pe.ProviderError as exc:
            if sent.may_have_applied and exc.retryable:
                raise pe.with_message(exc, exc.message + MAY_HAVE_APPLIED, retryable=False) from exc
            raise


def decode(value: str, type_name: str, field: str) -> ids.GlobalId:
    try:
        return ids.decode(value, type_name)
    except BadUserInput as exc:
        raise MutationFailed([user_error(exc, ["input", field])]) from None


# The request's reads of one order, by loader kind, keyed by the order's key: what a change to
# the order can make stale (its repayment schedule is a calculation, keyed by its loan product).
ORDER_READS = ("orders_by_key", "items_by_order", "plans_by_order", "credit_status")


def forget_order(ctx: Context, name: ProviderName, key: str) -> None:
    """Drop the request's cached reads of an order that changed, so what reads it next (the
    payload, a later mutation's payload in the same operation) asks its provider again: a
    cancel after a confirm in one document showed CANCELLED beside the confirm's credit
    status."""
    for kind in ORDER_READS:
        ctx.loaders.forget(name, kind, key)


def _line_key(line: RefundItemInput, i: int, provider: ProviderName) -> str:
    """The key of a refund line's item, which must be an item of the order's provider: only
    the key goes to the connector, which cannot tell whose id it came in."""
    gid = decode(line.item_id, "OrderItem", "items")
    if gid.provider is not provider:
        raise MutationFailed(
            [
                UserError(
                    field=["input", "items", str(i), "itemId"],
                    message=f"item {i} is a {gid.provider.name} item, not one of this "
                    f"{provider.name} order",
                    code="BAD_USER_INPUT",
                )
            ]
        )
    return gid.key


# -- payloads ----------------------------------------------------------------------------


MADE = "; the change was made: read it again with a query, do not repeat the mutation"


async def _reread(pending: Awaitable[T], build: Callable[[T], R]) -> R:
    """``then`` for the payload's re-read after a change: the read failing says nothing about
    the change, so its error is not retryable (a client obeying ``retryable: true`` on
    ``["cancelOrder", "order"]`` sent the mutation again)."""
    try:
        found = await pending
    except pe.ProviderError as exc:
        raise pe.with_message(exc, exc.message + MADE, retryable=False) from None
    return build(found)


def _reread_order(root: OrderPayload, info: Info) -> Later[Order | None]:
    if root._reread is None:
        return root._order
    name, key = root._reread
    return _reread(info.context.loaders.load(name, "orders_by_key", key), Order.maybe)


def _reread_item(root: OrderItemPayload, info: Info) -> Later[OrderItem | None]:
    if root._reread is None:
        return None
    name, key = root._reread
    ctx = info.context

    def fresh(found: model.OrderItem | None) -> OrderItem | None:
        # The item changed, so its order may have too (its status, its items): what the
        # payload, or a later one in this operation, reads of the order is read again.
        if found is not None:
            forget_order(ctx, name, found.order_key)
        return OrderItem.maybe(found)

    return _reread(ctx.loaders.load(name, "items_by_key", key), fresh)


@strawberry.type
class OrderPayload:
    """The order as the mutation left it, or why the mutation did nothing (``userErrors``)."""

    order: Later[Order | None] = strawberry.field(resolver=_reread_order, graphql_type=Order | None)
    user_errors: list[UserError]
    # The order when at hand (just placed); else, with ``_reread``, read when resolved.
    _order: strawberry.Private[Order | None] = None
    _reread: strawberry.Private[tuple[ProviderName, str] | None] = None


@strawberry.type
class OrderItemPayload:
    """The item as the mutation left it, or why the mutation did nothing (``userErrors``)."""

    item: Later[OrderItem | None] = strawberry.field(
        resolver=_reread_item, graphql_type=OrderItem | None
    )
    user_errors: list[UserError]
    _reread: strawberry.Private[tuple[ProviderName, str] | None] = None


Action = Callable[[Provider, str], Awaitable[object]]


async def on_order(info: Info, order_id: str, act: Action) -> OrderPayload:
    """Run ``act`` on the order named by ``order_id``; answer it (re-read when the payload's
    ``order`` is resolved), or why not.

    An action that acts on several items (cancel every purchase) answers a list of
    :class:`~providers.model.ItemOutcome`; each one that failed is a ``userErrors`` entry at
    ``orderId`` (the input names no items) naming the item in its message.
    """
    try:
        gid = decode(order_id, "Order", "orderId")
        provider = info.context.provider(gid.provider)
        # A refusal that names no input of its own is the order's (no such order, or one the
        # provider will not act on): reported at orderId, not at no field.
        result = await attempt(act(provider, gid.key), ["input", "orderId"])
    except MutationFailed as failed:
        return OrderPayload(user_errors=failed.errors)
    forget_order(info.context, gid.provider, gid.key)
    outcomes = result if isinstance(result, list) else []
    problems = [
        UserError(
            field=["input", "orderId"],
            message=SECRETS.redact(
                f"item {ids.encode('OrderItem', gid.provider, o.item_key)}: "
                f"{o.message or 'the provider did not do this for the item'}"
            ),
            code=SECRETS.redact(o.code or "REJECTED_BY_PROVIDER"),
        )
        for o in outcomes
        if isinstance(o, model.ItemOutcome) and not o.ok
    ]
    return OrderPayload(user_errors=problems, _reread=(gid.provider, gid.key))


async def on_item(info: Info, item_id: str, act: Action) -> OrderItemPayload:
    """Run ``act`` on the item named by ``item_id``; answer it (re-read when the payload's
    ``item`` is resolved), or why not."""
    try:
        gid = decode(item_id, "OrderItem", "itemId")
        provider = info.context.provider(gid.provider)
        result = await attempt(act(provider, gid.key), ["input", "itemId"])
    except MutationFailed as failed:
        return OrderItemPayload(user_errors=failed.errors)
    info.context.loaders.forget(gid.provider, "items_by_key", gid.key)
    if isinstance(result, model.OrderItem):  # the item's order is known without a read
        forget_order(info.context, gid.provider, result.order_key)
    return OrderItemPayload(user_errors=[], _reread=(gid.provider, gid.key))


# -- placing an order ------------------------------------------------------------------


# Each mutation's payload is nullable, as is usual for GraphQL mutations: one that fails as a
# whole (UNSUPPORTED_OPERATION, a provider down) is null beside its error, and the other
# mutations of the same document keep their answers. A non-null payload would null them all,
# hiding a change that was made (an order cancelled by the first field of two).
@strawberry.type
class OrderMutations:
    @strawberry.mutation(permission_classes=[CanWriteOrders])
    async def place_order(self, info: Info, input: PlaceOrderInput) -> OrderPayload | None:
        problems = check_new_order(input)
        if problems:
            return OrderPayload(user_errors=problems)
        provider = info.context.provider(input.provider)
        new = new_order(input)
        # The idempotencyKey in the namespace of the API key that sent it (its id, never the
        # key); the externalReference in the provider's.
        caller = info.context.principal.id if info.context.principal else ""
        claimed = scopes(provider, caller, input.idempotency_key, new)
        once = info.context.gateway.place_once
        try:
            placed = await attempt(
                once.place(provider, claimed, fingerprint(input.provider, new), new), ["input"]
            )
        except MutationFailed as failed:
            return OrderPayload(user_errors=failed.errors)
        except PlaceOnceError as refused:
            error = UserError(field=refused.field, message=refused.message, code=refused.code)
            return OrderPayload(user_errors=[error])
        if placed.order is None:  # a retry after success: the first order, re-read
            forget_order(info.context, input.provider, placed.order_key)
            return OrderPayload(user_errors=[], _reread=(input.provider, placed.order_key))
        return OrderPayload(user_errors=[], _order=Order.from_model(placed.order))

    @strawberry.mutation(permission_classes=[CanWriteOrders])
    async def confirm_order(self, info: Info, input: ConfirmOrderInput) -> OrderPayload | None:
        plan = input.install_plan_id
        return await on_order(info, input.order_id, lambda p, k: p.confirm_order(k, plan))

    @strawberry.mutation(permission_classes=[CanWriteOrders])
    async def cancel_order(self, info: Info, input: CancelOrderInput) -> OrderPayload | None:
        # A blank reason is no reason, for every provider: the connectors see None.
        reason = input.reason if input.reason and input.reason.strip() else None
        return await on_order(info, input.order_id, lambda p, k: p.cancel_order(k, reason))

    @strawberry.mutation(permission_classes=[CanWriteOrders])
    async def refund_order(self, info: Info, input: RefundOrderInput) -> OrderPayload | None:
        if input.items is not None and not input.items:
            # Not "no items": a client whose selection came out empty refunded everything.
            empty = UserError(
                field=["input", "items"],
                message="items, when given, must name at least one item: leave it out to "
                "refund an amount, or everything left to refund",
                code="BAD_USER_INPUT",
            )
            return OrderPayload(user_errors=[empty])
        lines = list(enumerate(input.items or ()))
        bad = amount_errors(
            [(["input", "amount"], input.amount)]
            + [(["input", "items", str(i), "amount"], line.amount) for i, line in lines]
        )
        if bad:
            return OrderPayload(user_errors=bad)
        try:
            order = decode(input.order_id, "Order", "orderId")
            keyed = [(_line_key(line, i, order.provider), line.amount) for i, line in lines]
        except MutationFailed as failed:
            return OrderPayload(user_errors=failed.errors)
        refund = model.RefundRequest(amount=input.amount, items=keyed, reason=input.reason)
        return await on_order(info, input.order_id, lambda p, k: p.refund_order(k, refund))

    @strawberry.mutation(permission_classes=[CanWriteOrders])
    async def accept_contract(self, info: Info, input: OrderIdInput) -> OrderPayload | None:
        return await on_order(info, input.order_id, lambda p, k: p.accept_contract(k))

    @strawberry.mutation(permission_classes=[CanWriteOrders])
    async def reject_contract(self, info: Info, input: OrderIdInput) -> OrderPayload | None:
        return await on_order(info, input.order_id, lambda p, k: p.reject_contract(k))

    @strawberry.mutation(permission_classes=[CanWriteOrders])
    async def reject_order_item(
        self, info: Info, input: RejectOrderItemInput
    ) -> OrderItemPayload | None:
        return await on_item(info, input.item_id, lambda p, k: p.reject_order_item(k))

    @strawberry.mutation(permission_classes=[CanWriteOrders])
    async def update_order_item_status(
        self, info: Info, input: UpdateOrderItemStatusInput
    ) -> OrderItemPayload | None:
        status = input.status
        return await on_item(info, input.item_id, lambda p, k: p.update_item_status(k, status))
