"""Reading provider values leniently: a blank, junk or non-finite value is None, never an error.

Every connector reads numbers, amounts and texts out of payloads whose types drift from their
pages (numbers as strings, "" placeholders); these are the one set of readers they share. The
one exception is a count the schema serves as an ``Int`` (``count``): a whole number it cannot
carry is the provider's bad answer, never an internal error.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from providers.errors import BadResponse
from providers.model import Money

CENT = Decimal("0.01")
# The largest amount the gateway sends a provider: the mutations' inputs are bounded by it
# (resolvers/mutation_inputs.py), and an amount a connector works out from a provider's own
# figures (what is left to refund) is too.
MAX_AMOUNT = Decimal(10) ** 12


def as_str(value: Any) -> str | None:
    if value is None or type(value) is str:  # most values: no call to ``shown``
        return value
    return shown(value)


def shown(value: object) -> str:
    """A provider's value as text (a message quotes it): a string as it is, an object as its
    ``key: value`` pairs and a list as its values, "; " apart, anything else as ``str`` does.
    Each text inside stays as the provider wrote it, a form of any secret it echoes that
    masking knows (providers/redact.py): Python's repr of a container, or JSON of it, would
    escape it once more."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "; ".join(f"{shown(k)}: {shown(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(map(shown, value))
    return str(value)


def given_text(value: Any) -> str | None:
    """A string that is there (a token, a key), or None: not the text of a list or an object
    (a token answered as ``[1]`` was sent as "Bearer [1]")."""
    return value if isinstance(value, str) and value else None


def given_id(value: Any) -> str | None:
    """An id answered as a number or a string, as text; None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
        return None
    return str(value)


def decimal(value: Any) -> Decimal | None:
    """A number or numeric string as a Decimal."""
    if value is None or isinstance(value, bool) or value == "":
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


# GraphQL's Int is a signed 32-bit integer: a larger value is an error on the field, and an
# internal one at that, which no client can act on.
INT_MAX = 2**31 - 1


def count(value: Any, provider: str, what: str, *, least: int = 1) -> int | None:
    """A count served as an ``Int`` (an item's quantity, a list's total, a repayment period's
    number and days): None when there is no number (missing, blank, junk: the caller's default
    applies, as for any lenient read); the number when it is whole (3, 3.0, "3") and from
    ``least`` (1, or 0 where the provider's page shows 0 or a total can be none) to
    ``INT_MAX``. A fraction (2.5 units), or a whole number outside that (3,000,000,000 units,
    -1), is no count the provider can mean, and serving another (the default 1, a cut 2) would
    be wrong: ``BadResponse`` (``PROVIDER_ERROR`` on the record's field), named by ``what``
    ("products[].quantity")."""
    number = decimal(value)
    if number is None:
        return None
    if number != number.to_integral_value() or not least <= number <= INT_MAX:
        raise BadResponse(provider, f"{what} {number} is not a count from {least} to {INT_MAX:,}")
    return int(number)


def minor_units(value: Any, provider: str, what: str) -> int | None:
    """An amount a provider sends as a whole number of minor units (Kalixo's prices: 3299
    pence): None when there is no number (missing, blank, junk), as for any lenient read; the
    number when it is whole, however written (3299, 3299.0, "3299"). A fraction (32.99) is no
    amount in minor units, and cutting it to one (32) would serve another price:
    ``BadResponse`` (``PROVIDER_ERROR`` on the record's field), named by ``what``
    ("products[].price")."""
    number = decimal(value)
    if number is None:
        return None
    if number != number.to_integral_value():
        raise BadResponse(provider, f"{what} {number} is not a whole number of minor units")
    return int(number)


def exact_in(amount: Decimal, places: int) -> bool:
    """Whether ``amount`` needs no more than ``places`` decimal places (0: a whole number).

    What a connector checks before sending an amount its provider takes in fixed units (Lipa
    Later's whole shillings, Front Payment's øre, Kalixo's minor units): an amount that is not
    exact is refused, never rounded on the way out.
    """
    scaled = amount.scaleb(places)
    return scaled == scaled.to_integral_value()


def money(value: Any, currency: str) -> Money | None:
    """An amount in major units, shown to the cent ("4500" -> 4500.00)."""
    try:
        return _money(value, currency)
    except TypeError:  # unhashable junk (a list, an object) is no amount either
        return None


@lru_cache(maxsize=4096, typed=True)
def _money(value: Any, currency: str) -> Money | None:
    """``money``, remembered: a Money is immutable, and a repayment schedule repeats the same
    few amounts (each period's fees, "0" above all) in every answer. Typed, so 1, 1.0 and True
    are each read as sent (True is no amount)."""
    number = decimal(value)
    if number is None:
        return None
    try:
        return Money(number.quantize(CENT), currency.upper())
    except InvalidOperation:  # more digits than a Decimal context holds: not an amount
        return None
