"""Types every part of the schema shares: Money, UserError, Node, connections."""

from __future__ import annotations

from decimal import Decimal, DecimalException
from typing import Any, Generic, TypeVar

import strawberry
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.scalars import JSON
from strawberry.types.scalar import ScalarDefinition

from graph.cursors import cursor_for
from graph.observe import note_user_error
from providers import model

T = TypeVar("T")

# The domain's enums are the schema's: registered once here, annotated directly elsewhere.
strawberry.enum(model.ProviderName, name="Provider")
strawberry.enum(model.OrderStatus, name="OrderStatus")
strawberry.enum(model.PaymentStatus, name="PaymentStatus")
Provider = model.ProviderName
OrderStatus = model.OrderStatus
PaymentStatus = model.PaymentStatus


def details_json(details: dict[str, Any]) -> JSON | None:
    """A record's provider-specific details as the schema serves them: null when it has none."""
    return JSON(details) if details else None


# The domain's Money is the schema's too, so an amount reaches the response as the connector
# read it, not copied into a second object: there are ten of them in every order of a list.
strawberry.type(
    model.Money, description="An amount in major units with its upper-case ISO 4217 currency."
)
Money = model.Money


def _decimal(value: object) -> Decimal:
    """A Decimal as written in JSON or GraphQL: ASCII digits, an optional sign, point and
    exponent. Python's ``Decimal`` also reads "1_000", padding and other scripts' digits
    ("٣" refunded 3 NOK); those are refused."""
    text = str(value)
    try:
        if text.isascii() and "_" not in text and text == text.strip():
            return Decimal(text)
    except DecimalException:
        pass
    raise StrawberryInputCoercionError(f'Value cannot represent a Decimal: "{text}".')


DECIMAL = ScalarDefinition(
    name="Decimal",
    description='A decimal number, as a string ("12.50") or a JSON number; ASCII digits.',
    specified_by_url=None,
    serialize=str,
    parse_value=_decimal,
    parse_literal=None,
    origin=Decimal,
)


@strawberry.type(description="Why a mutation did not do (all of) what it was asked.")
class UserError:
    field: list[str] | None
    message: str
    code: str
    provider_code: str | None = None

    def __post_init__(self) -> None:
        note_user_error(self.code)  # for the request's log line and metrics


@strawberry.interface(description="An object with a global id that node(id:) finds again.")
class Node:
    id: strawberry.ID


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    nodes: list[T]
    page_info: PageInfo
    total_count: int
    _offset: strawberry.Private[int]
    _scope: strawberry.Private[str]

    @strawberry.field
    def edges(self) -> list[Edge[T]]:
        """Made when asked: a client reading ``nodes`` pays for no cursors."""
        offset, scope = self._offset, self._scope
        return [
            Edge(cursor=cursor_for(offset + i, scope), node=n) for i, n in enumerate(self.nodes)
        ]


def connection(nodes: list[T], page: model.Page[Any], scope: str) -> Connection[T]:
    last = page.offset + len(nodes) - 1
    return Connection(
        nodes=nodes,
        page_info=PageInfo(
            has_next_page=page.has_next,
            has_previous_page=page.offset > 0,
            start_cursor=cursor_for(page.offset, scope) if nodes else None,
            end_cursor=cursor_for(last, scope) if nodes else None,
        ),
        total_count=page.total_count,
        _offset=page.offset,
        _scope=scope,
    )
