"""GraphiQL in a real browser: headless Chromium opens /graphql, runs a query, shows the result.

Driven over the Chrome DevTools protocol (aiohttp's websocket client; no extra packages). The
page loads its JS from the gateway itself (``commerce-graph vendor-graphiql``), since this
machine cannot reach a CDN; the test proves the query ran by finding its answer on the page
and the sandbox's record of the call.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest

from graph import graphiql
from graph.config import DEV_KEY
from providers.sandbox.akinon_data import EXAMPLE_ORDER_NUMBER
from tests.harness import Gateway

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (.ci/run installs Debian's chromium)"
)

QUERY = (
    "query BrowserCheck { orderByNumber(provider: AKINON, number: "
    f'"{EXAMPLE_ORDER_NUMBER}") {{ number status total {{ currency }} }} }}'
)


class Page:
    """One browser tab over the DevTools protocol: evaluate JavaScript, wait for a condition."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.ids = itertools.count(1)

    async def call(self, method: str, **params: Any) -> Any:
        message_id = next(self.ids)
        await self.ws.send_json({"id": message_id, "method": method, "params": params})
        async for message in self.ws:
            data = json.loads(message.data)
            if data.get("id") == message_id:
                assert "error" not in data, data
                return data["result"]
        raise AssertionError("the browser closed the DevTools connection")

    async def eval(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    async def wait_for(self, expression: str, timeout_s: float, what: str) -> Any:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            value = await self.eval(expression)
            if value:
                return value
            await asyncio.sleep(0.1)
        seen = await self.eval("document.querySelector('#graphiql')?.innerText.slice(0, 2000)")
        raise AssertionError(f"timed out waiting for {what}; the page shows: {seen}")


async def _devtools_port(profile: Path, proc: asyncio.subprocess.Process) -> int:
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 20
    while not marker.exists() or not marker.read_text().strip():
        assert proc.returncode is None, "chromium exited"
        assert time.monotonic() < deadline, "chromium did not open its DevTools port"
        await asyncio.sleep(0.05)
    return int(marker.read_text().split()[0])


@pytest.fixture(scope="module", autouse=True)
def vendored_graphiql() -> None:
    if not graphiql.vendored():
        try:
            graphiql.vendor()
        except (OSError, subprocess.CalledProcessError) as exc:
            pytest.skip(f"GraphiQL's assets are not vendored and npm could not fetch them: {exc}")


async def test_graphiql_runs_a_query_and_shows_the_result(gateway: Gateway) -> None:
    headers = json.dumps({"Authorization": f"Bearer {DEV_KEY}"})
    url = f"{gateway.url}?q={quote(QUERY)}&headers={quote(headers)}"
    # Chromium's helper processes may still write to the profile as the browser exits.
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        assert CHROMIUM is not None
        proc = await asyncio.create_subprocess_exec(
            *[
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                f"--user-data-dir={profile}",
                "--remote-debugging-port=0",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            port = await _devtools_port(Path(profile), proc)
            async with aiohttp.ClientSession() as session:
                async with session.put(
                    f"http://127.0.0.1:{port}/json/new?{quote(url, safe='')}"
                ) as r:
                    target = await r.json(content_type=None)
                async with session.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                    page = Page(ws)
                    button = "document.querySelector('.graphiql-execute-button')"
                    await page.wait_for(
                        f"!!{button}", 20, "GraphiQL to render (its JS loaded locally)"
                    )
                    assert not await page.eval(
                        "document.documentElement.outerHTML.includes('unpkg.com')"
                    ), "GraphiQL's assets should come from the gateway, not a CDN"
                    gateway.clear_calls()
                    await page.eval(f"{button}.click()")
                    shown = await page.wait_for(
                        "(() => { const t = document.querySelector('.result-window')?.innerText"
                        f" || ''; return t.includes('{EXAMPLE_ORDER_NUMBER}') && t; }})()",
                        20,
                        "the query's result on the page",
                    )
        finally:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
    assert '"orderByNumber"' in shown
    assert '"currency"' in shown
    assert "UNAUTHENTICATED" not in shown
    # It ran for real: the sandbox behind the gateway was asked for the order.
    assert gateway.calls("akinon", "/orders/")
