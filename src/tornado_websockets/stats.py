"""Counters of what the server does, per WebSocket path, for metrics and ``runtornado --stats``.

Always on and cheap: plain integer attributes bumped on the loop thread, read by the metrics
endpoint and the stats log line (also on the loop). Broker figures come from the broker's own
``stats``.
"""

from __future__ import annotations

import bisect
from typing import Any

__all__ = ["PathStats", "Histogram", "DURATION_BUCKETS", "COUNTERS", "bytes_waiting"]

COUNTERS = (
    "connections_open",
    "messages_received",
    "messages_sent",
    "emits",
    "warnings",
    "handler_errors",
    "slow_consumer_disconnects",
    "rate_limit_closes",
    "refused_handshakes",
)
"""The integer figures of ``PathStats`` (the first one a gauge, the others counters)."""

DURATION_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
"""Upper bounds, in seconds, of the handler duration histogram."""


class Histogram:
    """Observations counted in cumulative-friendly buckets (``DURATION_BUCKETS`` + infinity)."""

    __slots__ = ("bounds", "counts", "total", "count")

    def __init__(self, bounds: tuple[float, ...] = DURATION_BUCKETS) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.total = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.total += value
        self.count += 1

    def cumulative(self) -> list[tuple[float, int]]:
        """``(upper bound, observations ≤ it)`` pairs, the last bound being infinity."""
        running = 0
        pairs = []
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            running += count
            pairs.append((bound, running))
        return pairs


class PathStats:
    """What happened on one WebSocket path since the process started. Loop thread only."""

    __slots__ = (*COUNTERS, "handler_durations")

    def __init__(self) -> None:
        self.connections_open = 0
        self.messages_received = 0
        self.messages_sent = 0
        self.emits = 0
        self.warnings = 0
        self.handler_errors = 0
        self.slow_consumer_disconnects = 0
        self.rate_limit_closes = 0
        self.refused_handshakes = 0
        self.handler_durations = Histogram()


def bytes_waiting(connection: Any) -> int:
    """Bytes sent to ``connection`` (a ``WebSocketHandler``) that the peer has not taken yet:
    on Tornado's path, its write buffer and the connection's outbox of coalesced frames; on the
    asyncio transport, the transport's buffer and its outbox.

    Read on demand, so that nothing is counted on the send path; 0 when the connection is
    closed or the stream does not say. Loop thread.
    """
    buffered = getattr(connection.ws_connection, "buffered_bytes", None)
    if buffered is not None:  # the asyncio transport keeps the count itself
        return int(buffered())
    stream = getattr(connection.ws_connection, "stream", None)
    buffer = getattr(stream, "_write_buffer", None)
    outbox = getattr(connection, "_outbox", None)
    return (len(buffer) if buffer is not None else 0) + (len(outbox) if outbox else 0)
