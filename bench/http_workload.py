"""Django requests a second: C keep-alive HTTP/1.1 connections, closed loop, on uvloop.

Each connection sends ``GET <path>``, reads the whole response (status line, headers,
``Content-Length`` bytes of body), sends the next. The parser handles only what the servers
under test send for the benchmark's view: a response with a ``Content-Length``; anything else
(chunked body, another status than 200, a closed connection) is counted as an error.
"""

from __future__ import annotations

import asyncio
import functools
import time
from array import array
from typing import Any, cast
from urllib.parse import urlsplit

from loadclient import Meter, Phase, latency_summary_ms, wait_for

HEADER_END = b"\r\n\r\n"
CONTENT_LENGTH = b"\r\ncontent-length:"


class HttpRun:
    def __init__(self) -> None:
        self.phase = Phase.WARMUP
        self.in_flight = 0
        self.latencies = array("d")
        self.errors = 0
        self.first_error: str | None = None

    def error(self, what: str) -> None:
        self.errors += 1
        if self.first_error is None:
            self.first_error = what


class KeepAliveConnection(asyncio.Protocol):
    """One connection: one request in flight at a time (no pipelining)."""

    def __init__(self, run: HttpRun, request: bytes) -> None:
        self.run = run
        self.request = request
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.sent_at = 0.0
        self.closing = False
        self.connected: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods.
        self.transport = cast(asyncio.Transport, transport)
        self.connected.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closing:
            self.run.error(f"connection closed by the server: {exc}")
            if self.sent_at:
                self.run.in_flight -= 1
                self.sent_at = 0.0

    def send_next(self) -> None:
        assert self.transport is not None
        self.run.in_flight += 1
        self.sent_at = time.perf_counter()
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        # Nothing is pipelined: at most one response is in the buffer, possibly incomplete.
        end = self.buffer.find(HEADER_END)
        if end < 0:
            return
        head = bytes(self.buffer[:end]).lower()
        start = head.find(CONTENT_LENGTH)
        if start < 0:
            self.run.error(f"no Content-Length in {bytes(self.buffer[:200])!r}")
            self.buffer.clear()
            self.finish(time.perf_counter())
            return
        value_end = head.find(b"\r\n", start + 2)
        length = int(head[start + len(CONTENT_LENGTH) : None if value_end < 0 else value_end])
        total = end + len(HEADER_END) + length
        if len(self.buffer) < total:
            return
        if not head.startswith((b"http/1.1 200", b"http/1.0 200")):
            self.run.error(bytes(self.buffer[: head.find(b"\r\n")]).decode(errors="replace"))
        del self.buffer[:total]
        self.finish(time.perf_counter())

    def finish(self, received_at: float) -> None:
        run = self.run
        run.in_flight -= 1
        if run.phase == Phase.MEASURE:
            run.latencies.append(received_at - self.sent_at)
        self.sent_at = 0.0
        if run.phase != Phase.DRAIN:
            self.send_next()

    def close(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.close()


def _same(connection: KeepAliveConnection) -> KeepAliveConnection:
    return connection


async def run_http(
    url: str, meter: Meter, connections: int, warmup: float, duration: float
) -> dict[str, Any]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    run = HttpRun()
    loop = asyncio.get_running_loop()
    clients = [KeepAliveConnection(run, request) for _ in range(connections)]
    for client in clients:
        await asyncio.wait_for(
            loop.create_connection(functools.partial(_same, client), host, port), 10
        )
    for client in clients:
        client.send_next()
    await asyncio.sleep(warmup)
    run.phase = Phase.MEASURE
    meter.start()
    await asyncio.sleep(duration)
    run.phase = Phase.DRAIN
    usage = meter.stop()
    await wait_for(lambda: run.in_flight <= 0, 10, "the last responses")
    for client in clients:
        client.close()
    await asyncio.sleep(0.05)
    return {
        "requests_per_s": len(run.latencies) / usage["elapsed_s"],
        **latency_summary_ms(run.latencies),
        **usage,
        "dropped_connections": 0,
        "unexpected_frames": run.errors,
        "first_unexpected": run.first_error,
    }
