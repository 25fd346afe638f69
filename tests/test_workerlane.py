"""``WorkerLane``: plain handlers' jobs taken from a real ``ThreadPoolExecutor`` by as few of its
threads as keep up, more as soon as the ones taken are held; driven from a real Tornado loop."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import pytest
from tornado.ioloop import IOLoop

from tornado_websockets import runtime
from tornado_websockets.workerlane import WorkerLane

TIMEOUT = 10.0
NEVER = 3600.0
"""A patience no test outlives: the lane then never takes a second thread."""


@pytest.fixture
def loop() -> Iterator[IOLoop]:
    made = IOLoop(make_current=False)
    try:
        yield made
    finally:
        made.close(all_fds=True)


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    executor = ThreadPoolExecutor(8, thread_name_prefix="lane-test")
    try:
        yield executor
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def lane_of(loop: IOLoop, pool: ThreadPoolExecutor, patience: float | None) -> WorkerLane:
    return WorkerLane(loop, partial(runtime._put_in_pool, pool), pool._max_workers, patience)


def run_on_loop_until(loop: IOLoop, start: Callable[[], None], done: threading.Event) -> None:
    """Call ``start()`` on the loop, then run the loop until ``done`` is set (or fail)."""
    deadline = time.monotonic() + TIMEOUT

    def poll() -> None:
        if done.is_set():
            loop.stop()
        elif time.monotonic() > deadline:
            loop.stop()
        else:
            loop.call_later(0.001, poll)

    loop.add_callback(start)
    loop.add_callback(poll)
    loop.start()
    assert done.is_set(), "the jobs did not all run in time"


def test_jobs_added_at_once_are_all_taken_by_one_thread_while_it_keeps_up(loop, pool) -> None:
    lane = lane_of(loop, pool, NEVER)
    threads: list[int] = []
    done = threading.Event()

    def job(n: int) -> None:
        threads.append(threading.get_ident())
        if n == 199:
            done.set()

    run_on_loop_until(loop, lambda: [lane.add(partial(job, n)) for n in range(200)], done)
    assert len(threads) == 200
    assert len(set(threads)) == 1


def test_jobs_start_in_the_order_they_were_added(loop, pool) -> None:
    lane = lane_of(loop, pool, NEVER)
    order: list[int] = []
    done = threading.Event()

    def job(n: int) -> None:
        order.append(n)
        if n == 99:
            done.set()

    run_on_loop_until(loop, lambda: [lane.add(partial(job, n)) for n in range(100)], done)
    assert order == list(range(100))


def test_a_held_job_gets_the_jobs_behind_it_another_thread(loop, pool) -> None:
    lane = lane_of(loop, pool, None)
    gate = threading.Event()
    done = threading.Event()

    def held() -> None:
        if gate.wait(TIMEOUT):
            done.set()

    def start() -> None:
        lane.add(held)
        lane.add(gate.set)

    began = time.monotonic()
    run_on_loop_until(loop, start, done)
    # The check comes after about one patience; a lane that never adds a thread fails above.
    assert time.monotonic() - began < TIMEOUT / 2


def test_a_job_added_while_every_runner_is_held_gets_a_thread_at_once(loop, pool) -> None:
    # The loop never runs here, so no check can come: only the job's arrival can ask for a
    # thread.
    patience = 0.05
    lane = lane_of(loop, pool, patience)
    gate = threading.Event()
    holding = threading.Event()
    released = threading.Event()

    def held() -> None:
        holding.set()
        if gate.wait(TIMEOUT):
            released.set()

    lane.add(held)
    assert holding.wait(TIMEOUT)
    held_since = time.monotonic()
    while time.monotonic() - held_since < 2 * patience:
        time.sleep(patience / 10)
    lane.add(gate.set)
    assert released.wait(TIMEOUT)


def test_a_job_added_while_a_runner_keeps_up_waits_for_it(loop, pool) -> None:
    lane = lane_of(loop, pool, NEVER)
    gate = threading.Event()
    holding = threading.Event()
    threads: list[int] = []
    done = threading.Event()

    def first() -> None:
        threads.append(threading.get_ident())
        holding.set()
        assert gate.wait(TIMEOUT)

    def second() -> None:
        threads.append(threading.get_ident())
        done.set()

    lane.add(first)
    assert holding.wait(TIMEOUT)
    lane.add(second)
    gate.set()
    assert done.wait(TIMEOUT)
    assert threads[0] == threads[1]


def test_jobs_that_wait_for_one_another_all_run_at_once(loop, pool) -> None:
    lane = lane_of(loop, pool, None)
    meeting = threading.Barrier(pool._max_workers, timeout=TIMEOUT)
    met: list[int] = []
    done = threading.Event()

    def meet() -> None:
        meeting.wait()
        met.append(1)
        if len(met) == pool._max_workers:
            done.set()

    run_on_loop_until(loop, lambda: [lane.add(meet) for _ in range(pool._max_workers)], done)
    assert len(met) == pool._max_workers


def test_the_jobs_behind_one_that_raises_still_run(loop, pool) -> None:
    lane = lane_of(loop, pool, None)
    done = threading.Event()

    def raises() -> None:
        raise RuntimeError("a job that raises, on purpose")

    queued = threading.Event()

    def start() -> None:
        # The runner waits until both are queued: then it is the one that meets the error.
        lane.add(partial(queued.wait, TIMEOUT))
        lane.add(raises)
        lane.add(done.set)
        queued.set()

    run_on_loop_until(loop, start, done)


def test_runners_go_back_to_the_pool_once_no_job_is_left(loop, pool) -> None:
    lane = lane_of(loop, pool, None)
    done = threading.Event()
    run_on_loop_until(loop, lambda: [lane.add(done.set) for _ in range(20)], done)
    deadline = time.monotonic() + TIMEOUT
    while lane.stats() != (0, 0):
        assert time.monotonic() < deadline, f"still out: {lane.stats()}"
        time.sleep(0.001)


def test_a_closed_lane_refuses_jobs_as_a_shut_down_pool_does(loop, pool) -> None:
    lane = lane_of(loop, pool, NEVER)
    lane.close()
    with pytest.raises(RuntimeError, match="after shutdown"):
        lane.add(lambda: None)


def test_a_shut_down_pool_refuses_the_first_job(loop, pool) -> None:
    lane = lane_of(loop, pool, NEVER)
    pool.shutdown(wait=True)
    with pytest.raises(RuntimeError, match="after shutdown"):
        lane.add(lambda: None)
    assert lane.stats() == (0, 0)


def test_a_lane_without_a_thread_is_refused_naming_the_count(loop, pool) -> None:
    with pytest.raises(ValueError, match="at least one thread, not 0"):
        WorkerLane(loop, partial(runtime._put_in_pool, pool), 0)
