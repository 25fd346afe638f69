"""The load generator's connections: picows listeners, opened many at a time, and measured.

Every workload in loadgen.py builds on these; nothing here knows a workload.
"""

from __future__ import annotations

import asyncio
import resource
import time
from array import array
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from procstats import cpu_seconds, machine_busy_seconds

# Handshakes in flight at once: below Tornado's listen backlog (128), so no SYN is dropped
# and no connection waits a one-second SYN retry.
CONNECT_CONCURRENCY = 64
HANDSHAKE_TIMEOUT_S = 10.0


class Phase:
    WARMUP, MEASURE, DRAIN = range(3)


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending sequence (0.0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[rank]


def latency_summary_ms(latencies_s: array[float]) -> dict[str, float]:
    ordered = sorted(latencies_s)
    return {
        "p50_ms": percentile(ordered, 0.50) * 1000,
        "p99_ms": percentile(ordered, 0.99) * 1000,
        "max_ms": (ordered[-1] if ordered else 0.0) * 1000,
    }


class Meter:
    """Wall time and CPU over the measured window, in % of one core: the server's (below
    100 % it was not the bottleneck), this process's (near 100 % the load generator was),
    and everything else on the machine (background load that makes the figures noisy)."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid

    def start(self) -> None:
        self.t0 = time.perf_counter()
        self.server_cpu0 = cpu_seconds(self.server_pid)
        self.own_cpu0 = own_cpu_seconds()
        self.machine_cpu0 = machine_busy_seconds()

    def stop(self) -> dict[str, float]:
        elapsed = time.perf_counter() - self.t0
        server = cpu_seconds(self.server_pid) - self.server_cpu0
        own = own_cpu_seconds() - self.own_cpu0
        machine = machine_busy_seconds() - self.machine_cpu0
        return {
            "elapsed_s": elapsed,
            "server_cpu_pct": 100 * server / elapsed,
            "loadgen_cpu_pct": 100 * own / elapsed,
            "background_cpu_pct": max(0.0, 100 * (machine - server - own) / elapsed),
        }


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Client(WSListener):
    """One connection; subclasses react to frames. Counts unexpected frames and drops."""

    def __init__(self, stats: ClientStats) -> None:
        self.stats = stats
        self.transport: WSTransport | None = None
        self.closing = False

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if not self.closing:
            self.stats.dropped_connections += 1

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type != WSMsgType.TEXT:
            if frame.msg_type == WSMsgType.CLOSE and not self.closing:
                # Say why the server hung up (a limit, an error), not only that it did.
                code, reason = frame.get_close_code(), frame.get_close_reason()
                self.stats.unexpected({"close": code.value, "reason": reason})
            return
        payload = orjson.loads(frame.get_payload_as_bytes())
        self.on_json(payload, time.perf_counter())

    def on_json(self, payload: Any, received_at: float) -> None:
        self.stats.unexpected(payload)

    def send_json(self, payload: dict[str, Any]) -> None:
        assert self.transport is not None
        self.transport.send(WSMsgType.TEXT, orjson.dumps(payload))

    def close(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.send_close(WSCloseCode.OK)
            self.transport.disconnect()


class ClientStats:
    """Anomalies seen by any client; a non-zero count makes the cell an error for the runner."""

    def __init__(self) -> None:
        self.dropped_connections = 0
        self.unexpected_frames = 0
        self.first_unexpected: Any = None

    def unexpected(self, payload: Any) -> None:
        self.unexpected_frames += 1
        if self.first_unexpected is None:
            self.first_unexpected = payload

    def as_dict(self) -> dict[str, Any]:
        return {
            "dropped_connections": self.dropped_connections,
            "unexpected_frames": self.unexpected_frames,
            "first_unexpected": self.first_unexpected,
        }


async def connect_all(url: str, clients: Sequence[Client]) -> float:
    """Open every client's connection, a bounded number of handshakes at a time.

    Returns the handshakes completed per second.
    """
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def connect(client: Client) -> None:
        async with gate:
            await ws_connect(
                lambda: client,
                url,
                websocket_handshake_timeout=HANDSHAKE_TIMEOUT_S,
                read_buffer_init_size=4096,
            )

    started = time.perf_counter()
    await asyncio.gather(*(connect(client) for client in clients))
    return len(clients) / (time.perf_counter() - started)


async def close_all(clients: Sequence[Client]) -> None:
    for client in clients:
        client.close()
    # Let the transports flush their closes before the process exits.
    await asyncio.sleep(0.1)


async def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.perf_counter() + timeout_s
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        await asyncio.sleep(0.005)
