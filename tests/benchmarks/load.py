"""The load generator, a process of its own: fixed concurrency, bounded requests and time.

``python -m tests.benchmarks.load --url U --concurrency C --requests N --duration S`` reads
the GraphQL document on stdin and keeps ``C`` requests in flight, one worker each, until ``N``
have completed or ``S`` seconds have passed; it prints one JSON line: every latency in ms, the
errors, the elapsed wall time, and the steady state's span and the answers within it.

It shares the machine with the servers it measures, so it spends as little CPU as it can: one
keep-alive HTTP/1.1 connection per worker on uvloop, the request's bytes built once, and an
answer read by its ``Content-Length`` (or up to a chunked body's last chunk), the way ``wrk``
does. An aiohttp client cost 0.4-0.5 ms of CPU per request here, as much as the baseline
server's, and its queue was part of every latency measured at c = 64.

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
from typing import Any, cast
from urllib.parse import urlsplit

import uvloop

from graph.config import DEV_KEY

WARM_UP = 2  # requests per worker, not counted: the first opens its connection


class Connection(asyncio.Protocol):
    """One keep-alive connection: a request written, its answer's status and body read."""

    def __init__(self) -> None:
        self.transport: asyncio.WriteTransport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.WriteTransport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        answer = self._answer()
        if answer is not None and self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(answer)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc or ConnectionError("the server closed the connection"))

    def _answer(self) -> tuple[int, bytes] | None:
        buffer = self.buffer
        head_end = buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return None
        head = bytes(buffer[:head_end]).lower()
        body_start = head_end + 4
        at = head.find(b"\r\ncontent-length:")
        if at >= 0:
            line_end = head.find(b"\r\n", at + 2)
            length = int(head[at + 17 : line_end if line_end >= 0 else None])
            end = body_start + length
            if len(buffer) < end:
                return None
        else:  # chunked: its framing is kept in the body, which is only searched
            last = buffer.find(b"\r\n0\r\n\r\n", head_end)
            if last < 0:
                return None
            end = last + 7
        body = bytes(buffer[body_start:end])
        del buffer[:end]
        return int(head[9:12]), body

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.waiter


def request_bytes(url: str, document: str) -> bytes:
    parts = urlsplit(url)
    body = json.dumps({"query": document}).encode()
    head = (
        f"POST {parts.path or '/'} HTTP/1.1\r\n"
        f"Host: {parts.netloc}\r\n"
        f"Authorization: Bearer {DEV_KEY}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    )
    return head.encode() + body


async def drive(url: str, document: str, concurrency: int, requests: int, duration: float) -> Any:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = request_bytes(url, document)
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    completions: list[float] = []  # when each counted request's answer was in
    errors: list[str] = []
    issued = 0
    began: list[float] = []  # when each worker's counted requests began
    finished: list[float] = []  # when each worker's last answer was in
    deadline = 0.0  # ``duration`` after the first of them

    async def worker() -> None:
        nonlocal issued, deadline
        transport, connection = await loop.create_connection(Connection, host, port)
        try:

            async def one(counted: bool = True) -> None:
                started = time.perf_counter()
                status, body = await connection.exchange(request)
                ended = time.perf_counter()
                if status != 200 or b'"errors"' in body:
                    errors.append(f"{status}: {body[:200]!r}")
                if counted:
                    latencies.append((ended - started) * 1000)
                    completions.append(ended)

            for _ in range(WARM_UP):
                await one(counted=False)
            began.append(time.perf_counter())
            if len(began) == 1:
                deadline = began[0] + duration
            while issued < requests and time.perf_counter() < deadline:
                issued += 1
                await one()
            finished.append(time.perf_counter())
        finally:
            transport.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - min(began)
    # The steady state: from the last worker's first counted request to the first worker's
    # last answer, the span in which every worker has a request in flight or about to be.
    start, end = max(began), min(finished)
    return {
        "latencies_ms": latencies,
        "errors": errors[:5],
        "error_count": len(errors),
        "elapsed_s": elapsed,
        "window_s": max(end - start, 0.0),
        "window_completed": sum(1 for t in completions if start < t <= end),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--duration", type=float, default=5.0)
    args = parser.parse_args()
    document = sys.stdin.read()
    result = uvloop.run(drive(args.url, document, args.concurrency, args.requests, args.duration))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
