"""``FanOut``: writes frames to many connections without holding the loop for long.

A view that emits a thousand broadcasts to a thousand clients asks for a million writes. Done
in one go, they would keep the loop from reading any socket or answering any request for
seconds. A ``FanOut`` writes at most ``BUDGET`` frames per loop iteration; what is left waits
in its queue, and the loop serves other sockets and requests between two chunks.

Runs of waiting broadcasts to the same connections are written recipient by recipient, the
run joined once and written to each client in one piece: one system call a client rather than
one a frame, and the client reads the run together.

Order: the queue is first in, first out, and nothing is written directly while something
waits, so a later frame to a connection (a broadcast, ``socket.emit``, an ack, a warning) never
overtakes an earlier one, and a ``close`` asked after a frame is done after it. With nothing
waiting, a frame to one connection (``socket.emit``, an ack) is written at once, at the cost
of one test; a fan-out within the budget too, at the cost of one callback per loop iteration
that fanned out, which renews the budget.

Memory: what waits is the frames (shared by their recipients) and a reference per recipient.
Past ``TORNADO['max_fanout_backlog']`` bytes of it, a new fan-out first writes out what waits,
in order, without yielding: the loop is held rather than memory grown without bound, and
nothing is dropped.

Loop thread only. Connections need ``send_frame(frame) -> bool``, which never raises.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Protocol

__all__ = ["FanOut", "BUDGET"]

logger = logging.getLogger("tornado_websockets")

BUDGET = 256
"""Frames written per loop iteration by one application before it yields to the loop."""
REFERENCE_SIZE = 8
"""Bytes a waiting recipient costs (a pointer in a tuple), to count the backlog's memory."""


class Recipient(Protocol):
    def send_frame(self, frame: bytes, parts: Sequence[bytes] | None = None) -> bool: ...


class _Job:
    """A frame for ``recipients[index:]``, or a callback to run in turn (``frame`` None)."""

    __slots__ = ("frame", "recipients", "index", "callback", "size")

    def __init__(
        self,
        frame: bytes | None,
        recipients: Sequence[Recipient],
        index: int,
        callback: Callable[[], Any] | None = None,
    ) -> None:
        self.frame = frame
        self.recipients = recipients
        self.index = index
        self.callback = callback
        self.size = (len(frame) if frame is not None else 0) + REFERENCE_SIZE * (
            len(recipients) - index
        )


class FanOut:
    """The ordered write queue of one application. Loop thread only.

    ``max_backlog``: bytes that may wait (frames plus a reference per recipient) before a new
    fan-out drains the queue at once; ``None`` reads ``TORNADO['max_fanout_backlog']`` of the
    running server at each use.
    """

    _running: asyncio.AbstractEventLoop | None = None
    """The loop the queue belongs to, set by ``_check_loop`` before anything is scheduled."""

    def __init__(self, max_backlog: int | None = None) -> None:
        self._jobs: deque[_Job] = deque()
        self._spent = 0  # frames written in this loop iteration
        self._turn_scheduled = False
        self._max_backlog = max_backlog
        self.backlog_bytes = 0
        """Bytes waiting now (frames and recipient references)."""
        self.drained_at_once = 0
        """Times the backlog limit made a fan-out write out the queue without yielding."""

    @property
    def waiting(self) -> int:
        """Frames and callbacks waiting for their turn."""
        return len(self._jobs)

    def send(self, frame: bytes, recipients: Sequence[Recipient]) -> None:
        """Write ``frame`` to each of ``recipients``, in turn: now, or in later iterations."""
        if not self._jobs and len(recipients) == 1:
            # Nothing waits, so nothing can be overtaken; a single frame does not starve the
            # loop: written at once, without counting (the echo and ack path).
            recipients[0].send_frame(frame)
            return
        count = len(recipients)
        if not count:
            return
        self._check_loop()
        if not self._jobs:
            now = min(count, BUDGET - self._spent)
            if now > 0:
                for index in range(now):
                    recipients[index].send_frame(frame)
                self._charge(now)
                if now == count:
                    return
            self._queue(_Job(frame, recipients, max(now, 0)))
            return
        self._queue(_Job(frame, recipients, 0))

    def in_order(self, callback: Callable[[], Any]) -> None:
        """Run ``callback`` once every frame queued before it is written (now if none is)."""
        if not self._jobs:
            callback()
            return
        self._check_loop()
        self._queue(_Job(None, (), 0, callback))

    def _check_loop(self) -> None:
        running = asyncio.get_running_loop()
        if running is not self._running:
            # A new server in this process (tests start several): what waited was for the
            # connections of a loop that stopped.
            self._running = running
            self._jobs.clear()
            self._spent = 0
            self._turn_scheduled = False
            self.backlog_bytes = 0

    def _charge(self, frames: int) -> None:
        self._spent += frames
        self._schedule()

    def _schedule(self) -> None:
        """Run ``_turn`` in the next loop iteration, after I/O, unless it is already due."""
        if not self._turn_scheduled:
            self._turn_scheduled = True
            assert self._running is not None
            # call_soon rather than IOLoop.add_callback: on the loop thread, the thread-safe
            # wake-up write of the latter is a system call for nothing.
            self._running.call_soon(self._turn)

    def _queue(self, job: _Job) -> None:
        limit = self._max_backlog
        if limit is None:
            limit = _configured_limit()
        if self._jobs and self.backlog_bytes + job.size > limit:
            self.drained_at_once += 1
            while self._jobs:
                self._write(self._jobs[0], len(self._jobs[0].recipients))
        if job.callback is not None and not self._jobs:
            self._jobs.append(job)
            self._write(job, 1)
            return
        if self._jobs and job.frame is not None:
            last = self._jobs[-1]
            # Broadcasts in a row go to equal snapshots of the connections: share one tuple,
            # so that a turn recognises them by identity and writes them together.
            if last.frame is not None and last.recipients == job.recipients:
                job.recipients = last.recipients
        self._jobs.append(job)
        self.backlog_bytes += job.size
        self._schedule()

    def _turn(self) -> None:
        """One loop iteration's share: a fresh budget, spent on the oldest waiting jobs."""
        self._turn_scheduled = False
        self._spent = 0
        jobs = self._jobs
        while jobs and self._spent < BUDGET:
            group = self._group()
            if len(group) > 1:
                self._write_group(group, BUDGET - self._spent)
            else:
                self._write(jobs[0], BUDGET - self._spent)
        if jobs:
            self._schedule()

    def _write(self, job: _Job, budget: int) -> None:
        """Write up to ``budget`` frames of the oldest job; drop it from the queue when done."""
        if job.frame is None:
            self._jobs.popleft()
            assert job.callback is not None
            self._spent += 1
            try:
                job.callback()
            except Exception:  # the queue must go on whatever one callback does
                logger.exception("A call queued behind a fan-out failed.")
            return
        recipients, frame, start = job.recipients, job.frame, job.index
        end = min(len(recipients), start + budget)
        for index in range(start, end):
            recipients[index].send_frame(frame)
        job.index = end
        self._spent += end - start
        self.backlog_bytes -= REFERENCE_SIZE * (end - start)
        if end == len(recipients):
            self._jobs.popleft()
            self.backlog_bytes -= len(frame)

    def _group(self) -> list[_Job]:
        """The oldest job and the frame jobs right after it for the same recipients, at the
        same point (``BUDGET`` at most)."""
        jobs = self._jobs
        head = jobs[0]
        group = [head]
        if head.frame is None:
            return group
        for job in itertools.islice(jobs, 1, BUDGET):
            if job.frame is None or job.recipients is not head.recipients:
                break
            if job.index != head.index:
                break
            group.append(job)
        return group

    def _write_group(self, group: list[_Job], budget: int) -> None:
        """Write every frame of ``group`` to each of the next recipients in turn.

        Recipient by recipient, the run joined once and written to each in one piece: one
        system call a client instead of one a frame (on loopback TCP a send costs about as
        much as the receiver's side of it), and the client reads the run together; each
        connection still gets the frames in queue order.
        """
        head = group[0]
        recipients, start = head.recipients, head.index
        frames = [job.frame for job in group if job.frame is not None]
        end = min(len(recipients), start + max(1, budget // len(frames)))
        run = b"".join(frames)
        for recipient in recipients[start:end]:
            recipient.send_frame(run, frames)
        written = (end - start) * len(frames)
        self._spent += written
        self.backlog_bytes -= REFERENCE_SIZE * written
        for job in group:
            job.index = end
        if end == len(recipients):
            for frame in frames:
                self._jobs.popleft()
                self.backlog_bytes -= len(frame)


def _configured_limit() -> int:
    from . import runtime

    run = runtime.current()
    if run is None:
        from .conf import TornadoConfig

        return TornadoConfig.max_fanout_backlog
    return run.config.max_fanout_backlog
