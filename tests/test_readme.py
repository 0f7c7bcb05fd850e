"""The README's examples work as written.

Every ```graphql block of README.md is cut into its operations (a line that starts one, and
the lines under it up to the next), which run in the README's order, as a reader pasting them
into GraphiQL would, against the embedded default's seeded data. Each must answer without an
error and with no ``userErrors``: an example that drifts from the schema or from the seeds fails
here. Every ```toml block is a config the gateway starts from, and the table of what each
provider supports is what ``providers { capabilities }`` answers.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from graph.app import create_app
from graph.config import Config
from tests.harness import Gateway

README = Path(__file__).resolve().parent.parent / "README.md"
_BLOCK = re.compile(r"^```graphql\n(.*?)^```", re.DOTALL | re.MULTILINE)
_TOML = re.compile(r"^```toml\n(.*?)^```", re.DOTALL | re.MULTILINE)
_STARTS = re.compile(r"^(\{|query\b|mutation\b)")


def examples(text: str) -> list[str]:
    """The operations of every graphql block, in order; comment lines are left out."""
    found: list[str] = []
    for block in _BLOCK.findall(text):
        for line in block.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if _STARTS.match(line):
                found.append(line)
            else:
                found[-1] += "\n" + line
    return found


def user_errors(data: Any) -> list[Any]:
    """Every ``userErrors`` entry anywhere in an answer's data."""
    if isinstance(data, dict):
        own = data.get("userErrors") or []
        return [*own, *(e for v in data.values() for e in user_errors(v))]
    if isinstance(data, list):
        return [e for v in data for e in user_errors(v)]
    return []


def test_the_readme_blocks_are_cut_into_their_operations() -> None:
    found = examples(README.read_text())
    assert len(found) >= 12  # the quick start, two entry-point examples, ten per provider
    assert found[0].startswith("{ orderByNumber(provider: AKINON")
    assert sum(op.startswith("mutation") for op in found) >= 6
    assert all(op.count("{") == op.count("}") for op in found)


async def test_every_readme_example_answers_without_errors(gateway: Gateway) -> None:
    for operation in examples(README.read_text()):
        answer = await gateway.query(operation)
        assert answer.status == 200, (operation, answer.body)
        assert not answer.errors, (operation, answer.errors)
        assert not user_errors(answer.data), (operation, answer.data)


@pytest.mark.parametrize("block", _TOML.findall(README.read_text()))
def test_every_readme_config_builds_a_gateway(
    block: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # where a relative persisted_queries file is read from
    document = "{ providers { name } }"
    manifest = {hashlib.sha256(document.encode()).hexdigest(): document}
    (tmp_path / "persisted-queries.json").write_text(json.dumps(manifest))
    config = Config.from_dict(tomllib.loads(block))
    assert create_app(config) is not None


# The README's "What each provider supports" rows, by the capabilities each one stands for.
_ROWS = {
    "read an order": ("READ_ORDER",),
    "list / filter orders": ("LIST_ORDERS",),
    "place": ("PLACE_ORDER",),
    "confirm": ("CONFIRM_ORDER",),
    "cancel": ("CANCEL_ORDER",),
    "refund": ("REFUND_ORDER",),
    "reject item": ("REJECT_ORDER_ITEM",),
    "contract accept/reject": ("CONTRACT",),
    "item status update": ("UPDATE_ITEM_STATUS",),
    "repayment schedule, credit status": ("REPAYMENT_SCHEDULE", "CREDIT_STATUS"),
    "cancellation plans, addresses": ("CANCELLATION_PLANS", "CUSTOMER_ADDRESSES"),
}


def capability_table(text: str) -> dict[str, set[str]]:
    """Provider name -> the capabilities the README's table gives it (a cell other than "-")."""
    section = text.split("## What each provider supports", 1)[1].lstrip().splitlines()
    rows = section[: next(i for i, line in enumerate(section) if not line.startswith("|"))]
    names = [cell.strip() for cell in rows[0].strip("|").split("|")][1:]
    table: dict[str, set[str]] = {name: set() for name in names}
    for row in rows[2:]:
        operation, *cells = (cell.strip() for cell in row.strip("|").split("|"))
        for name, cell in zip(names, cells, strict=True):
            if cell != "-":
                table[name].update(_ROWS[operation])
    return table


async def test_the_readme_capability_table_is_what_providers_answers(gateway: Gateway) -> None:
    data = await gateway.ok("{ providers { name capabilities } }")
    served = {p["name"].lower(): set(p["capabilities"]) for p in data["providers"]}
    assert capability_table(README.read_text()) == served
