"""Hand calls to the worker pool and back to the loop, batched when they come in bursts.

Under load, Django requests arrive faster than one ``executor.submit`` each (a Future, a
work item, a Condition) and one ``call_soon_threadsafe`` each (a write to the loop's wake-up
pipe) can carry cheaply. ``PoolQueue`` keeps the calls in a deque drained by at most ``width``
tasks of the pool; ``LoopInbox`` wakes the loop once for all the answers that arrive before it
runs. A lone request still costs one submit and one wake-up.

``PoolQueue.put``: any thread (the loop, in practice). ``LoopInbox.put``: any thread; the
calls run on the inbox's loop, in order.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

__all__ = ["PoolQueue", "LoopInbox"]

logger = logging.getLogger("tornado_websockets")

BATCH = 8
"""Calls a drain task runs before it goes to the back of the pool's queue: other work waiting
for the pool (plain WebSocket handlers) is never held behind a stream of requests."""


class PoolQueue:
    """Calls run in ``executor``, at most ``width`` at a time (the pool's size: a slow call
    never delays the next while a thread is free)."""

    def __init__(self, executor: Executor, width: int) -> None:
        self.executor = executor
        self.width = width
        self._calls: deque[tuple[Callable[..., None], tuple[Any, ...]]] = deque()
        self._lock = threading.Lock()
        self._draining = 0  # drain tasks submitted and not finished (under _lock)

    def put(self, call: Callable[..., None], *args: Any) -> None:
        """Run ``call(*args)`` in the pool; raises ``RuntimeError`` if the pool is shut down."""
        with self._lock:
            self._calls.append((call, args))
            if self._draining >= self.width:
                return  # a running drain task will take it
            self._draining += 1
        try:
            self.executor.submit(self._drain)
        except BaseException:
            with self._lock:
                self._draining -= 1
                self._calls.remove((call, args))
            raise

    def _drain(self) -> None:
        calls, lock = self._calls, self._lock
        for _ in range(BATCH):
            with lock:
                if not calls:
                    self._draining -= 1
                    return
                call, args = calls.popleft()
            try:
                call(*args)
            except Exception:  # the calls answer their own errors: this is a bug
                logger.exception("A call in the worker pool failed.")
        with lock:
            if not calls:
                self._draining -= 1
                return
        try:
            self.executor.submit(self._drain)  # the rest, after what waits for the pool
        except RuntimeError:  # shut down: the server is stopping, nobody waits any more
            with lock:
                self._draining -= 1


class LoopInbox:
    """Calls made from worker threads, run on ``loop`` (one wake-up per burst)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._calls: deque[tuple[Callable[..., None], tuple[Any, ...]]] = deque()
        self._wake_pending = False

    def put(self, call: Callable[..., None], *args: Any) -> None:
        """Run ``call(*args)`` on the loop; raises ``RuntimeError`` if the loop is closed."""
        self._calls.append((call, args))  # deque.append is atomic
        if not self._wake_pending:
            # Two threads may both get here: one wake-up too many, never one too few (the
            # loop clears the flag before it empties the deque).
            self._wake_pending = True
            self.loop.call_soon_threadsafe(self._run)

    def _run(self) -> None:
        self._wake_pending = False
        calls = self._calls
        while calls:
            call, args = calls.popleft()
            call(*args)
