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

from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from procstats import cpu_seconds, machine_busy_seconds, tree_cpu_seconds
from wire import WIRES, Wire

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
    100 % it was not the bottleneck; every server process and its children together), this
    process's (near 100 % the load generator was), Redis's when the server uses it, and
    everything else on the machine (background load that makes the figures noisy)."""

    def __init__(self, server_pids: Sequence[int], redis_pid: int | None = None) -> None:
        self.server_pids = server_pids
        self.redis_pid = redis_pid

    def _server_seconds(self) -> float:
        return sum(tree_cpu_seconds(pid) for pid in self.server_pids)

    def _redis_seconds(self) -> float:
        return cpu_seconds(self.redis_pid) if self.redis_pid else 0.0

    def start(self) -> None:
        self.t0 = time.perf_counter()
        self.server_cpu0 = self._server_seconds()
        self.redis_cpu0 = self._redis_seconds()
        self.own_cpu0 = own_cpu_seconds()
        self.machine_cpu0 = machine_busy_seconds()

    def stop(self) -> dict[str, float]:
        elapsed = time.perf_counter() - self.t0
        server = self._server_seconds() - self.server_cpu0
        redis = self._redis_seconds() - self.redis_cpu0
        own = own_cpu_seconds() - self.own_cpu0
        machine = machine_busy_seconds() - self.machine_cpu0
        usage = {
            "elapsed_s": elapsed,
            "server_cpu_pct": 100 * server / elapsed,
            "loadgen_cpu_pct": 100 * own / elapsed,
            "background_cpu_pct": max(0.0, 100 * (machine - server - own - redis) / elapsed),
        }
        if self.redis_pid:
            usage["redis_cpu_pct"] = 100 * redis / elapsed
        return usage


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Client(WSListener):
    """One connection; subclasses react to events. Counts unexpected frames and drops.

    ``wire`` (wire.py) says how events are framed; the load generator sets it once for the
    server it talks to, before any client exists.
    """

    wire: Wire = WIRES["json"]

    def __init__(self, stats: ClientStats) -> None:
        self.stats = stats
        self.transport: WSTransport | None = None
        self.closing = False
        # Set when the connection can carry events: at once for plain JSON, after the
        # namespace is connected for Socket.IO.
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        self.wire.on_connected(self)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if not self.closing:
            self.stats.dropped_connections += 1
            if not self.ready.done():
                self.ready.set_exception(ConnectionError("closed before it was ready"))

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type != WSMsgType.TEXT:
            if frame.msg_type == WSMsgType.CLOSE and not self.closing:
                # Say why the server hung up (a limit, an error), not only that it did.
                code, reason = frame.get_close_code(), frame.get_close_reason()
                self.stats.unexpected({"close": code.value, "reason": reason})
            return
        decoded = self.wire.decode(self, frame.get_payload_as_bytes())
        if decoded is not None:
            self.on_event(decoded[0], decoded[1], time.perf_counter())

    def on_event(self, event: str, data: Any, received_at: float) -> None:
        self.stats.unexpected({"event": event, "data": data})

    def mark_ready(self) -> None:
        if not self.ready.done():
            self.ready.set_result(None)

    def send_raw(self, payload: bytes) -> None:
        assert self.transport is not None
        self.transport.send(WSMsgType.TEXT, payload)

    def send_event(self, event: str, data: Any) -> None:
        assert self.transport is not None
        self.transport.send(WSMsgType.TEXT, self.wire.encode(event, data))

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


async def open_connection(url: str, client: Client) -> None:
    """One WebSocket handshake, and whatever the wire needs after it to carry events."""
    await ws_connect(
        lambda: client,
        url + client.wire.url_suffix(),
        websocket_handshake_timeout=HANDSHAKE_TIMEOUT_S,
        read_buffer_init_size=4096,
    )
    await asyncio.wait_for(client.ready, HANDSHAKE_TIMEOUT_S)


async def connect_all(urls: Sequence[str], clients: Sequence[Client]) -> float:
    """Open every client's connection, a bounded number of handshakes at a time; client i
    goes to ``urls[i % len(urls)]`` (servers sharing the clients half and half).

    Returns the handshakes completed per second.
    """
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def connect(url: str, client: Client) -> None:
        async with gate:
            await open_connection(url, client)

    started = time.perf_counter()
    await asyncio.gather(
        *(connect(urls[index % len(urls)], client) for index, client in enumerate(clients))
    )
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
