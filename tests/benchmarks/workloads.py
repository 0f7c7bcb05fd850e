"""The five workloads: a GraphQL document each, and what the floor needs to answer it.

``calls`` is the minimum number of upstream requests (what the baseline makes) and ``depth``
the round trips on the critical path, so at an added latency L the upstream time a request
cannot avoid is ``depth * L``. ``needs`` names the connectors a workload uses: a workload or a
part of one whose connector has not landed is left out, with a note.
"""

# GraphQL documents are full of braces: %-formatting keeps them readable.
# ruff: noqa: UP031

from __future__ import annotations

from dataclasses import dataclass

from graph.cursors import cursor_for, scope_of

AKINON_NUMBER = "45243493"
FRONTPAYMENT_UUID = "ODR986760186"
KALIXO_ORDER = "59400"
LIPALATER_ORDER, LIPALATER_MEMBER = "8800000001", "100001"
LOAN_PRODUCT_ID = 1


@dataclass(frozen=True)
class Workload:
    name: str
    title: str
    document: str
    depth: int
    needs: tuple[str, ...]


W1 = Workload(
    "W1",
    "one order by number (Akinon)",
    '{ orderByNumber(provider: AKINON, number: "%s") '
    "{ id number status providerStatus placedAt total { amount currency } } }" % AKINON_NUMBER,
    depth=1,
    needs=("akinon",),
)

# One aliased lookup per provider; each part is kept only if its connector exists.
W2_PARTS = {
    "akinon": 'a: orderByNumber(provider: AKINON, number: "%s") { ...F }' % AKINON_NUMBER,
    "frontpayment": 'f: orderByNumber(provider: FRONTPAYMENT, number: "%s") { ...F }'
    % FRONTPAYMENT_UUID,
    "kalixo": 'k: orderByNumber(provider: KALIXO, number: "%s") { ...F }' % KALIXO_ORDER,
    "lipalater": 'l: orderByNumber(provider: LIPALATER, number: "%s", customerId: "%s") '
    "{ ...F }" % (LIPALATER_ORDER, LIPALATER_MEMBER),
}
W2_FRAGMENT = "fragment F on Order { id provider number status total { amount currency } }"


def w2(available: set[str]) -> Workload:
    parts = [part for name, part in W2_PARTS.items() if name in available]
    providers = tuple(name for name in W2_PARTS if name in available)
    return Workload(
        "W2",
        f"{len(parts)} orders from {len(parts)} providers in one query",
        "{ %s } %s" % (" ".join(parts), W2_FRAGMENT),
        depth=1,
        needs=providers,
    )


# The 50 orders' items are more than one page of 100: the second page follows ``next``.
W3 = Workload(
    "W3",
    "50 orders with items, addresses and cancellation plans (Akinon)",
    "{ orders(first: 50) { totalCount nodes { id number status total { amount currency } "
    "items { id sku quantity status unitPrice { amount currency } } "
    "shippingAddress { id city line } billingAddress { id city } "
    "cancellationPlans { id planType status } } } }",
    depth=3,
    needs=("akinon",),
)

W4 = Workload(
    "W4",
    "an order with items, repayment schedule and credit status (Lipa Later)",
    '{ orderByNumber(provider: LIPALATER, number: "%s", customerId: "%s") '
    "{ id number status total { amount currency } items { id name quantity total { amount } } "
    "repaymentSchedule(loanProductId: %d) { currency installment { amount } "
    "totalRepayment { amount } periods { period dueDate totalDue { amount } } } "
    "creditStatus { status } } }" % (LIPALATER_ORDER, LIPALATER_MEMBER, LOAN_PRODUCT_ID),
    depth=2,
    needs=("lipalater",),
)

# ``first`` is at most 100, so 200 orders are two aliased pages; the second starts after the
# cursor of offset 99 of the unfiltered list (the gateway's own cursor for it: a cursor names its
# list and filter), and both pages are asked for at once.
W5_FIELDS = (
    "nodes { id number status providerStatus paymentStatus placedAt currency invoiceNumber "
    "total { amount currency } refunded { amount } }"
)
W5 = Workload(
    "W5",
    "200 orders x 10 fields (Akinon, 2 pages of 100)",
    '{ p1: orders(first: 100) { %s } p2: orders(first: 100, after: "%s") { %s } }'
    % (W5_FIELDS, cursor_for(99, scope_of("orders", {})), W5_FIELDS),
    depth=1,
    needs=("akinon",),
)


def workloads(available: set[str]) -> tuple[list[Workload], list[str]]:
    """The workloads the landed connectors can serve, and a note for each one left out."""
    chosen, notes = [], []
    for workload in (W1, w2(available), W3, W4, W5):
        missing = [n for n in workload.needs if n not in available]
        if missing or not workload.needs:
            notes.append(f"{workload.name} skipped: no connector for {', '.join(missing)}")
        else:
            chosen.append(workload)
    return chosen, notes
