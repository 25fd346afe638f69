"""Connections themselves: what an idle one costs in memory, how fast they open and close."""

from __future__ import annotations

import asyncio
import time
from array import array
from typing import Any

from handshake_client import open_and_close, upgrade_request
from loadclient import (
    HANDSHAKE_TIMEOUT_S,
    Client,
    ClientStats,
    Meter,
    Phase,
    close_all,
    connect_all,
    latency_summary_ms,
    wait_for,
)
from procstats import rss_kib
from ws_workloads import TEXT_MESSAGE as TEXT

# --- idle -----------------------------------------------------------------------------------


class IdleClient(Client):
    """Opens a connection and sends nothing; any frame it gets is unexpected."""


class WarmupClient(Client):
    """Sends one echo before the baseline is taken."""

    def __init__(self, stats: ClientStats) -> None:
        super().__init__(stats)
        self.echoed = False

    def on_event(self, event: str, data: Any, received_at: float) -> None:
        self.echoed = event == "message"


async def settled_rss_kib(pid: int, timeout_s: float) -> int:
    """RSS once it stops moving (two samples 0.25 s apart within 0.2 %), or at the timeout."""
    deadline = time.perf_counter() + timeout_s
    previous = rss_kib(pid)
    while True:
        await asyncio.sleep(0.25)
        current = rss_kib(pid)
        if abs(current - previous) <= 0.002 * previous or time.perf_counter() > deadline:
            return current
        previous = current


async def run_idle(
    url: str, server_pid: int, stats: ClientStats, connections: int
) -> dict[str, Any]:
    # One echo first, so that code paths and pools created on first use are in the baseline.
    warmup = WarmupClient(stats)
    await connect_all([url], [warmup])
    warmup.send_event("message", {"message": TEXT, "t": 0.0})
    await wait_for(lambda: warmup.echoed, 10, "the warm-up echo")
    await close_all([warmup])
    rss_before = await settled_rss_kib(server_pid, 3)

    clients = [IdleClient(stats) for _ in range(connections)]
    connect_rate = await connect_all([url], clients)
    rss_after = await settled_rss_kib(server_pid, 5)
    await close_all(clients)
    return {
        "rss_idle_kib": rss_before,
        "rss_loaded_kib": rss_after,
        "kib_per_connection": (rss_after - rss_before) / connections,
        "connect_per_s": connect_rate,
        **stats.as_dict(),
    }


# --- handshakes -----------------------------------------------------------------------------


class HandshakeRun:
    def __init__(self) -> None:
        self.phase = Phase.WARMUP
        self.latencies = array("d")


async def handshake_loop(url: str, run: HandshakeRun) -> None:
    """One of the C concurrent loops: open (WebSocket handshake, and the Socket.IO connect
    where the wire has one), send a close frame, close the TCP connection, again."""
    host, port, request = upgrade_request(url + Client.wire.url_suffix())
    socketio = Client.wire.name == "socketio"
    while run.phase != Phase.DRAIN:
        started = time.perf_counter()
        await asyncio.wait_for(open_and_close(host, port, request, socketio), HANDSHAKE_TIMEOUT_S)
        if run.phase == Phase.MEASURE:
            run.latencies.append(time.perf_counter() - started)


async def run_handshakes(
    url: str, meter: Meter, stats: ClientStats, concurrency: int, warmup: float, duration: float
) -> dict[str, Any]:
    run = HandshakeRun()
    loops = [asyncio.ensure_future(handshake_loop(url, run)) for _ in range(concurrency)]
    try:
        await asyncio.sleep(warmup)
        run.phase = Phase.MEASURE
        meter.start()
        await asyncio.sleep(duration)
        run.phase = Phase.DRAIN
        usage = meter.stop()
        # A loop that failed (refused, timed out, no upgrade) fails the step here.
        await asyncio.wait_for(asyncio.gather(*loops), HANDSHAKE_TIMEOUT_S)
    finally:
        for loop in loops:
            loop.cancel()
    # Let the last closes leave before the process exits.
    await asyncio.sleep(0.1)
    return {
        "handshakes_per_s": len(run.latencies) / usage["elapsed_s"],
        **latency_summary_ms(run.latencies),
        **usage,
        **stats.as_dict(),
    }
