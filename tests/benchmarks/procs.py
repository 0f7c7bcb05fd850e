"""The benchmark's processes: sandboxes, gateway, baseline; and what /proc says about them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graph.config import DEV_KEY

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    url: str = ""

    @property
    def pid(self) -> int:
        return self.popen.pid

    def cpu_s(self) -> float:
        """User + system CPU seconds of the process so far (/proc/<pid>/stat)."""
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def peak_rss_mb(self) -> float:
        """The process's peak resident set (VmHWM) in MB."""
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        if self.popen.stdout is not None:
            self.popen.stdout.close()


def cpu_count() -> int:
    return os.cpu_count() or 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _python(*args: str) -> list[str]:
    return [sys.executable, *args]


def start_sandboxes(latency_ms: float = 0.0) -> tuple[Proc, dict[str, Any]]:
    """The sandboxes process and what it printed: each sandbox's URL and settings."""
    popen = subprocess.Popen(
        _python("-m", "tests.benchmarks.sandboxes", "--latency-ms", str(latency_ms)),
        cwd=ROOT,
        stdout=subprocess.PIPE,
    )
    assert popen.stdout is not None
    line = popen.stdout.readline()
    if not line:
        raise RuntimeError("the sandboxes process did not start")
    return Proc("sandboxes", popen), json.loads(line)


def gateway_config(sandboxes: dict[str, Any], port: int, path: Path) -> Path:
    """A TOML config for ``commerce-graph serve`` pointing at the sandboxes."""
    lines = [
        "[server]",
        f'api_keys = {{ "{DEV_KEY}" = ["orders:read"] }}',
        f"port = {port}",
        "",
    ]
    for name, described in sandboxes.items():
        lines.append(f"[providers.{name}]")
        lines.append(f"base_url = {json.dumps(described['base_url'])}")
        lines += [f"{k} = {json.dumps(v)}" for k, v in described["settings"].items()]
        lines.append("")
    path.write_text("\n".join(lines))
    return path


def start_gateway(config: Path, port: int, source: Path = ROOT, name: str = "gateway") -> Proc:
    """The gateway of the checkout at ``source`` (its packages come first on ``sys.path``)."""
    popen = subprocess.Popen(
        _python("-m", "graph.cli", "serve", "--config", str(config)),
        cwd=source,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return _ready(Proc(name, popen, f"http://127.0.0.1:{port}/graphql"))


def start_baseline(sandboxes: dict[str, Any], port: int, available: list[str]) -> Proc:
    env = dict(
        os.environ, BENCH_SANDBOXES=json.dumps(sandboxes), BENCH_AVAILABLE=",".join(available)
    )
    popen = subprocess.Popen(
        _python(
            "-m",
            "uvicorn",
            "tests.benchmarks.baseline:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    return _ready(Proc("baseline", popen, f"http://127.0.0.1:{port}/graphql"))


def _ready(proc: Proc, timeout_s: float = 20.0) -> Proc:
    root = proc.url.rsplit("/", 1)[0] + "/"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode}")
        try:
            urllib.request.urlopen(root, timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.stop()
    raise RuntimeError(f"{proc.name} did not answer within {timeout_s:g} s")


def sandbox_call(base_url: str, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base_url + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        raw = response.read()
    return json.loads(raw) if raw else None


def set_latency(sandboxes: dict[str, Any], latency_ms: float) -> None:
    for described in sandboxes.values():
        sandbox_call(
            described["base_url"], "PUT", "/_sandbox/faults", {"latency_s": latency_ms / 1000}
        )


def clear_requests(sandboxes: dict[str, Any]) -> None:
    for described in sandboxes.values():
        sandbox_call(described["base_url"], "DELETE", "/_sandbox/requests")


def count_requests(sandboxes: dict[str, Any]) -> dict[str, int]:
    counts = {}
    for name, described in sandboxes.items():
        seen = sandbox_call(described["base_url"], "GET", "/_sandbox/requests")
        if seen:
            counts[name] = len(seen)
    return counts


def post_json(url: str, document: str) -> Any:
    data = json.dumps({"query": document}).encode()
    request = urllib.request.Request(url, data=data, method="POST")
    request.add_header("Content-Type", "application/json")
    request.add_header("Authorization", f"Bearer {DEV_KEY}")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())
