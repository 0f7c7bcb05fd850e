"""The graphql-http audit suite (GraphQL over HTTP) against the live gateway: every MUST and
SHOULD audit passes. ``.ci/run`` installs the pinned npm package under tests/audit/."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from graph.config import Config
from tests.conftest import started

AUDIT = Path(__file__).resolve().parent / "audit"


async def npm_ci() -> None:
    npm = shutil.which("npm")
    assert npm, "node is installed but npm is not: cannot install tests/audit"
    proc = await asyncio.create_subprocess_exec(
        npm, "ci", "--no-audit", "--no-fund", "--prefix", str(AUDIT)
    )
    assert await proc.wait() == 0, "npm ci --prefix tests/audit failed"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
async def test_graphql_http_audit_passes_every_must_and_should() -> None:
    if not (AUDIT / "node_modules" / "graphql-http").is_dir():
        await npm_ci()
    config = Config.from_dict({"server": {"api_keys": {"audit-key": ["orders:read"]}}})
    async with started(config) as gw:
        node = shutil.which("node")
        assert node is not None
        proc = await asyncio.create_subprocess_exec(
            node,
            str(AUDIT / "audit.mjs"),
            gw.url,
            "audit-key",
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0
    results = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    assert len(results) > 60
    required = [r for r in results if r["name"].startswith(("MUST", "SHOULD"))]
    failed = [f"{r['id']} {r['name']}: {r['reason']}" for r in required if r["status"] != "ok"]
    assert failed == []
    assert len(required) >= 30  # 36 in graphql-http 1.23.1; the MAY audits pass too
