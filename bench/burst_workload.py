"""A burst of broadcasts from a view, and how long everyone else waits meanwhile.

``receivers`` clients are connected to ``/ws/bench``; a view (``GET /burst``, which emits in a
worker thread as a Django view does) sends ``count`` broadcasts of ``size`` bytes to all of
them, again as soon as every receiver has the previous burst. Meanwhile, in closed loops, a
bystander on another WebSocket application (``/ws/bench_side``) echoes, and an HTTP client
requests a page (``GET /page``). Their latencies while bursts drain are the figures: a server
that writes a whole burst before reading anything else keeps them waiting for the whole drain.

The bystander and the page client run in a process of their own (``python burst_workload.py
PROBE_URL``), so that the receivers' work in this one does not delay them: it measures from a
line ``measure`` on its stdin to a line ``stop``, then prints its figures as JSON.
"""

from __future__ import annotations

import asyncio
import functools
import json
import statistics
import sys
import time
from typing import Any
from urllib.parse import urlsplit

import uvloop

from http_workload import HttpRun, KeepAliveConnection
from loadclient import Client, ClientStats, Meter, Phase, close_all, connect_all, wait_for
from ws_workloads import EchoClient, EchoRun


class BurstRun:
    def __init__(self) -> None:
        self.delivered = 0


class BurstReceiver(Client):
    def __init__(self, run: BurstRun, stats: ClientStats) -> None:
        super().__init__(stats)
        self.run = run

    def on_event(self, event: str, data: Any, received_at: float) -> None:
        if event != "burst":
            super().on_event(event, data, received_at)
            return
        self.run.delivered += 1


def _at_least(run: BurstRun, target: int) -> bool:
    return run.delivered >= target


def _same(connection: KeepAliveConnection) -> KeepAliveConnection:
    return connection


async def trigger(host: str, port: int, count: int, size: int) -> None:
    """``GET /burst``: returns once the view has emitted every broadcast."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        path = f"/burst?count={count}&size={size}"
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 60)
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"GET /burst answered {head[:40]!r}")
    finally:
        writer.close()


async def run_burst(
    url: str,
    meter: Meter,
    stats: ClientStats,
    receivers: int,
    count: int,
    size: int,
    warmup: float,
    duration: float,
) -> dict[str, Any]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    burst = BurstRun()
    clients: list[Client] = [BurstReceiver(burst, stats) for _ in range(receivers)]
    connect_rate = await connect_all([url], clients)
    probe = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        url,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert probe.stdin is not None and probe.stdout is not None
    try:
        await asyncio.wait_for(probe.stdout.readline(), 30)  # "ready"
        await asyncio.sleep(warmup)
        probe.stdin.write(b"measure\n")
        await probe.stdin.drain()
        meter.start()
        drains: list[float] = []
        finish_by = time.perf_counter() + duration
        while not drains or time.perf_counter() < finish_by:
            target = burst.delivered + count * receivers
            started = time.perf_counter()
            await trigger(host, port, count, size)
            reached = functools.partial(_at_least, burst, target)
            await wait_for(reached, 120, "a burst to reach every receiver")
            drains.append(time.perf_counter() - started)
        usage = meter.stop()
        probe.stdin.write(b"stop\n")
        await probe.stdin.drain()
        figures = json.loads(await asyncio.wait_for(probe.stdout.readline(), 30))
    finally:
        if probe.returncode is None:
            probe.kill()
        await probe.wait()
    await close_all(clients)
    return {
        **figures,
        "bursts": len(drains),
        "burst_drain_s": statistics.median(drains),
        "deliveries_per_s": len(drains) * count * receivers / usage["elapsed_s"],
        "connect_per_s": connect_rate,
        **usage,
        **stats.as_dict(),
    }


def _summary(prefix: str, latencies: Any) -> dict[str, float]:
    ordered = sorted(latencies)
    if not ordered:
        return {f"{prefix}_p50_ms": 0.0, f"{prefix}_p99_ms": 0.0, f"{prefix}_max_ms": 0.0}
    return {
        f"{prefix}_p50_ms": ordered[len(ordered) // 2] * 1000,
        f"{prefix}_p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
        f"{prefix}_max_ms": ordered[-1] * 1000,
    }


async def probe(url: str) -> dict[str, Any]:
    """The bystander's echoes and the page requests, in closed loops, measured between the
    ``measure`` and ``stop`` lines of stdin."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    stats = ClientStats()
    echo = EchoRun(stats)
    bystander = EchoClient(echo)
    await connect_all([f"{parts.scheme}://{host}:{port}/ws/bench_side"], [bystander])
    page = HttpRun()
    request = f"GET /page HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    browser = KeepAliveConnection(page, request)
    loop = asyncio.get_running_loop()
    await loop.create_connection(functools.partial(_same, browser), host, port)
    bystander.send_next()
    browser.send_next()
    print("ready", flush=True)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    await reader.readline()
    echo.phase = page.phase = Phase.MEASURE
    await reader.readline()
    echo.phase = page.phase = Phase.DRAIN
    await wait_for(lambda: echo.in_flight == 0 and page.in_flight <= 0, 30, "the last replies")
    browser.close()
    await close_all([bystander])
    return {
        **_summary("page", page.latencies),
        **_summary("echo", echo.latencies),
        "pages": len(page.latencies),
        "echoes": len(echo.latencies),
        "page_errors": page.errors,
        "probe_unexpected_frames": stats.unexpected_frames,
    }


if __name__ == "__main__":
    print(json.dumps(uvloop.run(probe(sys.argv[1]))), flush=True)
