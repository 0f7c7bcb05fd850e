"""What the query resolvers share: choosing a provider, paging arguments."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal
from typing import Annotated

import strawberry
from strawberry.utils.str_converters import to_camel_case

from graph.context import Context
from graph.cursors import offset_after
from graph.errors import BadUserInput, Unsupported
from providers.base import Capability, Provider
from providers.errors import UnsupportedOperation
from providers.model import ProviderName
from resolvers.mutation_inputs import amount_problem

DEFAULT_PAGE = 20
MAX_PAGE = 100

# The paging arguments every list takes, described once (GraphiQL's docs show them).
First = Annotated[
    int | None,
    strawberry.argument(
        description="How many to answer: 20 unless given, at most [server].max_page_size "
        "(100 unless configured)."
    ),
]
After = Annotated[
    str | None,
    strawberry.argument(
        description="The endCursor of the page before: the next page of the same list, asked "
        "with the same filter."
    ),
]


def page_window(
    first: int | None, after: str | None, max_page: int = MAX_PAGE, *, scope: str
) -> tuple[int, int]:
    """``(offset, limit)`` for Relay's ``first``/``after``; out-of-range sizes are refused."""
    limit = DEFAULT_PAGE if first is None else first
    if limit < 0:
        raise BadUserInput("first must not be negative", argument="first")
    if limit > max_page:
        raise BadUserInput(
            f"first may be at most {max_page} (asked for {limit})",
            argument="first",
            maximum=max_page,
        )
    return offset_after(after, scope), limit


def check_filter(flt: object) -> None:
    """Refuse a filter's text given blank, or its list given empty: providers skip an empty
    filter and answer every record (``orders(filter: {number: ""})`` listed all 244, and so did
    ``status: []``), which no caller means. A time without its UTC offset is refused too: the
    provider would read it in its own zone. An amount is bounded as a mutation's are."""
    for field in dataclasses.fields(flt):  # type: ignore[arg-type]
        value = getattr(flt, field.name)
        name = to_camel_case(field.name)
        if isinstance(value, Decimal) and (problem := amount_problem(name, value)):
            raise BadUserInput(problem, argument=name)
        if isinstance(value, datetime) and value.utcoffset() is None:
            raise BadUserInput(
                f"filter {name} needs a UTC offset (2025-12-20T00:00:00Z)", argument=name
            )
        if isinstance(value, str) and not value.strip():
            raise BadUserInput(f"filter {name} must not be blank", argument=name)
        if isinstance(value, list) and not value:
            raise BadUserInput(f"filter {name} must not be an empty list", argument=name)


def max_page(ctx: Context) -> int:
    """The configured ``[server].max_page_size`` (the limits refuse more before execution)."""
    return ctx.gateway.config.server.limits.max_page_size


def provider_for(
    ctx: Context, capability: Capability, name: ProviderName | None, what: str
) -> Provider:
    """The provider to ask for ``what``: the one named, or the only configured one that can."""
    if name is not None:
        provider = ctx.provider(name)
        if capability not in provider.capabilities:
            raise UnsupportedOperation(name.value, what)
        return provider
    able = [p for p in ctx.loaders.providers.values() if capability in p.capabilities]
    if len(able) == 1:
        return able[0]
    if not able:
        raise Unsupported(f"no configured provider supports {what}")
    names = ", ".join(sorted(p.name.name for p in able))
    raise BadUserInput(f"several providers support {what} ({names}): name one in the filter")
