"""``python -m tests.benchmarks.run``: the gateway against the floor, side by side.

Starts the sandboxes (one process, ``tests.benchmarks.sandboxes``), the gateway (``commerce-graph
serve --config <generated toml>``, its own uvicorn process) and the baseline
(``tests.benchmarks.baseline``, its own uvicorn process). For each workload it first checks that
both answer the same JSON and counts the upstream requests each makes (the sandboxes' request
logs), then, at each added latency L, drives each target from a separate load-generator process
at each concurrency. Writes ``results/latest.json`` and ``results/latest.md``.

Options: ``--latencies 0,50``, ``--concurrency 1,64``, ``--duration 4`` (seconds per cell),
``--requests 1500`` (per cell), ``--rounds 3`` (alternating rounds per cell, see :func:`cell`),
``--workloads W1,W3``, ``--out DIR``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from providers.model import ProviderName
from providers.registry import connector_built
from tests.benchmarks import procs, report
from tests.benchmarks.workloads import Workload, workloads

RESULTS = Path(__file__).parent / "results"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def load(url: str, document: str, concurrency: int, requests: int, duration: float) -> Any:
    out = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.load", "--url", url,
         "--concurrency", str(concurrency), "--requests", str(requests),
         "--duration", str(duration)],
        input=document.encode(), capture_output=True, cwd=procs.ROOT, check=True,
    )  # fmt: skip
    return json.loads(out.stdout)


def upstream_calls(sandboxes: dict[str, Any], url: str, document: str) -> tuple[Any, int]:
    procs.clear_requests(sandboxes)
    answer = procs.post_json(url, document)
    return answer, sum(procs.count_requests(sandboxes).values())


def measure(
    target: procs.Proc, workload: Workload, latency_ms: float, c: int, requests: int,
    duration: float,
) -> dict[str, Any]:  # fmt: skip
    cpu_before = target.cpu_s()
    result = load(target.url, workload.document, c, requests, duration)
    cpu = target.cpu_s() - cpu_before
    lat = result["latencies_ms"]
    n = len(lat)
    p50, p99 = percentile(lat, 0.50), percentile(lat, 0.99)
    return {
        "requests": n,
        "errors": result["error_count"],
        "error_sample": result["errors"],
        "rps": round(n / result["window_s"], 1),  # the steady state's (tests.benchmarks.load)
        "p50_ms": round(p50, 2),
        "p99_ms": round(p99, 2),
        "mean_ms": round(statistics.fmean(lat), 2) if lat else None,
        "overhead_ms": round(p50 - workload.depth * latency_ms, 2),
        # Every answer served (the warm-up's and the tail's too) took the server's CPU.
        "cpu_s_per_1000": round(cpu / max(result["served"], 1) * 1000, 3),
    }


def cell(
    targets: list[procs.Proc], workload: Workload, latency_ms: float, c: int, args: Any
) -> dict[str, Any]:
    """Each target in ``args.rounds`` alternating rounds (gateway, baseline, gateway, ...),
    each with its share of the requests and the time; each target's round with the lowest
    p50 is its figure. On a shared machine the CPU time a process gets drifts over seconds,
    and alternating rounds give both targets the same chances."""
    rounds: dict[str, list[dict[str, Any]]] = {t.name: [] for t in targets}
    requests = max(args.requests // args.rounds, c)
    for _ in range(args.rounds):
        for target in targets:
            rounds[target.name].append(
                measure(target, workload, latency_ms, c, requests, args.duration / args.rounds)
            )
    row: dict[str, Any] = {}
    for name, measured in rounds.items():
        best = min(measured, key=lambda r: r["p50_ms"])
        row[name] = {**best, "round_p50s_ms": [r["p50_ms"] for r in measured]}
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latencies", default="0,50")
    parser.add_argument("--concurrency", default="1,64")
    parser.add_argument("--duration", type=float, default=4.0)
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workloads", default="")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    latencies = [float(x) for x in args.latencies.split(",")]
    concurrencies = [int(x) for x in args.concurrency.split(",")]

    started = time.monotonic()
    sandbox_proc, sandboxes = procs.start_sandboxes()
    available = {n.value for n in ProviderName if connector_built(n)} & set(sandboxes)
    chosen, notes = workloads(available)
    if args.workloads:
        chosen = [w for w in chosen if w.name in args.workloads.split(",")]
    targets: list[procs.Proc] = []
    try:
        workdir = Path(tempfile.mkdtemp(prefix="commerce-graph-bench-"))
        gw_port, base_port = procs.free_port(), procs.free_port()
        config = procs.gateway_config(sandboxes, gw_port, workdir / "gateway.toml")
        targets.append(procs.start_gateway(config, gw_port))
        targets.append(procs.start_baseline(sandboxes, base_port, sorted(available)))
        gateway, baseline = targets

        results: dict[str, Any] = {}
        for workload in chosen:
            g_answer, g_calls = upstream_calls(sandboxes, gateway.url, workload.document)
            b_answer, b_calls = upstream_calls(sandboxes, baseline.url, workload.document)
            results[workload.name] = {
                "title": workload.title,
                "depth": workload.depth,
                "same_json": g_answer == b_answer,
                "upstream_calls": {"gateway": g_calls, "baseline": b_calls},
                "cells": [],
            }
            if g_answer != b_answer:
                notes.append(f"{workload.name}: the gateway and the baseline answered differently")
        for latency_ms in latencies:
            procs.set_latency(sandboxes, latency_ms)
            for workload in chosen:
                for c in concurrencies:
                    row: dict[str, Any] = {"latency_ms": latency_ms, "concurrency": c}
                    row.update(cell(targets, workload, latency_ms, c, args))
                    results[workload.name]["cells"].append(row)
                    print(  # noqa: T201 - progress for the person running the benchmark
                        f"L={latency_ms:g} {workload.name} c={c}: "
                        f"gateway {row['gateway']['rps']} rps p50 {row['gateway']['p50_ms']} ms,"
                        f" baseline {row['baseline']['rps']} rps "
                        f"p50 {row['baseline']['p50_ms']} ms",
                        flush=True,
                    )
        summary = {
            "machine": {"python": platform.python_version(), "cpus": procs.cpu_count(),
                        "platform": platform.platform()},
            "settings": {"latencies_ms": latencies, "concurrency": concurrencies,
                         "duration_s": args.duration, "requests": args.requests,
                         "rounds": args.rounds},
            "providers": sorted(available),
            "notes": notes,
            "peak_rss_mb": {t.name: round(t.peak_rss_mb(), 1) for t in targets},
            "workloads": results,
            "wall_s": round(time.monotonic() - started, 1),
        }  # fmt: skip
    finally:
        for target in targets:
            target.stop()
        sandbox_proc.stop()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.json").write_text(json.dumps(summary, indent=2) + "\n")
    (args.out / "latest.md").write_text(report.markdown(summary))
    print(report.markdown(summary))  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
