"""Message history: bounded streams with offsets and an epoch, and recovery on reconnect.

- ``base``: the store contract (``HistoryStore``, ``Window``, ``Entry``);
- ``memory``: ``MemoryHistory``, one process (with the in-memory broker);
- ``redis``: ``RedisHistory``, Redis Streams shared by every process (with the Redis broker);
- ``feed``: what a ``WebSocket`` with history does with a store: store before fan-out, deliver
  announced messages with their position, read history;
- ``sequencer``: each stream's messages written in offset order on a node, gaps filled;
- ``recovery``: a reconnecting connection's ``$recover`` request and its replay.

The store follows ``TORNADO['broker']``: in memory without a broker, Redis Streams on the
broker's Redis and prefix otherwise. ``create_store`` builds it; importing this package imports
neither redis-py nor the layers above.
"""

from __future__ import annotations

from typing import Any

from .base import Entry, HistoryStore, HistoryUnavailableError, Window
from .memory import MemoryHistory

__all__ = [
    "Entry",
    "HistoryStore",
    "HistoryUnavailableError",
    "MemoryHistory",
    "Window",
    "create_store",
]


def create_store(broker_setting: Any) -> HistoryStore:
    """The store that goes with the value of ``TORNADO['broker']`` (already validated)."""
    from ..brokers import RedisBroker, create_broker

    broker = create_broker(broker_setting)
    if isinstance(broker, RedisBroker):
        from .redis import RedisHistory

        return RedisHistory(broker.url, broker.prefix, **broker.options)
    return MemoryHistory()
