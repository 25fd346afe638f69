"""``MemoryHistory``: the history of one process, in its memory.

Each stream is a deque of at most ``size`` entries; entries older than ``ttl`` are skipped on
read and freed on the next append. A stream's epoch is drawn when the stream is created, so a
new store (a restarted server) never reuses an old epoch. A stream idle for ``META_TTL``
seconds is forgotten, offsets and epoch with it, as the Redis store's keys expire.

Thread affinity: every method is safe from any thread (a lock guards the streams); ``append``
announces synchronously, in the caller's thread, which is the loop thread for a server.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from .base import Announce, Entry, HistoryStore, HistoryUnavailableError, Window, announcement

__all__ = ["MemoryHistory", "META_TTL"]

META_TTL = 86_400.0
"""Seconds an idle stream keeps its offset and epoch (at least its ``ttl``)."""
_SWEEP_EVERY = 1024


@dataclass
class _Stream:
    epoch: str
    top: int = 0
    last: float = 0.0
    meta_ttl: float = META_TTL
    entries: deque[Entry] = field(default_factory=deque)


class MemoryHistory(HistoryStore):
    """History in this process's memory: for one server process (the in-memory broker)."""

    name = "in-memory history"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._streams: dict[tuple[str, str], _Stream] = {}
        self._announce: Announce | None = None
        self._appends = 0

    def start(self, announce: Announce) -> None:
        self._announce = announce

    def append(
        self, channel: str, stream: str, payload: bytes, head: bytes, size: int, ttl: float
    ) -> None:
        announce = self._announce
        if announce is None:
            raise HistoryUnavailableError("The in-memory history is not started.")
        offset, epoch = self._store(channel, stream, payload, size, ttl)
        announce(channel, announcement(head, offset, epoch, payload))

    def append_blocking(
        self, channel: str, stream: str, payload: bytes, head: bytes, size: int, ttl: float
    ) -> None:
        raise HistoryUnavailableError(
            "The in-memory history lives in the server's process: without a server here, "
            "set TORNADO['broker'] to Redis so that history is shared."
        )

    def _store(
        self, channel: str, stream: str, payload: bytes, size: int, ttl: float
    ) -> tuple[int, str]:
        now = time.time()
        with self._lock:
            key = (channel, stream)
            state = self._streams.get(key)
            if state is None or now - state.last > state.meta_ttl:
                state = self._streams[key] = _Stream(secrets.token_hex(4))
            state.top += 1
            state.last = now
            state.meta_ttl = max(META_TTL, ttl)
            entries = state.entries
            entries.append(Entry(state.top, now, payload))
            while len(entries) > size or entries[0].time < now - ttl:
                entries.popleft()
            self._appends += 1
            if self._appends % _SWEEP_EVERY == 0:
                self._sweep(now)
            return state.top, state.epoch

    def _sweep(self, now: float) -> None:
        idle = [key for key, state in self._streams.items() if now - state.last > state.meta_ttl]
        for key in idle:
            del self._streams[key]

    async def read(self, channel: str, stream: str, since: int, limit: int, ttl: float) -> Window:
        return self.read_blocking(channel, stream, since, limit, ttl)

    def read_blocking(
        self, channel: str, stream: str, since: int, limit: int, ttl: float
    ) -> Window:
        oldest = time.time() - ttl
        with self._lock:
            state = self._streams.get((channel, stream))
            if state is None or time.time() - state.last > state.meta_ttl:
                return Window(None, 0, ())
            found: list[Entry] = []
            for entry in state.entries:
                if entry.offset > since and entry.time >= oldest:
                    found.append(entry)
                    if len(found) >= limit:
                        break
            return Window(state.epoch, state.top, tuple(found))
