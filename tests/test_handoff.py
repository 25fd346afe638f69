"""Calls handed to the worker pool and back to the loop, in batches."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from tornado_websockets.handoff import BATCH, LoopInbox, PoolQueue


def test_a_stream_of_calls_lets_other_pool_work_in_after_each_batch() -> None:
    executor = ThreadPoolExecutor(1)
    queue = PoolQueue(executor, width=1)
    release = threading.Event()
    ran: list[str] = []
    done = threading.Event()

    def call(name: str) -> None:
        if name == "0":
            assert release.wait(30)
        ran.append(name)
        if len(ran) == 3 * BATCH + 1:
            done.set()

    try:
        for n in range(3 * BATCH):
            queue.put(call, str(n))
        executor.submit(call, "other")  # queued behind the drain task, while call 0 blocks
        release.set()
        assert done.wait(30)
    finally:
        executor.shutdown()
    assert ran.index("other") == BATCH
    assert [name for name in ran if name != "other"] == [str(n) for n in range(3 * BATCH)]


def test_a_slow_call_does_not_hold_the_next_while_the_pool_has_a_free_thread() -> None:
    executor = ThreadPoolExecutor(2)
    queue = PoolQueue(executor, width=2)
    release, second_ran = threading.Event(), threading.Event()
    try:
        queue.put(lambda: release.wait(30))
        queue.put(second_ran.set)
        assert second_ran.wait(30)
    finally:
        release.set()
        executor.shutdown()


def test_calls_from_many_threads_all_run_on_the_loop_in_each_threads_order() -> None:
    async def main() -> dict[int, list[int]]:
        loop = asyncio.get_running_loop()
        inbox = LoopInbox(loop)
        seen: dict[int, list[int]] = {t: [] for t in range(4)}
        finished = asyncio.Event()
        loop_thread = threading.get_ident()

        def record(thread: int, n: int) -> None:
            assert threading.get_ident() == loop_thread
            seen[thread].append(n)
            if sum(map(len, seen.values())) == 4 * 500:
                finished.set()

        def send(thread: int) -> None:
            for n in range(500):
                inbox.put(record, thread, n)

        threads = [threading.Thread(target=send, args=(t,)) for t in range(4)]
        for thread in threads:
            thread.start()
        await asyncio.wait_for(finished.wait(), 30)
        for thread in threads:
            thread.join(30)
        return seen

    seen = asyncio.run(main())
    assert all(numbers == list(range(500)) for numbers in seen.values())
