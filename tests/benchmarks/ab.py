"""``python -m tests.benchmarks.ab REF``: this checkout's gateway against another commit's.

The machine's speed drifts by 2x between runs, so a change is measured against its parent at the
same time, not against last week's table: both gateways (REF checked out in a temporary git
worktree, and this checkout) serve the same sandboxes, and each workload runs in alternating
rounds (REF, this, this, REF, ...). Reports each one's best p50, best requests per second and
median CPU per request. Options: ``--workloads W1,W3``, ``--rounds 5``, ``--latency 0``,
``--concurrency 1``, ``--requests 800``, ``--out DIR``. Writes ``results/ab.md``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.benchmarks import procs
from tests.benchmarks.run import RESULTS, measure
from tests.benchmarks.workloads import workloads

ALL = {"akinon", "frontpayment", "kalixo", "lipalater"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("ref")
    parser.add_argument("--workloads", default="W1,W2,W3,W4,W5")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--requests", type=int, default=800)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    chosen = [w for w in workloads(ALL)[0] if w.name in args.workloads.split(",")]

    workdir = Path(tempfile.mkdtemp(prefix="commerce-graph-ab-"))
    tree = workdir / "ref"
    git = ["git", "-C", str(procs.ROOT)]
    subprocess.run([*git, "worktree", "add", "--detach", str(tree), args.ref], check=True)
    sandbox_proc, sandboxes = procs.start_sandboxes(args.latency)
    targets: list[procs.Proc] = []
    lines = [
        f"`{args.ref}` / this checkout, c = {args.concurrency}, L = {args.latency:g} ms, "
        f"{args.rounds} rounds.",
        "",
        "| workload | best p50 ms | best rps | median CPU ms per request |",
        "| --- | --- | --- | --- |",
    ]
    try:
        for name, source in (("ref", tree), ("this", procs.ROOT)):
            port = procs.free_port()
            config = procs.gateway_config(sandboxes, port, workdir / f"{name}.toml")
            targets.append(procs.start_gateway(config, port, source, name))
        for workload in chosen:
            found: dict[str, list[tuple[float, float, float]]] = {t.name: [] for t in targets}
            for t in targets:
                procs.post_json(t.url, workload.document)  # connections open, caches warm
            for round_ in range(args.rounds):
                for t in targets if round_ % 2 == 0 else targets[::-1]:
                    m = measure(t, workload, args.latency, args.concurrency, args.requests, 4.0)
                    found[t.name].append((m["p50_ms"], m["rps"], m["cpu_s_per_1000"]))
            ref, this = found["ref"], found["this"]
            p50 = f"{min(x[0] for x in ref):.2f} / {min(x[0] for x in this):.2f}"
            rps = f"{max(x[1] for x in ref):.1f} / {max(x[1] for x in this):.1f}"
            cpu = (
                f"{statistics.median(x[2] for x in ref):.3f} / "
                f"{statistics.median(x[2] for x in this):.3f}"
            )
            lines.append(f"| {workload.name} | {p50} | {rps} | {cpu} |")
            print(lines[-1], flush=True)  # noqa: T201
    finally:
        for t in targets:
            t.stop()
        sandbox_proc.stop()
        subprocess.run([*git, "worktree", "remove", "--force", str(tree)], check=False)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ab.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
