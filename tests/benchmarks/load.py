"""The load generator, a process of its own: fixed concurrency, bounded requests and time.

``python -m tests.benchmarks.load --url U --concurrency C --requests N --duration S`` reads
the GraphQL document on stdin and keeps ``C`` requests in flight, one worker each, until ``N``
have completed or ``S`` seconds have passed; it prints one JSON line: every latency in ms, the
errors, and the elapsed wall time.

Each worker's first two requests (``WARM_UP``) are not counted: the first opens its
connection, and by the end of the second the workers no longer move in step. Each worker goes
on as soon as its own answers are in, with no barrier between the warm-up and the counted
requests. Measured, W1 at c = 64, L = 50: with one warm-up request each and a barrier after it
(all 64 workers waiting for the last answer, then sending at once), the counted requests began
with a burst of 64, and its queue was most of the p99: the 4% of requests above 95 ms were the
first 60 counted, and p99 was 110-117 ms where p50 was 64-68. Without the barrier, the first
counted requests still queued behind the warm-up's burst; after two requests each, none did.
The steady state is what is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

import aiohttp

from graph.config import DEV_KEY

WARM_UP = 2  # requests per worker, not counted: the first opens its connection


async def drive(url: str, document: str, concurrency: int, requests: int, duration: float) -> Any:
    payload = json.dumps({"query": document}).encode()
    headers = {"Authorization": f"Bearer {DEV_KEY}", "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    latencies: list[float] = []
    errors: list[str] = []
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(counted: bool = True) -> None:
            started = time.perf_counter()
            async with session.post(url, data=payload, headers=headers) as response:
                body = await response.read()
            if response.status != 200 or b'"errors"' in body:
                errors.append(f"{response.status}: {body[:200]!r}")
            if counted:
                latencies.append((time.perf_counter() - started) * 1000)

        issued = 0
        began: list[float] = []  # when each worker's counted requests began
        deadline = 0.0  # ``duration`` after the first of them

        async def worker() -> None:
            nonlocal issued, deadline
            for _ in range(WARM_UP):
                await one(counted=False)
            began.append(time.perf_counter())
            if len(began) == 1:
                deadline = began[0] + duration
            while issued < requests and time.perf_counter() < deadline:
                issued += 1
                await one()

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - min(began)
    return {
        "latencies_ms": latencies,
        "errors": errors[:5],
        "error_count": len(errors),
        "elapsed_s": elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--duration", type=float, default=5.0)
    args = parser.parse_args()
    document = sys.stdin.read()
    result = asyncio.run(drive(args.url, document, args.concurrency, args.requests, args.duration))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
