"""Load generator: the same WebSocket clients for every server under test.

picows clients on a uvloop event loop, frames encoded and decoded with orjson, so that one
core of load can saturate one core of server. Each invocation runs one workload against one
server and prints one JSON object on stdout; the runner (run.py) starts it pinned to its own
core and bounds it with a timeout.

    python bench/loadgen.py echo --url URL --server-pid PID --connections 100 \
        --warmup 1 --duration 5
    python bench/loadgen.py broadcast --url URL --server-pid PID --receivers 500 \
        --window 2 --warmup 1 --duration 5
    python bench/loadgen.py idle --url URL --server-pid PID --connections 5000

Round-trip and delivery latencies are measured against ``time.perf_counter()`` stamped into
each frame (``data.t``) by this process, which also receives the reply: no clock sync needed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from array import array
from collections.abc import Callable, Sequence
from typing import Any

import orjson
import uvloop
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from procstats import cpu_seconds, rss_kib

TEXT = "The quick brown fox jumps over the lazy dog"
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
    """CPU of the server and of this process, and wall time, over the measured window."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid

    def start(self) -> None:
        self.t0 = time.perf_counter()
        self.server_cpu0 = cpu_seconds(self.server_pid)
        self.own_cpu0 = own_cpu_seconds()

    def stop(self) -> dict[str, float]:
        elapsed = time.perf_counter() - self.t0
        return {
            "elapsed_s": elapsed,
            "server_cpu_pct": 100 * (cpu_seconds(self.server_pid) - self.server_cpu0) / elapsed,
            "loadgen_cpu_pct": 100 * (own_cpu_seconds() - self.own_cpu0) / elapsed,
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


# --- echo -----------------------------------------------------------------------------------


class EchoRun:
    def __init__(self) -> None:
        self.phase = Phase.WARMUP
        self.in_flight = 0
        self.latencies = array("d")
        self.stats = ClientStats()


class EchoClient(Client):
    """Closed loop: sends a message, waits for its echo, sends the next."""

    def __init__(self, run: EchoRun) -> None:
        super().__init__(run.stats)
        self.run = run
        self.round_trips = 0

    def send_next(self) -> None:
        self.run.in_flight += 1
        self.send_json(
            {"event": "message", "data": {"message": TEXT, "t": time.perf_counter()}}
        )

    def on_json(self, payload: Any, received_at: float) -> None:
        if payload.get("event") != "message":
            super().on_json(payload, received_at)
            return
        run = self.run
        run.in_flight -= 1
        if run.phase == Phase.MEASURE:
            run.latencies.append(received_at - payload["data"]["t"])
            self.round_trips += 1
        if run.phase != Phase.DRAIN:
            self.send_next()


async def run_echo(
    url: str, meter: Meter, connections: int, warmup: float, duration: float
) -> dict[str, Any]:
    run = EchoRun()
    clients = [EchoClient(run) for _ in range(connections)]
    connect_rate = await connect_all(url, clients)
    for client in clients:
        client.send_next()
    await asyncio.sleep(warmup)
    run.phase = Phase.MEASURE
    meter.start()
    await asyncio.sleep(duration)
    run.phase = Phase.DRAIN
    usage = meter.stop()
    await wait_for(lambda: run.in_flight == 0, 10, "the last echoes")
    await close_all(clients)
    per_connection = sorted(client.round_trips for client in clients)
    return {
        "messages_per_s": len(run.latencies) / usage["elapsed_s"],
        **latency_summary_ms(run.latencies),
        "round_trips_per_connection": {
            "min": per_connection[0],
            "median": per_connection[len(per_connection) // 2],
            "max": per_connection[-1],
        },
        "connect_per_s": connect_rate,
        **usage,
        **run.stats.as_dict(),
    }


# --- broadcast ------------------------------------------------------------------------------


class BroadcastRun:
    """Bounded window: at most ``window`` broadcasts in flight, a broadcast being in flight
    until every receiver has it. Negative sequence numbers are priming broadcasts, sent until
    one reaches every receiver, so the server has registered them all before the clock runs."""

    def __init__(self, receivers: int, window: int) -> None:
        self.receivers = receivers
        self.window = window
        self.phase = Phase.WARMUP
        self.sender: Client | None = None
        self.next_seq = 0
        self.counts: dict[int, int] = {}
        self.in_flight: set[int] = set()
        self.completed_primes: set[int] = set()
        self.completed = 0
        self.deliveries = 0
        self.sender_copies = 0
        self.latencies = array("d")
        self.stats = ClientStats()

    def send(self, seq: int) -> None:
        assert self.sender is not None
        self.sender.send_json(
            {
                "event": "broadcast",
                "data": {"message": TEXT, "seq": seq, "t": time.perf_counter()},
            }
        )

    def fill_window(self) -> None:
        while self.phase != Phase.DRAIN and len(self.in_flight) < self.window:
            self.in_flight.add(self.next_seq)
            self.send(self.next_seq)
            self.next_seq += 1

    def on_delivery(self, data: Any, received_at: float) -> None:
        seq = data["seq"]
        if self.phase == Phase.MEASURE and seq >= 0:
            self.deliveries += 1
            self.latencies.append(received_at - data["t"])
        count = self.counts.get(seq, 0) + 1
        if count < self.receivers:
            self.counts[seq] = count
            return
        self.counts.pop(seq, None)
        if seq < 0:
            self.completed_primes.add(seq)
        else:
            self.completed += 1
            self.in_flight.discard(seq)
            self.fill_window()


class BroadcastReceiver(Client):
    def __init__(self, run: BroadcastRun) -> None:
        super().__init__(run.stats)
        self.run = run

    def on_json(self, payload: Any, received_at: float) -> None:
        if payload.get("event") != "broadcast":
            super().on_json(payload, received_at)
            return
        self.run.on_delivery(payload["data"], received_at)


class BroadcastSender(Client):
    """Sends the broadcasts; the copies the server sends back to it are counted, not timed."""

    def __init__(self, run: BroadcastRun) -> None:
        super().__init__(run.stats)
        self.run = run

    def on_json(self, payload: Any, received_at: float) -> None:
        if payload.get("event") != "broadcast":
            super().on_json(payload, received_at)
            return
        self.run.sender_copies += 1


async def prime(run: BroadcastRun) -> None:
    """Send priming broadcasts until one reaches every receiver (at most 30 s).

    Each waits for its own completion before the next is sent, so none is left queued in
    the server when this returns: the server reads the sender's frames in order, and a
    completed prime means every earlier one was handled too.
    """
    deadline = time.perf_counter() + 30
    seq = -1
    while time.perf_counter() < deadline:
        run.send(seq)
        try:
            await wait_for(lambda seq=seq: seq in run.completed_primes, 2, "a priming broadcast")
            return
        except TimeoutError:
            seq -= 1
    raise TimeoutError("no priming broadcast reached every receiver within 30 s")


async def run_broadcast(
    url: str, meter: Meter, receivers: int, window: int, warmup: float, duration: float
) -> dict[str, Any]:
    run = BroadcastRun(receivers, window)
    clients: list[Client] = [BroadcastReceiver(run) for _ in range(receivers)]
    connect_rate = await connect_all(url, clients)
    run.sender = BroadcastSender(run)
    clients.append(run.sender)
    await connect_all(url, [run.sender])

    await prime(run)
    run.fill_window()
    await asyncio.sleep(warmup)
    # A slow server may not have finished one broadcast yet: warm up on two at least.
    await wait_for(lambda: run.completed >= 2, 20, "the warm-up broadcasts")
    run.phase = Phase.MEASURE
    meter.start()
    await asyncio.sleep(duration)
    run.phase = Phase.DRAIN
    usage = meter.stop()
    await wait_for(lambda: not run.in_flight, 20, "the last broadcasts to be delivered")
    await close_all(clients)
    return {
        "deliveries_per_s": run.deliveries / usage["elapsed_s"],
        "broadcasts_per_s": run.deliveries / receivers / usage["elapsed_s"],
        **latency_summary_ms(run.latencies),
        "sender_receives_own_broadcast": run.sender_copies > 0,
        "connect_per_s": connect_rate,
        **usage,
        **run.stats.as_dict(),
    }


# --- idle -----------------------------------------------------------------------------------


class IdleClient(Client):
    """Opens a connection and sends nothing; any frame it gets is unexpected."""


class WarmupClient(Client):
    def __init__(self, stats: ClientStats) -> None:
        super().__init__(stats)
        self.echoed = False

    def on_json(self, payload: Any, received_at: float) -> None:
        self.echoed = payload.get("event") == "message"


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


async def run_idle(url: str, server_pid: int, connections: int) -> dict[str, Any]:
    stats = ClientStats()
    # One echo first, so that code paths and pools created on first use are in the baseline.
    warmup = WarmupClient(stats)
    await connect_all(url, [warmup])
    warmup.send_json({"event": "message", "data": {"message": TEXT, "t": 0.0}})
    await wait_for(lambda: warmup.echoed, 10, "the warm-up echo")
    warmup.close()
    rss_before = await settled_rss_kib(server_pid, 3)

    clients = [IdleClient(stats) for _ in range(connections)]
    connect_rate = await connect_all(url, clients)
    rss_after = await settled_rss_kib(server_pid, 5)
    await close_all(clients)
    return {
        "rss_idle_kib": rss_before,
        "rss_loaded_kib": rss_after,
        "kib_per_connection": (rss_after - rss_before) / connections,
        "connect_per_s": connect_rate,
        **stats.as_dict(),
    }


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run one benchmark workload.")
    workloads = parser.add_subparsers(dest="workload", required=True)
    for name in ("echo", "broadcast", "idle"):
        sub = workloads.add_parser(name)
        sub.add_argument("--url", required=True)
        sub.add_argument("--server-pid", type=int, required=True)
        if name != "idle":
            sub.add_argument("--warmup", type=float, default=1.0)
            sub.add_argument("--duration", type=float, default=5.0)
    workloads.choices["echo"].add_argument("--connections", type=int, required=True)
    workloads.choices["idle"].add_argument("--connections", type=int, required=True)
    workloads.choices["broadcast"].add_argument("--receivers", type=int, required=True)
    workloads.choices["broadcast"].add_argument("--window", type=int, default=2)
    return parser.parse_args(argv)


async def run_workload(args: argparse.Namespace) -> dict[str, Any]:
    meter = Meter(args.server_pid)
    if args.workload == "echo":
        return await run_echo(args.url, meter, args.connections, args.warmup, args.duration)
    if args.workload == "broadcast":
        return await run_broadcast(
            args.url, meter, args.receivers, args.window, args.warmup, args.duration
        )
    return await run_idle(args.url, args.server_pid, args.connections)


def main(argv: Sequence[str]) -> None:
    result = uvloop.run(run_workload(parse_args(argv)))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
