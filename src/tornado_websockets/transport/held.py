"""Replies held until the end of a loop iteration, so that the replies to one iteration's
reads are written together.

Each write to a client that sleeps in ``epoll_wait`` wakes it; on a busy server, writes spread
between reads wake it once per reply where writes made together wake it once per batch
(``docs/topics/performance.md``). A connection that holds replies while its frames are
handled joins the loop's ``HeldReplies``; ``write_held``, a ``call_soon`` callback that both
asyncio's and uvloop's loops run before they poll again, then writes them.

The held replies are written in the reverse of the order their connections were read in. A
client answers its replies in the order they reach it, so the next iteration reads the
connections in about the order they were written to; written in read order, the connections at
the end of a batch would stay there, the ones whose next message keeps arriving just after the
loop polled, and fall behind the others (the slowest of 100 connections made 0.74–0.82× the
median's round trips in ``bench/``; reversed, 0.93–0.98×).

Holding only pays when an iteration reads several connections: once ``LONE_ITERATIONS``
iterations in a row held the replies of one connection alone, the next ``UNHELD_READS`` reads
write theirs straight into the transport, as they come, then holding is tried again.

Loop thread only.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any, Protocol

__all__ = ["HeldReplies", "held_replies", "write_held", "LONE_ITERATIONS", "UNHELD_READS"]

logger = logging.getLogger("tornado_websockets")

LONE_ITERATIONS = 8
"""Loop iterations in a row that held the replies of one connection alone before replies are
written as they come."""

UNHELD_READS = 64
"""Reads whose replies are then written at once, before holding is tried again: a lone
connection pays the held replies' loop iteration on one read in nine."""


class Corked(Protocol):
    """A connection holding replies (``AsyncioConnection``)."""

    def uncork(self) -> None: ...


class HeldReplies:
    """One event loop's connections whose replies wait for the end of the iteration, and
    whether replies are held at all (``unheld_reads``). Loop thread only."""

    __slots__ = ("connections", "lone_iterations", "unheld_reads")

    def __init__(self) -> None:
        self.connections: list[Corked] = []
        self.lone_iterations = 0  # iterations in a row that held one connection's replies
        self.unheld_reads = 0  # reads left whose replies are written at once


_held_by_loop: weakref.WeakKeyDictionary[Any, HeldReplies] = weakref.WeakKeyDictionary()


def held_replies(loop: Any) -> HeldReplies:
    """The loop's ``HeldReplies``, made on first use. Loop thread."""
    replies = _held_by_loop.get(loop)
    if replies is None:
        replies = _held_by_loop[loop] = HeldReplies()
    return replies


def write_held(replies: HeldReplies) -> None:
    """Write the replies of every connection that held some in this iteration. Loop thread,
    as a ``call_soon`` callback."""
    connections = replies.connections[:]
    replies.connections.clear()
    if len(connections) == 1:
        # A lone connection gains nothing from waiting for the iteration's other reads.
        replies.lone_iterations += 1
        if replies.lone_iterations >= LONE_ITERATIONS:
            replies.lone_iterations = 0
            replies.unheld_reads = UNHELD_READS
    else:
        replies.lone_iterations = 0
    for connection in reversed(connections):  # last read, first written: see the docstring
        try:
            connection.uncork()
        except Exception:
            logger.exception("Writing to %r failed", connection)
