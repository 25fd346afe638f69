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
