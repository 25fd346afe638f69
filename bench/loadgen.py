"""Load generator: the same WebSocket clients for every server under test.

picows clients on a uvloop event loop, frames encoded and decoded with orjson, so that one
core of load can saturate one core of server. Each invocation runs one workload against one
server and prints one JSON object on stdout; the runner (run.py) starts it pinned to its own
core and bounds it with a timeout.

    python bench/loadgen.py echo --url URL --server-pid PID --connections 100 \
        --warmup 1 --duration 5
    python bench/loadgen.py broadcast --url URL --server-pid PID --receivers 500 \
        --window 1 --warmup 1 --duration 5
    python bench/loadgen.py idle --url URL --server-pid PID --connections 5000

Round-trip and delivery latencies are measured against ``time.perf_counter()`` stamped into
each frame (``data.t``) by this process, which also receives the reply: no clock sync needed.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import operator
import sys
import time
from array import array
from collections.abc import Sequence
from typing import Any

import uvloop

from loadclient import (
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

TEXT = "The quick brown fox jumps over the lazy dog"


# --- echo -----------------------------------------------------------------------------------


class EchoRun:
    """What the echo clients of one run share: the phase, the replies awaited, the timings."""

    def __init__(self, stats: ClientStats) -> None:
        self.phase = Phase.WARMUP
        self.in_flight = 0
        self.latencies = array("d")
        self.stats = stats


class EchoClient(Client):
    """Closed loop: sends a message, waits for its echo, sends the next."""

    def __init__(self, run: EchoRun) -> None:
        super().__init__(run.stats)
        self.run = run
        self.round_trips = 0

    def send_next(self) -> None:
        self.run.in_flight += 1
        self.send_json({"event": "message", "data": {"message": TEXT, "t": time.perf_counter()}})

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
    url: str, meter: Meter, stats: ClientStats, connections: int, warmup: float, duration: float
) -> dict[str, Any]:
    run = EchoRun(stats)
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

    def __init__(self, stats: ClientStats, receivers: int, window: int) -> None:
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
        self.stats = stats

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
    """One of the N receivers: every broadcast it gets is counted and timed."""

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
            completed = functools.partial(operator.contains, run.completed_primes, seq)
            await wait_for(completed, 2, "a priming broadcast")
            return
        except TimeoutError:
            seq -= 1
    raise TimeoutError("no priming broadcast reached every receiver within 30 s")


async def run_broadcast(
    url: str,
    meter: Meter,
    stats: ClientStats,
    receivers: int,
    window: int,
    warmup: float,
    duration: float,
) -> dict[str, Any]:
    run = BroadcastRun(stats, receivers, window)
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
    """Sends one echo before the baseline is taken."""

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


async def run_idle(
    url: str, server_pid: int, stats: ClientStats, connections: int
) -> dict[str, Any]:
    # One echo first, so that code paths and pools created on first use are in the baseline.
    warmup = WarmupClient(stats)
    await connect_all(url, [warmup])
    warmup.send_json({"event": "message", "data": {"message": TEXT, "t": 0.0}})
    await wait_for(lambda: warmup.echoed, 10, "the warm-up echo")
    await close_all([warmup])
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
    workloads.choices["broadcast"].add_argument(
        "--window", type=int, default=1, help="broadcasts in flight (1: closed loop)"
    )
    return parser.parse_args(argv)


async def run_workload(args: argparse.Namespace, stats: ClientStats) -> dict[str, Any]:
    meter = Meter(args.server_pid)
    if args.workload == "echo":
        return await run_echo(args.url, meter, stats, args.connections, args.warmup, args.duration)
    if args.workload == "broadcast":
        return await run_broadcast(
            args.url, meter, stats, args.receivers, args.window, args.warmup, args.duration
        )
    return await run_idle(args.url, args.server_pid, stats, args.connections)


def main(argv: Sequence[str]) -> None:
    args = parse_args(argv)
    stats = ClientStats()
    try:
        result = uvloop.run(run_workload(args, stats))
    except Exception as error:  # whatever failed, report it with what the clients saw
        result = {"error": f"{type(error).__name__}: {error}", **stats.as_dict()}
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    sys.exit(1 if "error" in result else 0)


if __name__ == "__main__":
    main(sys.argv[1:])
