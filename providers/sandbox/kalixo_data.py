"""Kalixo sandbox data: the catalogue, the order record and the seeded orders.

The seeded layout (ids, statuses, which products) is fixed so tests can rely on it; only the
generated contents (products picked, quantities, PINs) vary with the seed.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field

CURRENCY = "GBP"

# Terminal outcomes an order reaches; "cancelled" only exists on seeded orders (the page has no
# cancel endpoint).
COMPLETED = "completed"
FAILED = "failed"
ERROR = "error"
CANCELLED = "cancelled"
REQUESTED = "requested"
PROCESSING = "processing"
STATUSES = (REQUESTED, PROCESSING, COMPLETED, CANCELLED, FAILED, ERROR)

# Ordering this product always ends the order as "failed" (no PINs).
FAILING_PRODUCT_ID = 666
# Ordering this product always ends the order as "error" (no PINs); wins over a failing product.
ERROR_PRODUCT_ID = 500

# The page's retrieve-order example, seeded verbatim (its PINs are the page's placeholders).
EXAMPLE_ORDER_ID = 59400
EXAMPLE_PIN = "ABCDE-FGHIJ-KLMNO-PQRST-UVWXY"
# Generated seeded orders: two per status, ids in this order from 59401.
SEEDED_IDS: dict[str, tuple[int, ...]] = {
    status: (59401 + 2 * i, 59402 + 2 * i) for i, status in enumerate(STATUSES)
}
# The id the first order placed in a fresh sandbox receives.
NEXT_ORDER_ID = 59401 + 2 * len(STATUSES)

_PIN_ALPHABET = string.ascii_uppercase + string.digits


@dataclass(frozen=True)
class Product:
    product_id: int
    name: str
    price: int  # minor units (pence)
    sku: str
    currency: str = CURRENCY


CATALOGUE: dict[int, Product] = {
    p.product_id: p
    for p in (
        Product(1, "Gift Card 10 GBP", 1099, "GB-EN-4251604177261"),
        Product(2, "Game Key Deluxe", 3299, "GB-EN-4251604177278"),
        Product(3, "Gift Card 25 GBP", 2599, "GB-EN-4251604177285"),
        Product(4, "Game Key Standard", 1999, "GB-EN-4251604177292"),
        Product(5, "Season Pass", 1499, "GB-EN-4251604133175"),
        Product(6, "In-Game Currency 500", 839, "GB-EN-4251604133182"),
        Product(ERROR_PRODUCT_ID, "Sandbox: order ends in error", 100, "GB-EN-0000000000500"),
        Product(FAILING_PRODUCT_ID, "Sandbox: order fails", 100, "GB-EN-0000000000666"),
    )
}
_ORDINARY_IDS = [pid for pid in CATALOGUE if pid not in (ERROR_PRODUCT_ID, FAILING_PRODUCT_ID)]


@dataclass
class OrderLine:
    product_id: int
    price: int
    quantity: int
    pins: list[str] = field(default_factory=list)  # one per unit, shown only once completed


@dataclass
class Order:
    """One order. ``created_at`` None: a seeded order whose status is ``outcome`` for good."""

    order_id: int
    external_code: str
    lines: list[OrderLine]
    outcome: str
    created_at: float | None = None


def make_pin(rng: random.Random) -> str:
    """A PIN in the page's format: five dash-separated groups of five letters or digits."""
    return "-".join("".join(rng.choices(_PIN_ALPHABET, k=5)) for _ in range(5))


def outcome_for(product_ids: list[int]) -> str:
    if ERROR_PRODUCT_ID in product_ids:
        return ERROR
    if FAILING_PRODUCT_ID in product_ids:
        return FAILED
    return COMPLETED


def make_order(
    rng: random.Random,
    order_id: int,
    external_code: str,
    wanted: list[tuple[int, int, int]],
    created_at: float | None = None,
    outcome: str | None = None,
) -> Order:
    """An order of (productId, price, quantity) lines; only a completing order gets PINs."""
    outcome = outcome or outcome_for([pid for pid, _, _ in wanted])
    pinned = outcome == COMPLETED
    lines = [
        OrderLine(pid, price, qty, [make_pin(rng) for _ in range(qty if pinned else 0)])
        for pid, price, qty in wanted
    ]
    return Order(order_id, external_code, lines, outcome, created_at)


def _example_order() -> Order:
    lines = [
        OrderLine(1, 1099, 1, [EXAMPLE_PIN]),
        OrderLine(2, 3299, 2, [EXAMPLE_PIN, EXAMPLE_PIN]),
    ]
    return Order(EXAMPLE_ORDER_ID, f"O-SEED-{EXAMPLE_ORDER_ID}", lines, COMPLETED)


def _generated_order(rng: random.Random, order_id: int, status: str) -> Order:
    picked = rng.sample(_ORDINARY_IDS, k=rng.randint(1, 3))
    if status == FAILED:
        picked.append(FAILING_PRODUCT_ID)
    elif status == ERROR:
        picked.append(ERROR_PRODUCT_ID)
    wanted = [(pid, CATALOGUE[pid].price, rng.randint(1, 3)) for pid in picked]
    return make_order(rng, order_id, f"O-SEED-{order_id}", wanted, outcome=status)


def seed_orders(rng: random.Random) -> dict[int, Order]:
    orders = [_example_order()]
    for status, ids in SEEDED_IDS.items():
        orders.extend(_generated_order(rng, order_id, status) for order_id in ids)
    return {o.order_id: o for o in orders}
