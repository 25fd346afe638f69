"""Start a handler coroutine as its own task: eagerly where Python can, lazily elsewhere.

Python 3.12+ runs the coroutine at once, on the caller's stack, until it first waits
(``asyncio.Task(..., eager_start=True)``): a handler that answers without waiting answers in the
loop iteration that read its message. Earlier Pythons start an ordinary task, which runs on the
next iteration. An emulation of eager start on 3.11 (a task entered as current around the first
step) halved the latency of one connection's echo but cost a third of the throughput at 100
connections in ``bench/``, so it is not used.

Loop thread only.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from typing import Any

__all__ = ["start", "Started"]


class Started:
    """A started coroutine: ``done`` once it returned or raised in its first step (then
    ``result``/``error``); otherwise ``task`` carries it on."""

    __slots__ = ("done", "result", "error", "task")

    def __init__(self) -> None:
        self.done = False
        self.result: Any = None
        self.error: BaseException | None = None
        self.task: asyncio.Task[Any] | None = None


def start(loop: asyncio.AbstractEventLoop, coroutine: Coroutine[Any, Any, Any]) -> Started:
    """Run ``coroutine`` as a task, eagerly when the Python version allows it."""
    started = Started()
    if sys.version_info >= (3, 12):
        task = asyncio.Task(coroutine, loop=loop, eager_start=True)
        if not task.done():
            started.task = task
        elif task.cancelled():
            started.done, started.error = True, asyncio.CancelledError()
        else:
            started.done, started.error = True, task.exception()
            started.result = None if started.error else task.result()
        return started
    started.task = loop.create_task(coroutine)
    return started
