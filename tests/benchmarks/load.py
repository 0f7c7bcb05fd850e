"""The load generator, a process of its own: fixed concurrency, bounded requests and time.

``python -m tests.benchmarks.load --url U --concurrency C --requests N --duration S`` reads
the GraphQL document on stdin and keeps ``C`` requests in flight, one worker each; it prints one
JSON line: the latency in ms of each answer within the steady state's window, its span, every
answer served and the errors among them, and the run's wall time.

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

The steady state is what is measured: the window opens when the last worker is past its
warm-up and closes ``S`` seconds later or at its ``N``-th answer, and every worker keeps a
request in flight from before it opens to after it closes. Only the answers within it count,
for the latencies and the rate alike. Before, each worker stopped at the deadline or the
``N``-th request, whichever came first, and the window was what was left between the last
worker's start and the first one's stop: with W5's and W3's 0.2-0.6 s answers at c = 64 the
workers fell out of step by more than that (some done before others were past their warm-up),
there was no window, and the latencies of a tail with few requests in flight (7-15 ms where the
steady state's were 300) pulled the p50 down, while the rate over the whole run, ramp and tail
included, was about half the steady one (W3: 75 rps against 145).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
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
    latencies: list[float] = []  # of the answers within the window
    errors: list[str] = []
    served = 0  # every answer: warm-up, window and tail (the server's CPU went to all of them)
    began = 0  # workers past their warm-up
    start = 0.0  # the window's: when the last worker was past its warm-up ...
    end = math.inf  # ... and ``duration`` later, or the ``requests``-th answer within it

    def over() -> bool:
        return len(latencies) >= requests or time.perf_counter() >= end

    async def worker() -> None:
        nonlocal served, began, start, end
        transport, connection = await loop.create_connection(Connection, host, port)
        try:
            made = 0
            while made < WARM_UP or not over():
                sent = time.perf_counter()
                status, body = await connection.exchange(request)
                answered = time.perf_counter()
                served += 1
                made += 1
                if status != 200 or b'"errors"' in body:
                    errors.append(f"{status}: {body[:200]!r}")
                if began == concurrency and start < answered <= end and len(latencies) < requests:
                    latencies.append((answered - sent) * 1000)
                    if len(latencies) == requests:
                        end = answered
                if made == WARM_UP:
                    began += 1
                    if began == concurrency:
                        start = time.perf_counter()
                        end = start + duration
        finally:
            transport.close()

    first = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return {
        "latencies_ms": latencies,
        "errors": errors[:5],
        "error_count": len(errors),
        "served": served,
        "elapsed_s": time.perf_counter() - first,
        "window_s": end - start,
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
