"""Keeps the benchmark from rotting: its modules import, and the baseline answers W1 exactly
as the gateway does, with the same single upstream request."""

from __future__ import annotations

import asyncio
import subprocess
import tempfile
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.benchmarks import ab, load, procs, report, run
from tests.benchmarks.workloads import W1


def test_w1_baseline_matches_gateway_and_load_runs() -> None:
    sandbox_proc, sandboxes = procs.start_sandboxes()
    targets = []
    try:
        port = procs.free_port()
        config = procs.gateway_config(sandboxes, port, Path(tempfile.mkdtemp()) / "g.toml")
        targets.append(procs.start_gateway(config, port))
        targets.append(procs.start_baseline(sandboxes, procs.free_port(), sorted(sandboxes)))
        gateway, baseline = targets
        answers = [run.upstream_calls(sandboxes, t.url, W1.document) for t in targets]
        assert answers[0] == answers[1]
        assert answers[0][1] == 1
        assert answers[0][0]["data"]["orderByNumber"]["number"] == "45243493"
        row = run.cell(targets, W1, 0.0, 2, argparse_like(requests=20, duration=3.0, rounds=2))
        figures = row["gateway"]
        assert figures["requests"] == 10  # each of the 2 rounds has half the requests
        assert figures["errors"] == row["baseline"]["errors"] == 0
        assert len(figures["round_p50s_ms"]) == 2
        assert figures["p50_ms"] == min(figures["round_p50s_ms"])
        assert gateway.peak_rss_mb() > 0
        assert "| target |" in report.markdown(
            {
                "machine": {"python": "3", "cpus": 2},
                "notes": [],
                "peak_rss_mb": {"gateway": 1.0, "baseline": 1.0},
                "wall_s": 1,
                "workloads": {
                    "W1": {
                        "title": W1.title,
                        "depth": 1,
                        "same_json": True,
                        "upstream_calls": {"gateway": 1, "baseline": 1},
                        "cells": [
                            {"latency_ms": 0, "concurrency": 2, "gateway": figures,
                             "baseline": figures}
                        ],
                    }
                },
            }
        )  # fmt: skip
    finally:
        for target in targets:
            target.stop()
        sandbox_proc.stop()


def test_ab_runs_two_checkouts_side_by_side(tmp_path: Path) -> None:
    """``tests.benchmarks.ab``: a commit's gateway (a temporary worktree) against this one."""
    if subprocess.run(["git", "-C", str(procs.ROOT), "rev-parse", "HEAD"], check=False).returncode:
        pytest.skip("not a git checkout")
    argv = ["HEAD", "--workloads", "W1", "--rounds", "2", "--requests", "20", "--out"]
    assert ab.main([*argv, str(tmp_path)]) == 0
    table = (tmp_path / "ab.md").read_text()
    assert "| W1 | " in table
    worktrees = subprocess.run(
        ["git", "-C", str(procs.ROOT), "worktree", "list"], capture_output=True, text=True
    )
    assert "commerce-graph-ab-" not in worktrees.stdout  # removed again


async def test_load_generator_reads_answers_by_length_and_by_chunks() -> None:
    """The load generator's own HTTP/1.1 reading: a ``Content-Length`` answer, a chunked one
    and a refusal, each on a kept-alive connection, and every answer served counted."""
    answered: list[str] = []

    async def sized(request: web.Request) -> web.Response:
        answered.append("sized")
        return web.json_response({"data": {"n": 1}})

    async def chunked(request: web.Request) -> web.StreamResponse:
        answered.append("chunked")
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for part in (b'{"data": ', b'{"n": 2}', b"}"):
            await response.write(part)
        await response.write_eof()
        return response

    async def refused(request: web.Request) -> web.Response:
        return web.json_response({"errors": [{"message": "no"}]}, status=400)

    app = web.Application()
    app.add_routes([web.post("/sized", sized), web.post("/chunked", chunked),
                    web.post("/refused", refused)])  # fmt: skip
    async with TestServer(app) as server:
        for path in ("sized", "chunked"):
            result = await load.drive(str(server.make_url(f"/{path}")), "{ n }", 3, 30, 5.0)
            assert len(result["latencies_ms"]) == 30  # the window closed at its 30th answer
            assert result["error_count"] == 0
            assert result["window_s"] > 0
            # the warm-up's too, and any answered before the window opened or after it closed
            assert result["served"] >= 30 + 3 * load.WARM_UP
            assert answered.count(path) == result["served"]
        result = await load.drive(str(server.make_url("/refused")), "{ n }", 2, 6, 5.0)
        assert result["error_count"] == result["served"] >= 6 + 2 * load.WARM_UP
        assert result["errors"][0].startswith("400: ")


async def test_the_window_opens_when_the_last_worker_is_past_its_warm_up() -> None:
    """A worker held up in its warm-up holds the window shut: the others' answers meanwhile,
    with fewer requests in flight than the concurrency, are served and not counted."""
    held = asyncio.Event()

    async def answer(request: web.Request) -> web.Response:
        if not held.is_set():  # the first request of all waits 0.3 s
            held.set()
            await asyncio.sleep(0.3)
        return web.json_response({"data": {"n": 1}})

    app = web.Application()
    app.add_routes([web.post("/", answer)])
    async with TestServer(app) as server:
        result = await load.drive(str(server.make_url("/")), "{ n }", 2, 10, 5.0)
    assert len(result["latencies_ms"]) == 10
    assert max(result["latencies_ms"]) < 300  # the held request is the warm-up's
    # the other worker went on while the first was held: many answers, none counted
    assert result["served"] > 10 + 2 * load.WARM_UP + 10


class argparse_like:  # noqa: N801 - stands in for argparse.Namespace
    def __init__(self, **values: object) -> None:
        self.__dict__.update(values)
