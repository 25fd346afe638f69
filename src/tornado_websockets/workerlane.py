"""Plain handlers' jobs on their way to the worker pool, taken by as few threads as keep up.

A loop iteration that reads many connections starts as many plain handlers. Put straight on
the pool's queue, each of them could wake another idle thread, and on one core the threads then
pass the GIL (and the core) round many more hands than the work needs: measured on Python 3.13
with 100 echoing connections, 16 threads ran 11,500-16,900 messages a second at about 5 context
switches a message, against 21,000 and 0.2 with 2 threads.

So the jobs wait in a lane of their own, and threads of the pool come to take them
(*runners*): one runner while it keeps up, more only when it does not. A runner takes jobs one
after another until none is left, then goes back to the pool. The runners are held when none
of them has taken a job for ``patience`` seconds (``default_patience()``, 10 ms) and none is on
its way: each is then inside a handler blocked on the database, on a lock, on another
connection's handler. A job added then gets a runner of its own at once; and while jobs wait,
the loop looks every ``patience`` seconds and, finding the runners held, asks the pool for one
more thread for each waiting job, up to the pool's size. A blocked handler thus delays the
other connections' handlers by about ``patience`` at most, and handlers that wait for one
another all still run.

A runner that finds no job left waits a little (``linger``, 10 ms by default) for the next one
before it goes back to the pool, one runner at a time: a connection that sends its next message
as soon as it has the reply then finds its runner at hand. The loop wakes it by writing to a
file descriptor (an ``eventfd``, or a pipe where there is none), a system call that releases
the GIL, so that the runner finds the GIL free; woken through the pool's queue, it would wake
into a GIL still held by the loop and sleep again until the loop polls. Measured with one
echoing connection on a 2-core virtual machine (``docs/topics/performance.md``): about 1.2x the
messages a second where idle CPUs poll before they halt, the same where they halt at once
(their wake-up then sets the pace); with 100 connections, 2-3 % fewer. The descriptor is
opened when a runner first lingers; a runner that cannot open it (the process is out of
descriptors), or that runs where there is no ``select.poll`` (Windows), goes back to the pool
instead.

Jobs start in the order they were added. A job must not raise (``runtime._Job`` logs what its
function raises); if one does, its runner is counted out and the next check replaces it.

Thread affinity: ``add``, ``close`` and the checks run on the loop thread; runners in the
pool's threads; ``stats`` from any thread (a snapshot). The loop must ``close`` the lane before
it shuts the pool down: that wakes a lingering runner, which otherwise holds its thread for
``linger`` seconds.
"""

from __future__ import annotations

import math
import os
import select
import sys
import threading
import time
from collections import deque
from collections.abc import Callable

from tornado.ioloop import IOLoop

Job = Callable[[], None]

_monotonic = time.monotonic


def default_patience() -> float:
    """Seconds jobs may wait with no job started before the lane takes more threads: twice
    ``sys.getswitchinterval()`` (10 ms by default). A runner that waits for the GIL gets it
    within one switch interval, so a shorter wait would mistake a busy loop for a held runner.
    """
    return 2 * sys.getswitchinterval()


LINGER_POSSIBLE = hasattr(select, "poll")
"""Whether runners can linger here: a doorbell needs ``select.poll`` (not on Windows, where
runners go back to the pool at once)."""


class _Doorbell:
    """What a lingering runner waits on and the loop rings: an ``eventfd`` (Linux), else a
    pipe (``use_pipe``). Both ``ring`` and ``wait`` release the GIL in their system call. One
    waiter at a time, and ``close`` once no one waits (the lane's lock sees to both); a
    doorbell dropped unclosed closes its descriptors when collected."""

    __slots__ = ("_read_fd", "_write_fd", "_poll")

    def __init__(self, use_pipe: bool = not hasattr(os, "eventfd")) -> None:
        self._read_fd = self._write_fd = -1  # what __del__ sees if opening fails
        if not use_pipe:
            self._read_fd = self._write_fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        else:
            self._read_fd, self._write_fd = os.pipe()
            os.set_blocking(self._read_fd, False)
            os.set_blocking(self._write_fd, False)
        self._poll = select.poll()
        self._poll.register(self._read_fd, select.POLLIN)

    def ring(self) -> None:
        try:
            os.write(self._write_fd, _ONE)
        except BlockingIOError:  # pragma: no cover - a pipe that full has rung already
            pass

    def wait(self, timeout: float) -> bool:
        """Whether it rang within ``timeout`` seconds; clears the rings either way."""
        rang = bool(self._poll.poll(max(1, math.ceil(timeout * 1000))))
        if rang:
            try:
                os.read(self._read_fd, 8)  # an eventfd's whole count; a pipe's first rings
            except BlockingIOError:  # pragma: no cover - read by nobody else
                pass
        return rang

    def close(self) -> None:
        if self._read_fd < 0:
            return
        os.close(self._read_fd)
        if self._write_fd != self._read_fd:
            os.close(self._write_fd)
        self._read_fd = self._write_fd = -1

    def __del__(self) -> None:
        self.close()


_ONE = (1).to_bytes(8, sys.byteorder)


class WorkerLane:
    """Jobs run in ``threads`` threads at most, taken from a pool by ``put_in_pool``.

    ``put_in_pool(callable)`` must run the callable in a thread of the pool (once), or raise
    ``RuntimeError`` when the pool is shut down.
    """

    __slots__ = (
        "_loop",
        "_put_in_pool",
        "_threads",
        "_patience",
        "_lock",
        "_jobs",
        "_runners",
        "_coming",
        "_last_taken",
        "_check",
        "_closed",
        "_linger",
        "_doorbell",
        "_lingering",
        "_doorbell_in_use",
    )

    def __init__(
        self,
        loop: IOLoop,
        put_in_pool: Callable[[Job], None],
        threads: int,
        patience: float | None = None,
        linger: float | None = None,
    ) -> None:
        if threads < 1:
            raise ValueError(f"A worker lane needs at least one thread, not {threads}.")
        self._loop = loop
        self._put_in_pool = put_in_pool
        self._threads = threads
        self._patience = default_patience() if patience is None else patience
        self._linger = default_patience() if linger is None else linger
        self._lock = threading.Lock()
        # Guarded by _lock: the jobs, runners asked of the pool and not yet back, those of them
        # that have not taken a job yet, and when a runner last took one (time.monotonic()).
        self._jobs: deque[Job] = deque()
        self._runners = 0
        self._coming = 0
        self._last_taken = -math.inf
        self._check: object | None = None
        self._closed = False
        # Guarded by _lock: the doorbell, made when a runner first lingers (a lane whose
        # handlers never run holds no descriptor for it); a runner waits to be rung; a runner
        # is inside the doorbell's wait (it closes the doorbell if the lane was closed
        # meanwhile).
        self._doorbell: _Doorbell | None = None
        self._lingering = False
        self._doorbell_in_use = False

    def add(self, job: Job) -> None:
        """Run ``job()`` in a thread of the pool, after the jobs added before it have started.

        Raises ``RuntimeError`` once the lane is closed (the pool shut down). Loop thread.
        """
        if self._closed:
            raise RuntimeError("cannot schedule new futures after shutdown")
        lock = self._lock
        lock.acquire()
        self._jobs.append(job)
        if self._lingering:
            self._lingering = False
            doorbell = self._doorbell
            lock.release()
            assert doorbell is not None  # made before any runner lingers
            doorbell.ring()  # the GIL released: the runner takes it at once
            return
        wake = self._runners == 0 or self._held(_monotonic())
        if wake:
            self._runners += 1
            self._coming += 1
        lock.release()
        if wake:
            try:
                self._put_in_pool(self._run)
            except RuntimeError:
                with self._lock:
                    self._runners -= 1
                    self._coming -= 1
                    self._jobs.remove(job)
                raise
        elif self._check is None:
            # The job waits behind runners that may be held: look again in a while.
            self._check = self._loop.call_later(self._patience, self._check_progress)

    def close(self) -> None:
        """Refuse new jobs and drop the waiting ones (the pool is shutting down). Loop thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._jobs.clear()
            doorbell = self._doorbell
            if doorbell is not None:
                if self._lingering:
                    self._lingering = False
                    doorbell.ring()
                if not self._doorbell_in_use:  # else the runner closes it once woken
                    doorbell.close()
        if self._check is not None:
            self._loop.remove_timeout(self._check)
            self._check = None

    def stats(self) -> tuple[int, int]:
        """(jobs waiting, runners out, a lingering one included): a snapshot, any thread."""
        return len(self._jobs), self._runners

    def lingering(self) -> bool:
        """Whether a runner waits for the next job: a snapshot, any thread."""
        return self._lingering

    def _held(self, now: float) -> bool:
        """Whether every runner is held in a job and another thread may come. Under the lock."""
        return (
            self._coming == 0
            and self._runners < self._threads
            and now - self._last_taken >= self._patience
        )

    def _check_progress(self) -> None:
        self._check = None
        with self._lock:
            waiting = len(self._jobs)
            more = 0
            if waiting and self._held(_monotonic()):
                more = min(waiting, self._threads - self._runners)
                self._runners += more
                self._coming += more
        for asked in range(more):
            try:
                self._put_in_pool(self._run)
            except RuntimeError:  # the pool is shutting down: its jobs are dropped
                with self._lock:
                    self._runners -= more - asked
                    self._coming -= more - asked
                return
        if waiting and not self._closed:
            self._check = self._loop.call_later(self._patience, self._check_progress)

    def _run(self) -> None:
        """Take jobs until none is left, then linger for the next one unless another runner
        does. A thread of the pool."""
        lock = self._lock
        jobs = self._jobs
        # acquire/release rather than `with`: this runs for every plain handler.
        lock.acquire()
        self._coming -= 1
        while True:
            while jobs:
                job = jobs.popleft()
                self._last_taken = _monotonic()
                lock.release()
                try:
                    job()
                except BaseException:
                    # The jobs waiting behind it are taken by the runner the next check asks
                    # for.
                    with lock:
                        self._runners -= 1
                    raise
                lock.acquire()
            # One runner waits at a time: also not one whose ring came while the runner it
            # woke is still on its way out of the wait.
            if self._doorbell_in_use or self._closed or not LINGER_POSSIBLE:
                break
            doorbell = self._doorbell
            if doorbell is None:
                try:
                    doorbell = self._doorbell = _Doorbell()
                except OSError:  # out of descriptors: back to the pool instead
                    break
            self._lingering = self._doorbell_in_use = True
            lock.release()
            try:
                doorbell.wait(self._linger)
            except BaseException:
                with lock:
                    self._lingering = self._doorbell_in_use = False
                    self._runners -= 1
                    if self._closed:  # close() left the doorbell to this runner
                        doorbell.close()
                raise
            lock.acquire()
            self._doorbell_in_use = False
            if self._closed:
                doorbell.close()
                break
            if self._lingering:
                # Nobody rang (or a ring that came after an earlier wait had timed out did:
                # the runner then goes back to the pool early, which costs nothing).
                self._lingering = False
                break
        self._runners -= 1
        lock.release()
