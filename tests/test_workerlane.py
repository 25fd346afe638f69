"""``WorkerLane``: plain handlers' jobs taken from a real ``ThreadPoolExecutor`` by as few of its
threads as keep up, more as soon as the ones taken are held; driven from a real Tornado loop."""

from __future__ import annotations

import os
import resource
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import pytest
from tornado.ioloop import IOLoop

from tornado_websockets import runtime, workerlane
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


class CountingPut:
    """The pool's put as the lane uses it, counting the runners asked of the pool."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self.pool = pool
        self.calls = 0

    def __call__(self, function: Callable[[], None]) -> None:
        self.calls += 1
        runtime._put_in_pool(self.pool, function)


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.001)


def test_the_next_job_finds_the_lingering_runner_without_asking_the_pool(loop, pool) -> None:
    put = CountingPut(pool)
    lane = WorkerLane(loop, put, pool._max_workers, NEVER, linger=NEVER)
    threads: list[int] = []
    first_done = threading.Event()
    second_done = threading.Event()
    lane.add(lambda: (threads.append(threading.get_ident()), first_done.set()))
    assert first_done.wait(TIMEOUT)
    wait_until(lane.lingering, "the runner did not linger")
    lane.add(lambda: (threads.append(threading.get_ident()), second_done.set()))
    assert second_done.wait(TIMEOUT)
    assert put.calls == 1
    assert threads[0] == threads[1]
    lane.close()


def test_a_runner_lingers_only_linger_seconds_then_goes_back_to_the_pool(loop, pool) -> None:
    put = CountingPut(pool)
    lane = WorkerLane(loop, put, pool._max_workers, NEVER, linger=0.02)
    done = threading.Event()
    lane.add(done.set)
    assert done.wait(TIMEOUT)
    wait_until(lambda: lane.stats() == (0, 0), "the runner did not go back to the pool")
    assert not lane.lingering()
    again = threading.Event()
    lane.add(again.set)
    assert again.wait(TIMEOUT)
    assert put.calls == 2
    lane.close()


def test_closing_the_lane_sends_a_lingering_runner_back_to_the_pool_at_once(loop, pool) -> None:
    lane = WorkerLane(loop, partial(runtime._put_in_pool, pool), 2, NEVER, linger=NEVER)
    done = threading.Event()
    lane.add(done.set)
    assert done.wait(TIMEOUT)
    wait_until(lane.lingering, "the runner did not linger")
    lane.close()
    wait_until(lambda: lane.stats() == (0, 0), "the lingering runner stayed out")
    assert not lane.lingering()


def test_jobs_that_race_the_lingering_runners_time_out_all_run_once_in_order(loop, pool) -> None:
    # A linger of one millisecond and jobs added 0 to 2 ms apart: rings meet runners that are
    # timing out, leaving, lingering again. Whatever the timing, no job is lost or run twice.
    lane = WorkerLane(loop, partial(runtime._put_in_pool, pool), 2, None, linger=0.001)
    count = 400
    ran: list[int] = []
    done = threading.Event()
    delays = iter([(n * 7919 % 21) / 10_000 for n in range(count)])

    def job(n: int) -> None:
        ran.append(n)
        if n == count - 1:
            done.set()

    def add_next(n: int = 0) -> None:
        lane.add(partial(job, n))
        if n + 1 < count:
            loop.call_later(next(delays), add_next, n + 1)

    run_on_loop_until(loop, add_next, done)
    assert ran == list(range(count))
    wait_until(lambda: lane.stats() == (0, 0), f"still out: {lane.stats()}")
    lane.close()


def test_two_runners_lingering_in_turn_lose_no_job_and_all_go_back(loop, pool, caplog) -> None:
    # Jobs that sometimes hold their runner for a moment bring a second runner (patience of a
    # millisecond); the two then finish, linger, get rung and time out in every order. Whatever
    # the order, every job runs once, nothing is logged, and both runners go back to the pool.
    lane = WorkerLane(loop, partial(runtime._put_in_pool, pool), 2, 0.001, linger=0.001)
    count = 600
    ran: list[int] = []
    done = threading.Event()
    delays = iter([(n * 7919 % 13) / 10_000 for n in range(count)])

    def job(n: int) -> None:
        if n % 5 == 0:
            time.sleep(0.002)  # the work of a handler: holds its runner, not a wait on an event
        ran.append(n)
        if len(ran) == count:
            done.set()

    def add_next(n: int = 0) -> None:
        lane.add(partial(job, n))
        if n + 1 < count:
            loop.call_later(next(delays), add_next, n + 1)

    with caplog.at_level("ERROR", logger="tornado_websockets"):
        run_on_loop_until(loop, add_next, done)
        wait_until(lambda: lane.stats() == (0, 0), f"still out: {lane.stats()}")
    assert sorted(ran) == list(range(count))
    assert not lane.lingering()
    assert caplog.records == []
    lane.close()


def test_out_of_descriptors_a_runner_goes_back_to_the_pool_instead_of_lingering(loop, pool) -> None:
    lane = WorkerLane(loop, partial(runtime._put_in_pool, pool), 2, NEVER, linger=NEVER)
    warmed = threading.Event()
    pool.submit(warmed.set)  # the pool's thread exists before descriptors run out
    assert warmed.wait(TIMEOUT)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    done = threading.Event()
    try:
        # No descriptor left to open: the doorbell the runner would wait on cannot be made.
        lowest_free = os.open(os.devnull, os.O_RDONLY)
        os.close(lowest_free)
        resource.setrlimit(resource.RLIMIT_NOFILE, (lowest_free, hard))
        lane.add(done.set)
        assert done.wait(TIMEOUT)
        wait_until(lambda: lane.stats() == (0, 0), "the runner stayed out")
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert not lane.lingering()
    again = threading.Event()
    lane.add(again.set)
    assert again.wait(TIMEOUT)
    lane.close()


@pytest.mark.parametrize("use_pipe", [False, True], ids=["eventfd", "pipe"])
def test_a_doorbell_rings_once_per_wait_and_times_out_when_silent(use_pipe: bool) -> None:
    doorbell = workerlane._Doorbell(use_pipe=use_pipe)
    try:
        assert doorbell.wait(0.001) is False
        doorbell.ring()
        assert doorbell.wait(TIMEOUT) is True
        assert doorbell.wait(0.001) is False  # the ring was cleared by the wait that saw it
        rung = threading.Event()

        def wait_in_a_thread() -> None:
            if doorbell.wait(TIMEOUT):
                rung.set()

        waiter = threading.Thread(target=wait_in_a_thread)
        waiter.start()
        doorbell.ring()
        waiter.join(TIMEOUT)
        assert rung.is_set()
    finally:
        doorbell.close()
    doorbell.close()  # a second close does nothing
