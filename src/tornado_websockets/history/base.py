"""The history store contract: bounded streams of messages with offsets and an epoch.

A *stream* is one application's broadcast stream or one of its rooms' streams, named by the
application's channel (its URL path) and a stream name (``''`` for the broadcast stream, the
room name otherwise). Each stored message gets the stream's next *offset* (1, 2, 3...) and
carries the stream's *epoch*, a random string that changes whenever the stream's history is
lost (a Redis flush, a new in-memory store), so that an offset is never mistaken for one of
another history. A stream keeps at most ``size`` messages, each for at most ``ttl`` seconds.

``append`` stores a message and then *announces* it: it hands the envelope head it was given,
completed with the position (``"o"``: offset, ``"p"``: epoch), a newline and the payload, to
the announce callback (in memory) or publishes it on the channel (Redis, inside the same atomic
step as the store). Announcements of one stream therefore reach every node in offset order,
and a message is in history before any client can see it. Stores know channels, streams,
payloads and envelope heads; never WebSocket or handler objects.

Thread and loop affinity: ``start``, ``append``, ``read`` and ``close`` run on the server's loop
thread (``read`` and ``close`` are coroutines) and never block it. ``read_blocking`` and
``append_blocking`` are for other threads and processes without a server.
"""

from __future__ import annotations

import abc
import json
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "Announce",
    "Entry",
    "HistoryStore",
    "HistoryUnavailableError",
    "Window",
    "announcement",
]

Announce = Callable[[str, bytes], None]
"""``announce(channel, envelope)``: called on the loop thread for each stored message."""


class HistoryUnavailableError(Exception):
    """The history backend could not be reached (the message says why)."""


@dataclass(frozen=True)
class Entry:
    """One stored message: its offset, when it was stored (``time.time()``) and its payload
    (the ``{"event", "data"}`` JSON object, as bytes)."""

    offset: int
    time: float
    payload: bytes


@dataclass(frozen=True)
class Window:
    """What a stream holds after ``since``: its ``epoch`` (``None`` when the stream has no
    history at all), its ``top`` offset (the last one given), and the stored entries with an
    offset above ``since``, oldest first, at most ``limit`` of them."""

    epoch: str | None
    top: int
    entries: tuple[Entry, ...]

    def complete_after(self, since: int) -> bool:
        """Whether ``entries`` are exactly the messages after ``since`` up to ``top``."""
        expected = self.top - since
        if expected < 0 or len(self.entries) != expected:
            return False
        return expected == 0 or self.entries[0].offset == since + 1


def announcement(head: bytes, offset: int, epoch: str, payload: bytes) -> bytes:
    """The announced envelope: ``head`` (a JSON object) with ``"o"`` and ``"p"`` added."""
    return b'%s,"o":%d,"p":%s}\n%s' % (head[:-1], offset, json.dumps(epoch).encode(), payload)


class HistoryStore(abc.ABC):
    """Bounded streams with offsets and an epoch; see the module documentation.

    ``size``: messages kept per stream; ``ttl``: seconds a message is kept. Both are given
    per call, by the application the stream belongs to.
    """

    name = "history"

    @abc.abstractmethod
    def start(self, announce: Announce) -> None:
        """Loop thread: remember where announcements go (the memory store calls it; a
        networked store publishes on the channel instead and may ignore it)."""

    @abc.abstractmethod
    def append(
        self, channel: str, stream: str, payload: bytes, head: bytes, size: int, ttl: float
    ) -> None:
        """Loop thread, returns at once: store ``payload`` in the stream, then announce it.

        Appends of one loop are stored in call order. A message that cannot be stored (the
        backend is unreachable) is dropped and logged: it is neither stored nor announced.
        """

    @abc.abstractmethod
    def append_blocking(
        self, channel: str, stream: str, payload: bytes, head: bytes, size: int, ttl: float
    ) -> None:
        """Store and announce from a thread that runs no loop of the store; blocks until done.
        ``HistoryUnavailableError`` when it cannot."""

    @abc.abstractmethod
    async def read(self, channel: str, stream: str, since: int, limit: int, ttl: float) -> Window:
        """Loop thread: the stream's window after offset ``since`` (at most ``limit``
        entries, none older than ``ttl`` seconds). ``HistoryUnavailableError`` on failure."""

    @abc.abstractmethod
    def read_blocking(
        self, channel: str, stream: str, since: int, limit: int, ttl: float
    ) -> Window:
        """``read`` for any thread but the loop's (blocks). ``HistoryUnavailableError``."""

    async def close(self) -> None:  # noqa: B027 - nothing to release by default
        """Loop thread: release connections. Idempotent."""
