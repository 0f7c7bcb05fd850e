"""The order mutations: one set, whatever provider holds the order.

Each mutation takes one ``input`` and answers a payload with the object, re-read after the
change, and ``userErrors``. What the caller can act on (bad input, the provider refusing, a
missing order) is a ``userErrors`` entry; a provider that cannot be reached, or that lacks the
operation, is a GraphQL error with its ``extensions.code``.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar, cast

import orjson
import strawberry
from strawberry.scalars import JSON

from graph import ids
from graph.auth import CanWriteOrders
from graph.context import Context, Info
from graph.errors import BadUserInput
from graph.types.common import UserError
from graph.types.order import Order, OrderItem
from providers import errors as pe
from providers import model
from providers.base import Provider
from providers.model import ProviderName
from providers.place_once import PlaceOnceError
from providers.redact import SECRETS

T = TypeVar("T")


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
        provider_code=exc.code,
    )


async def attempt(step: Awaitable[T], field: list[str] | None = None) -> T:
    """Run one provider step; what the caller can act on becomes a ``MutationFailed``."""
    try:
        return await step
    except (pe.NotFound, pe.Rejected, pe.InvalidRequest) as exc:
        raise MutationFailed([user_error(exc, field)]) from None


def decode(value: str, type_name: str, field: str) -> ids.GlobalId:
    try:
        return ids.decode(value, type_name)
    except BadUserInput as exc:
        raise MutationFailed([user_error(exc, ["input", field])]) from None


async def reread_order(ctx: Context, name: ProviderName, key: str) -> Order | None:
    ctx.loaders.forget(name, "orders_by_key", key)
    ctx.loaders.forget(name, "items_by_order", key)
    return Order.maybe(await ctx.loaders.load(name, "orders_by_key", key))


async def reread_item(ctx: Context, name: ProviderName, key: str) -> OrderItem | None:
    ctx.loaders.forget(name, "items_by_key", key)
    found = await ctx.loaders.load(name, "items_by_key", key)
    return None if found is None else OrderItem.from_model(found)


# -- inputs and payloads ---------------------------------------------------------------


@strawberry.input
class NewOrderItemInput:
    sku: str | None = None
    product_id: str | None = None
    name: str | None = None
    brand: str | None = None
    description: str | None = None
    quantity: int = 1
    unit_price: Decimal | None = None
    image_url: str | None = None
    item_type: str | None = None
    store_key: str | None = None
    delivery_option: str | None = None
    preferred_option: str | None = None
    facility_plan: str | None = None
    topup: Decimal | None = None
    topup_ref: str | None = None
    extra: JSON | None = strawberry.field(
        default=None, description="Provider-specific item fields not named above."
    )

    def to_domain(self) -> model.NewOrderItem:
        named = {
            "item_type": self.item_type,
            "store_key": self.store_key,
            "delivery_option": self.delivery_option,
            "preferred_option": self.preferred_option,
            "facility_plan": self.facility_plan,
            "topup": self.topup,
            "topup_ref": self.topup_ref,
        }
        extra = {k: v for k, v in named.items() if v is not None} | dict(
            cast(dict[str, Any], self.extra or {})
        )
        return model.NewOrderItem(
            sku=self.sku,
            product_id=self.product_id,
            name=self.name,
            brand=self.brand,
            description=self.description,
            quantity=self.quantity,
            unit_price=self.unit_price,
            image_url=self.image_url,
            extra=extra,
        )


@strawberry.input
class PlaceOrderInput:
    provider: ProviderName
    external_reference: str | None = None
    customer_id: str | None = None
    store_id: str | None = None
    currency: str | None = None
    total: Decimal | None = strawberry.field(
        default=None, description="The order total; when given, it must equal the sum of lines."
    )
    items: list[NewOrderItemInput]
    idempotency_key: str | None = None


@strawberry.input
class ConfirmOrderInput:
    order_id: strawberry.ID
    install_plan_id: str


@strawberry.input
class CancelOrderInput:
    order_id: strawberry.ID
    reason: str | None = None


@strawberry.input
class RefundItemInput:
    item_id: strawberry.ID
    amount: Decimal


@strawberry.input
class RefundOrderInput:
    order_id: strawberry.ID
    amount: Decimal | None = None
    items: list[RefundItemInput] | None = None
    reason: str | None = None


@strawberry.input
class OrderIdInput:
    order_id: strawberry.ID


@strawberry.input
class RejectOrderItemInput:
    item_id: strawberry.ID
    reason: str | None = None


@strawberry.input
class UpdateOrderItemStatusInput:
    item_id: strawberry.ID
    status: str


@strawberry.type
class OrderPayload:
    order: Order | None
    user_errors: list[UserError]


@strawberry.type
class OrderItemPayload:
    item: OrderItem | None
    user_errors: list[UserError]


Action = Callable[[Provider, str], Awaitable[object]]


async def on_order(info: Info, order_id: str, act: Action) -> OrderPayload:
    """Run ``act`` on the order named by ``order_id``; answer it re-read, or why not.

    An action that acts on several items (cancel every purchase) answers a list of
    :class:`~providers.model.ItemOutcome`; each one that failed is a ``userErrors`` entry.
    """
    try:
        gid = decode(order_id, "Order", "orderId")
        result = await attempt(act(info.context.provider(gid.provider), gid.key))
    except MutationFailed as failed:
        return OrderPayload(order=None, user_errors=failed.errors)
    outcomes = result if isinstance(result, list) else []
    problems = [
        UserError(
            field=["input", "items", ids.encode("OrderItem", gid.provider, o.item_key)],
            message=SECRETS.redact(o.message or "the provider did not do this for the item"),
            code=o.code or "REJECTED_BY_PROVIDER",
        )
        for o in outcomes
        if isinstance(o, model.ItemOutcome) and not o.ok
    ]
    order = await reread_order(info.context, gid.provider, gid.key)
    return OrderPayload(order=order, user_errors=problems)


async def on_item(info: Info, item_id: str, act: Action) -> OrderItemPayload:
    """Run ``act`` on the item named by ``item_id``; answer it re-read, or why not."""
    try:
        gid = decode(item_id, "OrderItem", "itemId")
        await attempt(act(info.context.provider(gid.provider), gid.key))
    except MutationFailed as failed:
        return OrderItemPayload(item=None, user_errors=failed.errors)
    return OrderItemPayload(
        item=await reread_item(info.context, gid.provider, gid.key), user_errors=[]
    )


def idempotency_key(ctx: Context, new: PlaceOrderInput) -> str | None:
    """The idempotencyKey (one caller's namespace), else the provider's externalReference."""
    provider = new.provider.value
    if new.idempotency_key:
        caller = ctx.principal.name if ctx.principal else ""
        return f"{provider}:key:{caller}:{new.idempotency_key}"
    if new.external_reference:
        return f"{provider}:ref:{new.external_reference}"
    return None


def fingerprint(new: PlaceOrderInput) -> str:
    """A hash of the input without its key: the same key with another input is a conflict."""
    fields = {k: v for k, v in dataclasses.asdict(new).items() if k != "idempotency_key"}
    canonical = orjson.dumps(fields, default=str, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def _check_new_order(new: PlaceOrderInput) -> list[UserError]:
    problems: list[UserError] = []
    if not new.items:
        problems.append(
            UserError(
                field=["input", "items"],
                message="an order needs at least one item",
                code="BAD_USER_INPUT",
            )
        )
    for i, item in enumerate(new.items):
        if item.quantity < 1:
            problems.append(
                UserError(
                    field=["input", "items", str(i), "quantity"],
                    message="quantity must be at least 1",
                    code="BAD_USER_INPUT",
                )
            )
        if item.unit_price is not None and item.unit_price < 0:
            problems.append(
                UserError(
                    field=["input", "items", str(i), "unitPrice"],
                    message="unitPrice must not be negative",
                    code="BAD_USER_INPUT",
                )
            )
    if new.total is not None and all(i.unit_price is not None for i in new.items):
        lines = sum(
            (i.unit_price * i.quantity for i in new.items if i.unit_price is not None), Decimal(0)
        )
        if lines != new.total:
            problems.append(
                UserError(
                    field=["input", "total"],
                    message=f"total {new.total} does not equal the sum of the lines {lines}",
                    code="TOTAL_MISMATCH",
                )
            )
    return problems


@strawberry.type
class OrderMutations:
    @strawberry.mutation(permission_classes=[CanWriteOrders])
    async def place_order(self, info: Info, input: PlaceOrderInput) -> OrderPayload:
        problems = _check_new_order(input)
        if problems:
            return OrderPayload(order=None, user_errors=problems)
        provider = info.context.provider(input.provider)
        new = model.NewOrder(
            external_reference=input.external_reference,
            customer_id=input.customer_id,
            store_id=input.store_id,
            currency=input.currency,
            items=[i.to_domain() for i in input.items],
            total=input.total,
        )
        key = idempotency_key(info.context, input)
        try:
            placed = await attempt(
                info.context.gateway.place_once.place(provider, key, fingerprint(input), new),
                ["input"],
            )
        except MutationFailed as failed:
            return OrderPayload(order=None, user_errors=failed.errors)
        except PlaceOnceError as refused:
            error = UserError(field=refused.field, message=refused.message, code=refused.code)
            return OrderPayload(order=None, user_errors=[error])
        if placed.order is None:  # a retry after success: the first order, re-read
            order = await reread_order(info.context, input.provider, placed.order_key)
            return OrderPayload(order=order, user_errors=[])
        return OrderPayload(order=Order.from_model(placed.order), user_errors=[])

    @strawberry.mutation(permission_classes=[CanWriteOrders])
    async def confirm_order(self, info: Info, input: ConfirmOrderInput) -> OrderPayload:
        plan = input.install_plan_id
        return await on_order(info, input.order_id, lambda p, k: p.confirm_order(k, plan))

    @strawberry.mutation(permission_classes=[CanWriteOrders])
    async def cancel_order(self, info: Info, input: CancelOrderInput) -> OrderPayload:
        reason = input.reason
        return await on_order(info, input.order_id, lambda p, k: p.cancel_order(k, reason))

    @strawberry.mutation(permission_classes=[CanWriteOrders])
    async def refund_order(self, info: Info, input: RefundOrderInput) -> OrderPayload:
        try:
            lines = [
                (decode(i.item_id, "OrderItem", "items").key, i.amount) for i in input.items or ()
            ]
        except MutationFailed as failed:
            return OrderPayload(order=None, user_errors=failed.errors)
        refund = model.RefundRequest(amount=input.amount, items=lines, reason=input.reason)
        return await on_order(info, input.order_id, lambda p, k: p.refund_order(k, refund))

    @strawberry.mutation(permission_classes=[CanWriteOrders])
    async def accept_contract(self, info: Info, input: OrderIdInput) -> OrderPayload:
        return await on_order(info, input.order_id, lambda p, k: p.accept_contract(k))

    @strawberry.mutation(permission_classes=[CanWriteOrders])
    async def reject_contract(self, info: Info, input: OrderIdInput) -> OrderPayload:
        return await on_order(info, input.order_id, lambda p, k: p.reject_contract(k))

    @strawberry.mutation(permission_classes=[CanWriteOrders])
    async def reject_order_item(self, info: Info, input: RejectOrderItemInput) -> OrderItemPayload:
        return await on_item(info, input.item_id, lambda p, k: p.reject_order_item(k))

    @strawberry.mutation(permission_classes=[CanWriteOrders])
    async def update_order_item_status(
        self, info: Info, input: UpdateOrderItemStatusInput
    ) -> OrderItemPayload:
        status = input.status
        return await on_item(info, input.item_id, lambda p, k: p.update_item_status(k, status))
