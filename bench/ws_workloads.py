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

from frame_counter import RING, FrameCounter, Tally, tally
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

TEXT_MESSAGE = "The quick brown fox jumps over the lazy dog"

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
        self.send_event("message", {"message": TEXT_MESSAGE, "t": time.perf_counter()})

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


class BroadcastRun(Tally):
    """Bounded window: at most ``window`` broadcasts in flight, a broadcast being in flight
    until every receiver has it. Negative sequence numbers are priming broadcasts, sent until
    one reaches every receiver, so the server has registered them all before the clock runs;
    the receivers decode those. Once one is complete no earlier one can still arrive (each
    receiver gets them in order), so the receivers then count broadcasts from 0 by position.

    Completion is tracked per read, not per copy (``frame_counter.tally``): ``at_level``
    counts the receivers that have received exactly k broadcasts (at k % RING), and broadcasts
    up to the lowest such k that is non-zero are complete (each receiver gets them in order,
    so they complete in order). The counters every read updates are the ``Tally``'s.

    Runs on the load generator's loop thread, like every callback here."""

    def __init__(self, stats: ClientStats, receivers: int, window: int) -> None:
        # RING - 1 at most: receivers' levels span completed..next_seq, window + 1 values.
        if not 1 <= window < RING:
            raise ValueError(f"the window must be between 1 and {RING - 1}")
        super().__init__(receivers)
        self.receivers = receivers
        self.window = window
        self.phase = Phase.WARMUP
        self.sender: Client | None = None
        self.prime_counts: dict[int, int] = {}
        self.completed_primes: set[int] = set()
        self.in_flight = 0
        self.sender_copies = 0
        self.stats = stats

    def send(self, seq: int) -> None:
        assert self.sender is not None
        sent_at = time.perf_counter()
        if seq >= 0:
            self.sent_at[seq % RING] = sent_at
        self.sender.send_event("broadcast", {"message": TEXT_MESSAGE, "seq": seq, "t": sent_at})

    def fill_window(self) -> None:
        while self.phase != Phase.DRAIN and self.in_flight < self.window:
            self.in_flight += 1
            self.send(self.next_seq)
            self.next_seq += 1

    def on_prime(self, seq: int) -> None:
        count = self.prime_counts.get(seq, 0) + 1
        if count < self.receivers:
            self.prime_counts[seq] = count
            return
        self.prime_counts.pop(seq, None)
        self.completed_primes.add(seq)

    def complete(self, level: int) -> None:
        """The last receiver at ``level``, the lowest, moved on: broadcasts up to the new
        lowest level are complete, and as many more can be sent."""
        at_level = self.at_level
        completed = level + 1
        while not at_level[completed % RING]:
            completed += 1
        self.in_flight -= completed - self.completed
        self.completed = completed
        self.fill_window()


class BroadcastReceiver(Client):
    """One of the N receivers: every broadcast it gets is counted and timed, against the time
    its broadcast was sent. Once its connection is open its frames are read by a
    ``FrameCounter`` (frame_counter.py), which counts broadcasts by position, with one receive
    time per read (every copy in a read shares it, the time the read returned), and decodes
    only priming broadcasts, control frames and one broadcast in ``CHECK_EVERY``."""

    def __init__(self, run: BroadcastRun) -> None:
        super().__init__(run.stats)
        self.run = run
        self.level = -1  # broadcasts received since priming; -1 while priming

    def count_frames(self) -> None:
        """Hand the connection's reading to a ``FrameCounter``: once the wire is ready and
        before priming, when the server has nothing more to send it unasked."""
        assert self.transport is not None
        underlying = self.transport.underlying_transport
        underlying.set_protocol(FrameCounter(self, underlying.get_protocol()))

    def on_event(self, event: str, data: Any, received_at: float) -> None:
        if event != "broadcast":
            super().on_event(event, data, received_at)
            return
        seq = data["seq"]
        if seq < 0:
            self.run.on_prime(seq)
            return
        level = self.level
        if level < 0:
            self.stats.unexpected({"broadcast": seq, "expected": "a priming broadcast"})
            return
        if seq != level:
            self.stats.unexpected({"broadcast": seq, "expected": level})
        self.advance(level + 1, received_at)

    def on_text(self, payload: bytes, received_at: float) -> None:
        decoded = self.wire.decode(self, payload)
        if decoded is not None:
            self.on_event(decoded[0], decoded[1], received_at)

    def check(self, payload: bytes, level: int) -> None:
        decoded = self.wire.decode(self, payload)
        if decoded is None:  # something the wire handled itself, counted as a broadcast
            self.stats.unexpected({"wire packet": payload[:40], "expected": level})
            return
        event, data = decoded
        seq = data.get("seq") if isinstance(data, dict) else None
        if event != "broadcast" or seq != level:
            self.stats.unexpected({"event": event, "broadcast": seq, "expected": level})

    def advance(self, level: int, received_at: float) -> None:
        """Broadcasts ``self.level`` to ``level`` (excluded) arrived at ``received_at``."""
        tally(self, level, received_at)

    def send_pong(self, payload: bytes) -> None:
        assert self.transport is not None
        self.transport.send_pong(payload)

    def unexpected(self, what: Any) -> None:
        self.stats.unexpected(what)


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


def busy_s(usage: dict[str, float]) -> float:
    """The load generator's CPU seconds over the measured window."""
    return usage["elapsed_s"] * usage["loadgen_cpu_pct"] / 100


def receivers_of(clients: Sequence[Client]) -> list[BroadcastReceiver]:
    return [client for client in clients if isinstance(client, BroadcastReceiver)]


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

    for receiver in receivers_of(clients):
        receiver.count_frames()

    await prime(run)
    for receiver in receivers_of(clients):
        receiver.level = 0
    run.fill_window()
    await asyncio.sleep(warmup)
    # A slow server may not have finished one broadcast yet: warm up on two at least.
    await wait_for(lambda: run.completed >= 2, 20, "the warm-up broadcasts")
    run.phase, run.measuring = Phase.MEASURE, True
    meter.start()
    await asyncio.sleep(duration)
    run.phase, run.measuring = Phase.DRAIN, False
    usage = meter.stop()
    await wait_for(lambda: not run.in_flight, 20, "the last broadcasts to be delivered")
    await close_all(clients)
    deliveries = len(run.latencies)
    return {
        "deliveries_per_s": deliveries / usage["elapsed_s"],
        # Copies a receiver found per read: the load generator's cost is mostly per read.
        "deliveries_per_read": deliveries / max(1, run.reads),
        "broadcasts_per_s": deliveries / receivers / usage["elapsed_s"],
        # The load generator's CPU per delivery, as the rate it could take at 100 % of its core.
        "loadgen_capacity_per_s": deliveries / max(1e-9, busy_s(usage)),
        **latency_summary_ms(run.latencies),
        "sender_receives_own_broadcast": run.sender_copies > 0,
        "connect_per_s": connect_rate,
        **usage,
        **run.stats.as_dict(),
    }
