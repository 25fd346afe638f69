"""Start a handler coroutine as its own task, eagerly: its first step runs at once, on the
caller's stack, until it first waits.

A handler that answers without waiting then answers in the loop iteration that read its
message, and its reply leaves with that iteration's other replies instead of one iteration
later. Python 3.12+ does this itself (``asyncio.Task(..., eager_start=True)``). On 3.11 it is
emulated (``_ContinuedCoroutine``): the task is made first and entered as the current task
around the coroutine's first step, so ``asyncio.current_task()``, ``asyncio.timeout()`` and
context variables behave from the first line as in any task; the task then carries the
coroutine on from where it waits. On 3.10, and wherever a task is already running (Tornado's own
read loop), an ordinary task starts on the next iteration.

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
    """A started coroutine: ``done`` once it returned or raised in its first step (then
    ``result``/``error``); otherwise ``task`` carries it on."""

    __slots__ = ("done", "result", "error", "task")

    def __init__(self) -> None:
        self.done = False
        self.result: Any = None
        self.error: BaseException | None = None
        self.task: asyncio.Task[Any] | None = None


def start(loop: asyncio.AbstractEventLoop, coroutine: Coroutine[Any, Any, Any]) -> Started:
    """Run ``coroutine`` as a task, its first step at once where it can be. Loop thread."""
    if sys.version_info >= (3, 12):
        return _started(asyncio.Task(coroutine, loop=loop, eager_start=True))
    if sys.version_info >= (3, 11) and asyncio.current_task(loop) is None:
        return _start_emulated(loop, coroutine)
    started = Started()
    started.task = loop.create_task(coroutine)
    return started


def _started(task: asyncio.Task[Any]) -> Started:
    started = Started()
    if not task.done():
        started.task = task
    elif task.cancelled():
        started.done, started.error = True, asyncio.CancelledError()
    else:
        started.done, started.error = True, task.exception()
        started.result = None if started.error else task.result()
    return started


class _ContinuedCoroutine(Coroutine[Any, Any, Any]):
    """What the task of an emulated eager start runs: a coroutine whose first step has been
    taken already. Its first ``send`` hands the task what that step waited on (or ends at once
    if the step ended the coroutine: the caller has its outcome); later ones, and every
    ``throw`` (a cancellation), go to the coroutine."""

    __slots__ = ("coroutine", "waited_on", "first", "finished")

    def __init__(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        self.coroutine = coroutine
        self.waited_on: Any = None
        self.first = True
        self.finished = False

    def send(self, value: Any) -> Any:
        if self.first:
            self.first = False
            if self.finished:
                raise StopIteration  # the outcome went to the caller of start()
            return self.waited_on
        return self.coroutine.send(value)

    def throw(self, typ: Any, value: Any = None, traceback: Any = None) -> Any:
        self.first = False
        if self.finished:
            raise typ if value is None else value
        if value is None and traceback is None:
            return self.coroutine.throw(typ)
        return self.coroutine.throw(typ, value, traceback)  # pragma: no cover - old signature

    def close(self) -> None:
        self.coroutine.close()

    def __await__(self) -> Generator[Any, None, Any]:  # pragma: no cover - tasks call send
        raise TypeError("run by its task only")


def _start_emulated(
    loop: asyncio.AbstractEventLoop, coroutine: Coroutine[Any, Any, Any]
) -> Started:
    """Python 3.11: the task is scheduled (its first step runs on the next iteration), then the
    coroutine's first step runs here, with the task as the current task, in the task's context."""
    context = contextvars.copy_context()
    continued = _ContinuedCoroutine(coroutine)
    task = loop.create_task(continued, context=context)  # type: ignore[call-arg]
    started = Started()
    asyncio.tasks._enter_task(loop, task)
    try:
        continued.waited_on = context.run(coroutine.send, None)
    except StopIteration as stop:
        continued.finished = started.done = True
        started.result = stop.value
        return started
    except BaseException as error:
        continued.finished = started.done = True
        started.error = error
        return started
    finally:
        asyncio.tasks._leave_task(loop, task)
    started.task = task
    return started
