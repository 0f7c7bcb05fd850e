"""The benchmark's figures as Markdown: the side-by-side table and the targets, checked."""

from __future__ import annotations

from typing import Any

OVERHEAD_LIMIT = {"W5": 2.0}  # every other workload: 1.5x the baseline's overhead
THROUGHPUT_SHARE, TAIL_LIMIT, RSS_LIMIT_MB = 0.9, 2.0, 150.0


def _pair(row: dict[str, Any], key: str) -> str:
    return f"{row['gateway'][key]:g} / {row['baseline'][key]:g}"


def _ratio(gateway: float, baseline: float) -> float:
    return gateway / baseline if baseline > 0 else float("inf")


def targets(summary: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """``(target, measured, met)`` for every target the issue sets."""
    checks = []
    for name, w in summary["workloads"].items():
        calls = w["upstream_calls"]
        checks.append(
            (f"{name} upstream requests = minimum", f"{calls['gateway']} vs {calls['baseline']}",
             calls["gateway"] == calls["baseline"])
        )  # fmt: skip
        limit = OVERHEAD_LIMIT.get(name, 1.5)
        for row in w["cells"]:
            g, b = row["gateway"], row["baseline"]
            where = f"L={row['latency_ms']:g} c={row['concurrency']}"
            if row["concurrency"] == 1:
                ratio = _ratio(g["overhead_ms"], b["overhead_ms"])
                checks.append(
                    (f"{name} {where} overhead <= {limit:g}x baseline",
                     f"{g['overhead_ms']:g} vs {b['overhead_ms']:g} ms ({ratio:.2f}x)",
                     ratio <= limit)
                )  # fmt: skip
            else:
                tail = _ratio(g["p99_ms"], g["p50_ms"])
                checks.append((f"{name} {where} p99/p50 <= 2", f"{tail:.2f}", tail <= TAIL_LIMIT))
                if row["latency_ms"] > 0:
                    floor = row["concurrency"] / (w["depth"] * row["latency_ms"] / 1000)
                    need = THROUGHPUT_SHARE * floor
                    checks.append(
                        (f"{name} {where} rps >= 90% of c / critical path ({need:.0f})",
                         f"{g['rps']:g} ({g['rps'] / floor:.0%}; baseline {b['rps'] / floor:.0%})",
                         g["rps"] >= need)
                    )  # fmt: skip
    rss = summary["peak_rss_mb"]
    checks.append(
        ("gateway peak RSS < 150 MB", f"{rss['gateway']:g} MB (baseline {rss['baseline']:g})",
         rss["gateway"] < RSS_LIMIT_MB)
    )  # fmt: skip
    return checks


def markdown(summary: dict[str, Any]) -> str:
    lines = [
        "Gateway / baseline in every cell. L: added latency per upstream request; c: "
        "concurrency; overhead: p50 minus the critical path's upstream time (depth x L); CPU: "
        "seconds of the server process per 1,000 requests.",
        "",
        "| workload | calls | L ms | c | rps | p50 ms | p99 ms | overhead ms | CPU s/1k |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, w in summary["workloads"].items():
        calls = f"{w['upstream_calls']['gateway']} / {w['upstream_calls']['baseline']}"
        for row in w["cells"]:
            lines.append(
                f"| {name} | {calls} | {row['latency_ms']:g} | {row['concurrency']} | "
                f"{_pair(row, 'rps')} | {_pair(row, 'p50_ms')} | {_pair(row, 'p99_ms')} | "
                f"{_pair(row, 'overhead_ms')} | {_pair(row, 'cpu_s_per_1000')} |"
            )
    rss = summary["peak_rss_mb"]
    lines += [
        "",
        f"Peak RSS: gateway {rss['gateway']:g} MB, baseline {rss['baseline']:g} MB. "
        f"Machine: {summary['machine']['cpus']} CPUs shared by the sandboxes, the server and the "
        f"load generator; Python {summary['machine']['python']}; {summary['wall_s']:g} s.",
        "",
        "Workloads: "
        + "; ".join(
            f"{n} {w['title']} (depth {w['depth']}, same JSON: {'yes' if w['same_json'] else 'NO'})"
            for n, w in summary["workloads"].items()
        )
        + ".",
    ]
    if summary["notes"]:
        lines += ["", "Notes: " + "; ".join(summary["notes"]) + "."]
    met = targets(summary)
    lines += [
        "",
        f"Targets met: {sum(ok for *_, ok in met)} of {len(met)}.",
        "",
        "| target | measured | met |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {t} | {m} | {'yes' if ok else '**no**'} |" for t, m, ok in met]
    return "\n".join(lines) + "\n"
