"""Echo and broadcast: closed loops of events over open WebSocket connections.

Round-trip and delivery latencies are measured against ``time.perf_counter()`` stamped into
each event (``data.t``) by this process, which also receives the reply: no clock sync needed.
"""

from __future__ import annotations

import asyncio
import functools
import operator
import time
from array import array
from collections.abc import Sequence
from typing import Any

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
        self.send_event("message", {"message": TEXT, "t": time.perf_counter()})

    def on_event(self, event: str, data: Any, received_at: float) -> None:
        if event != "message":
            super().on_event(event, data, received_at)
            return
        run = self.run
        run.in_flight -= 1
        if run.phase == Phase.MEASURE:
            run.latencies.append(received_at - data["t"])
            self.round_trips += 1
        if run.phase != Phase.DRAIN:
            self.send_next()


async def run_echo(
    url: str, meter: Meter, stats: ClientStats, connections: int, warmup: float, duration: float
) -> dict[str, Any]:
    run = EchoRun(stats)
    clients = [EchoClient(run) for _ in range(connections)]
    connect_rate = await connect_all([url], clients)
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
        self.sender.send_event("broadcast", {"message": TEXT, "seq": seq, "t": time.perf_counter()})

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

    def on_event(self, event: str, data: Any, received_at: float) -> None:
        if event != "broadcast":
            super().on_event(event, data, received_at)
            return
        self.run.on_delivery(data, received_at)


class BroadcastSender(Client):
    """Sends the broadcasts; the copies the server sends back to it are counted, not timed."""

    def __init__(self, run: BroadcastRun) -> None:
        super().__init__(run.stats)
        self.run = run

    def on_event(self, event: str, data: Any, received_at: float) -> None:
        if event != "broadcast":
            super().on_event(event, data, received_at)
            return
        self.run.sender_copies += 1


async def prime(run: BroadcastRun) -> None:
    """Send priming broadcasts until one reaches every receiver (at most 30 s).

    Each waits for its own completion before the next is sent, so none is left queued in
    the server when this returns: the server reads the sender's frames in order, and a
    completed prime means every earlier one was handled too. The wait doubles from 2 s, so
    that a server taking seconds per broadcast (Channels at 5,000 clients) is not sent primes
    faster than it delivers them.
    """
    deadline = time.perf_counter() + 30
    seq, wait_s = -1, 2.0
    while True:
        run.send(seq)
        try:
            completed = functools.partial(operator.contains, run.completed_primes, seq)
            await wait_for(completed, min(wait_s, deadline - time.perf_counter()), "a prime")
            return
        except TimeoutError:
            if time.perf_counter() >= deadline - 0.1:
                break
            seq, wait_s = seq - 1, wait_s * 2
    raise TimeoutError("no priming broadcast reached every receiver within 30 s")


async def run_broadcast(
    urls: Sequence[str],
    meter: Meter,
    stats: ClientStats,
    receivers: int,
    window: int,
    warmup: float,
    duration: float,
) -> dict[str, Any]:
    """Receivers spread evenly over ``urls`` (several servers sharing a broker); the sender
    is on the first."""
    run = BroadcastRun(stats, receivers, window)
    clients: list[Client] = [BroadcastReceiver(run) for _ in range(receivers)]
    connect_rate = await connect_all(urls, clients)
    run.sender = BroadcastSender(run)
    clients.append(run.sender)
    await connect_all(urls[:1], [run.sender])

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
