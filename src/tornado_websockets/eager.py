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

On 3.11 a task costs more than the rest of a short handler: made, scheduled and run once more
on the next iteration only to end, about 5 µs against 0.8 µs for the step alone. A coroutine
that cannot wait (its function has no ``await``, ``async for`` or ``async with``: ``never_waits``
of ``start``) gets none of its own there: it runs, in a copied context, with a finished task of
its loop as the current one, the same for every such handler (so ``asyncio.current_task()``
still answers a task). Should it wait after all (its code changed since registration), a task
carries it on as above.

Loop thread only.
"""

from __future__ import annotations

import asyncio
import contextvars
import dis
import inspect
import sys
from collections.abc import Coroutine, Generator
from typing import Any

__all__ = ["start", "Started", "never_waits"]

# Where a coroutine suspends (3.11+: YIELD_VALUE; 3.10: YIELD_FROM), and the instructions that
# lead there, in case a version compiles one without the other.
_WAITING_INSTRUCTIONS = frozenset(
    {
        "YIELD_VALUE", "YIELD_FROM", "SEND", "GET_AWAITABLE", "BEFORE_ASYNC_WITH",
        "SETUP_ASYNC_WITH", "GET_AITER", "GET_ANEXT", "END_ASYNC_FOR",
    }
)  # fmt: skip

_finished_task: asyncio.Task[Any] | None = None
"""Python 3.11: a task run to its end, entered as the current task around coroutines that
cannot wait; of the last loop that ran one (any other loop makes its own first)."""


def never_waits(function: Any) -> bool:
    """Whether ``function`` (a function or bound method) is an ``async def`` whose body cannot
    wait: no ``await``, ``async for`` or ``async with`` in it. False when unsure (any other
    callable). Any thread; meant to be asked once, at registration."""
    code = getattr(getattr(function, "__func__", function), "__code__", None)
    if code is None or not code.co_flags & inspect.CO_COROUTINE:
        return False
    return not any(op.opname in _WAITING_INSTRUCTIONS for op in dis.get_instructions(code))


class Started:
    """A started coroutine: ``done`` once it returned or raised in its first step (then
    ``result``/``error``); otherwise ``task`` carries it on."""

    __slots__ = ("done", "result", "error", "task")

    def __init__(self) -> None:
        self.done = False
        self.result: Any = None
        self.error: BaseException | None = None
        self.task: asyncio.Task[Any] | None = None


def start(
    loop: asyncio.AbstractEventLoop, coroutine: Coroutine[Any, Any, Any], never_waits: bool = False
) -> Started:
    """Run ``coroutine`` as a task, its first step at once where it can be. ``never_waits``:
    the coroutine's function cannot wait (``never_waits()``); on 3.11 it then runs without a
    task of its own. Loop thread."""
    if sys.version_info >= (3, 12):
        return _started(asyncio.Task(coroutine, loop=loop, eager_start=True))
    if sys.version_info >= (3, 11) and asyncio.current_task(loop) is None:
        finished = _finished_task
        if never_waits and finished is not None and finished.get_loop() is loop:
            return _run_to_the_end(loop, coroutine, finished)
        return _start_emulated(loop, coroutine, never_waits)
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
    loop: asyncio.AbstractEventLoop, coroutine: Coroutine[Any, Any, Any], keep: bool = False
) -> Started:
    """Python 3.11: the task is scheduled (its first step runs on the next iteration), then the
    coroutine's first step runs here, with the task as the current task, in the task's context.
    ``keep``: a task whose coroutine ended here becomes the loop's finished task (it ends on
    the next iteration)."""
    global _finished_task
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
        if keep:
            _finished_task = task
        return started
    except BaseException as error:
        continued.finished = started.done = True
        started.error = error
        return started
    finally:
        asyncio.tasks._leave_task(loop, task)
    started.task = task
    return started


def _run_to_the_end(
    loop: asyncio.AbstractEventLoop,
    coroutine: Coroutine[Any, Any, Any],
    finished: asyncio.Task[Any],
) -> Started:
    """Python 3.11: run a coroutine that cannot wait to its end, in a copied context, with
    ``finished`` (a task that has ended, or ends on the next iteration) as the current task."""
    context = contextvars.copy_context()
    started = Started()
    asyncio.tasks._enter_task(loop, finished)
    try:
        waited_on = context.run(coroutine.send, None)
    except StopIteration as stop:
        started.done = True
        started.result = stop.value
        return started
    except BaseException as error:
        started.done = True
        started.error = error
        return started
    finally:
        asyncio.tasks._leave_task(loop, finished)
    # It waited after all: its task carries it on from its wait, in the same context.
    continued = _ContinuedCoroutine(coroutine)
    continued.waited_on = waited_on
    started.task = loop.create_task(continued, context=context)  # type: ignore[call-arg]
    return started
