"""Start a handler coroutine at once, on the caller's stack, like Python 3.12's eager tasks.

``start(loop, coroutine)`` runs the coroutine until it first waits, right away, as the body of
a new task (``asyncio.current_task()`` is that task, in the task's own context), so a handler
that answers without waiting answers in the same loop iteration as the message that woke it.
If it waits, the task carries it on from there; if it finished, the task has nothing left to do.

Python 3.12+ does this with ``asyncio.Task(..., eager_start=True)``. Python 3.11 gets the same
behaviour here: the task is created first (with its context), then the coroutine's first step
runs inside that context with the task entered as the current task. Python 3.10, where a task's
context cannot be chosen, starts an ordinary task.

Loop thread only.
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
from collections.abc import Coroutine, Generator
from typing import Any

__all__ = ["start", "Started"]


class Started:
    """A started coroutine: ``done`` once it returned or raised (then ``result``/``error``);
    otherwise ``task`` carries it on."""

    __slots__ = ("coroutine", "done", "result", "error", "pending", "task")

    def __init__(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        self.coroutine = coroutine
        self.done = False
        self.result: Any = None
        self.error: BaseException | None = None
        self.pending: Any = None
        self.task: asyncio.Task[Any] | None = None

    def first_step(self) -> None:
        try:
            self.pending = self.coroutine.send(None)
        except StopIteration as stop:
            self.done, self.result = True, stop.value
        except BaseException as error:  # handed to the caller, as a task would hold it
            self.done, self.error = True, error

    def __await__(self) -> Generator[Any, Any, Any]:
        if self.done:
            return None  # finished in the first step: the caller already has the outcome
        coroutine, pending = self.coroutine, self.pending
        while True:
            try:
                sent = yield pending
            except GeneratorExit:
                coroutine.close()
                raise
            except BaseException as thrown:  # cancellation and errors go into the coroutine
                try:
                    pending = coroutine.throw(thrown)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    pending = coroutine.send(sent)
                except StopIteration as stop:
                    return stop.value


async def _carry_on(started: Started) -> Any:
    return await started


def start(loop: asyncio.AbstractEventLoop, coroutine: Coroutine[Any, Any, Any]) -> Started:
    """Run ``coroutine`` to its first wait now; see the module's docstring."""
    started = Started(coroutine)
    if sys.version_info >= (3, 12):
        task = asyncio.Task(coroutine, loop=loop, eager_start=True)
        if task.done():
            started.done = True
            if task.cancelled():
                started.error = asyncio.CancelledError()
            else:
                started.error = task.exception()
                started.result = None if started.error else task.result()
        else:
            started.task = task
        return started
    if sys.version_info < (3, 11):
        started.task = loop.create_task(coroutine)
        return started
    context = contextvars.copy_context()
    task = loop.create_task(_carry_on(started), context=context)
    previous = asyncio.current_task(loop)
    if previous is not None:
        asyncio.tasks._leave_task(loop, previous)
    asyncio.tasks._enter_task(loop, task)
    try:
        context.run(started.first_step)
    finally:
        asyncio.tasks._leave_task(loop, task)
        if previous is not None:
            asyncio.tasks._enter_task(loop, previous)
    if not started.done:
        started.task = task
    return started
