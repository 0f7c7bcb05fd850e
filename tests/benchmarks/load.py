"""The load generator, a process of its own: fixed concurrency, bounded requests and time.

``python -m tests.benchmarks.load --url U --concurrency C --requests N --duration S`` reads
the GraphQL document on stdin, sends ``C`` warm-up requests (one per connection, not counted),
then keeps ``C`` requests in flight until ``N`` have completed or ``S`` seconds have passed, and
prints one JSON line: every latency in ms, the errors, and the elapsed wall time.
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


async def drive(url: str, document: str, concurrency: int, requests: int, duration: float) -> Any:
    payload = json.dumps({"query": document}).encode()
    headers = {"Authorization": f"Bearer {DEV_KEY}", "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    latencies: list[float] = []
    errors: list[str] = []
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one() -> None:
            started = time.perf_counter()
            async with session.post(url, data=payload, headers=headers) as response:
                body = await response.read()
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status != 200 or b'"errors"' in body:
                errors.append(f"{response.status}: {body[:200]!r}")

        await asyncio.gather(*(one() for _ in range(concurrency)))  # warm the connections
        latencies.clear()
        issued = 0
        start = time.perf_counter()
        deadline = start + duration

        async def worker() -> None:
            nonlocal issued
            while issued < requests and time.perf_counter() < deadline:
                issued += 1
                await one()

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
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
