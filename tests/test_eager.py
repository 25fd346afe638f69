"""``eager.start``: a handler coroutine's first step runs at once, inside its own task.

Run on real event loops (asyncio's, and uvloop's when installed), from a loop callback as the
transport calls handlers, and from inside a task as Tornado's own read loop does.
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tornado_websockets import eager
from tornado_websockets.transport import new_event_loop, uvloop_installed

EAGER = sys.version_info >= (3, 11)
"""Where the first step runs at once: natively from 3.12, emulated on 3.11."""

LOOPS = ["asyncio"] + (["uvloop"] if uvloop_installed() else [])

seen: contextvars.ContextVar[str] = contextvars.ContextVar("seen", default="unset")


@pytest.fixture(params=LOOPS)
def loop(request) -> Iterator[asyncio.AbstractEventLoop]:
    made = new_event_loop(prefer_uvloop=request.param == "uvloop")
    try:
        yield made
    finally:
        made.run_until_complete(made.shutdown_asyncgens())
        made.close()


def in_a_callback(loop: asyncio.AbstractEventLoop, call: Callable[[], Any]) -> Any:
    """``call()`` run by the loop as a plain callback (no task current), as ``data_received``
    runs; its result."""
    outcome: asyncio.Future[Any] = loop.create_future()

    def run() -> None:
        try:
            outcome.set_result(call())
        except BaseException as error:
            outcome.set_exception(error)

    loop.call_soon(run)
    return loop.run_until_complete(outcome)


def settle(loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any] | None = None) -> None:
    """Run the loop until ``task`` is done, or for a few iterations."""
    if task is not None:
        loop.run_until_complete(asyncio.wait([task], timeout=5))
    for _ in range(3):
        loop.run_until_complete(asyncio.sleep(0))


@pytest.mark.skipif(not EAGER, reason="Python 3.10 starts handlers on the next iteration")
def test_a_coroutine_that_does_not_wait_is_done_when_start_returns(loop) -> None:
    steps: list[Any] = []

    async def answer() -> int:
        steps.append(asyncio.current_task())
        return 42

    started = in_a_callback(loop, lambda: eager.start(loop, answer()))
    assert (started.done, started.result, started.error, started.task) == (True, 42, None, None)
    assert len(steps) == 1 and isinstance(steps[0], asyncio.Task)  # its own task, current
    settle(loop)
    assert steps[0].done() and not steps[0].cancelled() and steps[0].exception() is None


@pytest.mark.skipif(not EAGER, reason="Python 3.10 starts handlers on the next iteration")
def test_an_error_in_the_first_step_is_handed_to_the_caller_and_not_logged_again(
    loop, caplog
) -> None:
    async def fail() -> None:
        raise ValueError("bad input")

    started = in_a_callback(loop, lambda: eager.start(loop, fail()))
    assert started.done and isinstance(started.error, ValueError)
    settle(loop)
    assert "never retrieved" not in caplog.text


def test_a_coroutine_that_waits_is_carried_on_by_its_task_in_its_own_context(loop) -> None:
    before_wait: list[str] = []
    release = loop.create_future()

    async def wait_then_answer() -> str:
        seen.set("handler")
        before_wait.append(seen.get())
        await release
        return f"{seen.get()} {asyncio.current_task() is task_of[0]}"

    task_of: list[asyncio.Task[Any]] = []

    def begin() -> Any:
        started = eager.start(loop, wait_then_answer())
        task_of.append(started.task)
        return started, seen.get(), list(before_wait)

    started, caller_sees, ran_at_once = in_a_callback(loop, begin)
    assert not started.done and started.task is not None
    assert ran_at_once == (["handler"] if EAGER else [])
    assert caller_sees == "unset"  # the handler's variables stay its own
    loop.call_soon(release.set_result, None)
    settle(loop, started.task)
    assert started.task.result() == "handler True"
    assert before_wait == ["handler"]


def test_cancelling_the_task_while_it_waits_raises_at_the_wait(loop) -> None:
    cleaned_up: list[str] = []

    async def wait_forever() -> None:
        try:
            await loop.create_future()
        except asyncio.CancelledError:
            cleaned_up.append("cancelled at the wait")
            raise

    started = in_a_callback(loop, lambda: eager.start(loop, wait_forever()))
    settle(loop)
    started.task.cancel()
    settle(loop, started.task)
    assert started.task.cancelled()
    assert cleaned_up == ["cancelled at the wait"]


@pytest.mark.skipif(not EAGER, reason="Python 3.10 starts handlers on the next iteration")
def test_cancelling_the_task_before_its_next_step_still_reaches_the_coroutine(loop) -> None:
    cleaned_up: list[str] = []

    async def wait_forever() -> None:
        try:
            await loop.create_future()
        finally:
            cleaned_up.append("finally ran")

    def start_and_cancel() -> Any:
        started = eager.start(loop, wait_forever())
        started.task.cancel()  # in the same callback: the task has not stepped yet
        return started

    started = in_a_callback(loop, start_and_cancel)
    settle(loop, started.task)
    assert started.task.cancelled()
    assert cleaned_up == ["finally ran"]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.timeout is Python 3.11+")
def test_a_timeout_from_the_first_line_cancels_the_handler_s_own_task(loop) -> None:
    async def too_slow() -> str:
        try:
            async with asyncio.timeout(0.01):
                await loop.create_future()
        except TimeoutError:
            return "timed out"
        return "never"

    started = in_a_callback(loop, lambda: eager.start(loop, too_slow()))
    assert started.task is not None
    settle(loop, started.task)
    assert started.task.result() == "timed out"


def test_inside_a_running_task_the_coroutine_gets_a_task_of_its_own(loop) -> None:
    async def whose_task() -> asyncio.Task[Any] | None:
        return asyncio.current_task()

    async def caller() -> tuple[Any, asyncio.Task[Any] | None]:
        started = eager.start(loop, whose_task())
        if started.task is not None:
            await started.task
            return started.task.result(), started.task
        return started.result, None

    ran_in, task = loop.run_until_complete(caller())
    assert isinstance(ran_in, asyncio.Task)
    if task is not None:
        assert ran_in is task


def count_tasks_made(loop: asyncio.AbstractEventLoop) -> list[asyncio.Task[Any]]:
    """Every task the loop makes from now on (a task factory that records them)."""
    made: list[asyncio.Task[Any]] = []

    def factory(loop: asyncio.AbstractEventLoop, coroutine: Any, **kwargs: Any) -> Any:
        task = asyncio.Task(coroutine, loop=loop, **kwargs)
        made.append(task)
        return task

    loop.set_task_factory(factory)  # type: ignore[arg-type]
    return made


@pytest.mark.skipif(
    sys.version_info[:2] != (3, 11), reason="where a task would be made and stepped once more"
)
def test_on_3_11_a_coroutine_that_cannot_wait_runs_without_a_task_of_its_own(loop) -> None:
    current: list[asyncio.Task[Any] | None] = []

    async def answer(number: int) -> int:
        current.append(asyncio.current_task())
        return number * 2

    made = count_tasks_made(loop)
    assert eager.never_waits(answer)
    results = []
    for number in range(5):
        started = in_a_callback(
            loop, lambda number=number: eager.start(loop, answer(number), never_waits=True)
        )
        results.append((started.done, started.result, started.error, started.task))
    assert results == [(True, number * 2, None, None) for number in range(5)]
    # The first made the task that every later one runs with as the current task.
    assert len(made) == 1
    assert all(task is made[0] for task in current)
    settle(loop)
    assert made[0].done() and not made[0].cancelled()


@pytest.mark.skipif(not EAGER, reason="Python 3.10 starts handlers on the next iteration")
def test_a_coroutine_that_cannot_wait_keeps_its_context_changes_to_itself(loop) -> None:
    async def set_variable() -> str:
        seen.set("handler")
        return seen.get()

    for _ in range(3):  # the first one runs as a task, the next ones may not
        started = in_a_callback(
            loop, lambda: (eager.start(loop, set_variable(), never_waits=True), seen.get())
        )
        assert (started[0].result, started[1]) == ("handler", "unset")


@pytest.mark.skipif(not EAGER, reason="Python 3.10 starts handlers on the next iteration")
def test_a_coroutine_said_not_to_wait_that_waits_is_carried_on_by_a_task(loop) -> None:
    async def instant() -> None:
        return None

    in_a_callback(loop, lambda: eager.start(loop, instant(), never_waits=True))
    settle(loop)
    release = loop.create_future()

    async def waits_after_all() -> str:
        seen.set("handler")
        await release
        return seen.get()

    started = in_a_callback(loop, lambda: eager.start(loop, waits_after_all(), never_waits=True))
    assert not started.done and started.task is not None
    loop.call_soon(release.set_result, None)
    settle(loop, started.task)
    assert started.task.result() == "handler"


async def no_wait(socket: Any, data: Any) -> None:
    socket.emit("answer", data)


async def awaits(socket: Any, data: Any) -> None:
    await asyncio.sleep(0)


async def async_with(socket: Any, data: Any) -> None:
    async with asyncio.Lock():
        pass


async def async_for(socket: Any, data: Any) -> None:
    async for _ in data:
        pass


async def await_in_a_comprehension(socket: Any, data: Any) -> list[Any]:
    return [await item for item in data]


async def async_comprehension(socket: Any, data: Any) -> list[Any]:
    return [item async for item in data]


def plain(socket: Any, data: Any) -> None:
    pass


class Handlers:
    async def no_wait(self, data: Any) -> Any:
        return data

    async def awaits(self, data: Any) -> None:
        await asyncio.sleep(0)

    async def __call__(self, data: Any) -> Any:
        return data


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        (no_wait, True),
        (Handlers().no_wait, True),
        (Handlers.no_wait, True),
        (awaits, False),
        (async_with, False),
        (async_for, False),
        (await_in_a_comprehension, False),
        (async_comprehension, False),
        (Handlers().awaits, False),
        (plain, False),
        (Handlers(), False),  # a callable object: not looked into
        (lambda socket: None, False),
    ],
)
def test_never_waits_is_true_only_for_an_async_def_with_nothing_to_wait_on(
    function: Any, expected: bool
) -> None:
    assert eager.never_waits(function) is expected
