"""The presence tracker and stores on their own: coalescing rules, and the Redis store's
liveness (claims, clean close, recovery after being taken for gone) on a real Redis."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest

from tornado_websockets.presence.base import APP_SCOPE, ROOMS_ONLY, Entries
from tornado_websockets.presence.memory import MemoryPresenceStore
from tornado_websockets.presence.tracker import PresenceTracker

PATH = "/ws/t_stores"


class Frames:
    """What the tracker announces, as the server would send it."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.arrived = asyncio.Event()

    def __call__(self, path: str, scope: str, data: dict[str, Any]) -> None:
        self.sent.append((scope, data))
        self.arrived.set()

    async def next(self, timeout: float = 5.0) -> tuple[str, dict[str, Any]]:
        while not self.sent:
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), timeout)
        return self.sent.pop(0)


def tracker(
    frames: Frames, interval: float = 0.05, max_batch: int = 100, events: bool | str = ROOMS_ONLY
) -> PresenceTracker:
    store = MemoryPresenceStore()
    return PresenceTracker(store, "node", interval, max_batch, frames, lambda path: events)


def users(data: dict[str, Any], kind: str) -> list[Any]:
    return sorted(entry["user"] for entry in data[kind])


def test_the_first_change_goes_out_at_once_and_the_next_ones_together_an_interval_later() -> None:
    async def scenario() -> None:
        frames = Frames()
        track = tracker(frames, interval=0.3)
        for connection in (1, 2, 3):
            track.add(PATH, APP_SCOPE, connection, f'"u{connection}"')
        started = time.monotonic()
        track.add(PATH, "room", 1, '"u1"')
        scope, first = await frames.next()
        assert (scope, users(first, "joins")) == ("room", ["u1"])
        assert time.monotonic() - started < 0.25
        track.add(PATH, "room", 2, '"u2"')
        track.add(PATH, "room", 3, '"u3"')
        track.remove(PATH, "room", 1)
        _, second = await frames.next()
        assert users(second, "joins") == ["u2", "u3"]
        assert users(second, "leaves") == ["u1"]
        assert time.monotonic() - started >= 0.29
        assert frames.sent == []

    asyncio.run(scenario())


def test_the_application_scope_announces_its_changes_unless_rooms_only() -> None:
    async def scenario() -> None:
        frames = Frames()
        track = tracker(frames, events=True)
        track.add(PATH, APP_SCOPE, 1, '"u1"')
        scope, data = await frames.next()
        assert (scope, data["room"], users(data, "joins")) == (APP_SCOPE, None, ["u1"])
        track.close(PATH, 1)
        scope, data = await frames.next()
        assert (scope, users(data, "leaves")) == (APP_SCOPE, ["u1"])

    asyncio.run(scenario())


def test_with_rooms_only_the_application_scope_sends_no_frames_and_a_late_join_is_ignored() -> None:
    async def scenario() -> None:
        frames = Frames()
        track = tracker(frames)
        track.add(PATH, APP_SCOPE, 1, "null")
        track.close(PATH, 1)
        track.add(PATH, "room", 1, "null")  # a join that arrives after the close
        await asyncio.sleep(0.1)
        assert frames.sent == []
        assert track.store.read(PATH, "room") == {}
        assert track.store.read(PATH, APP_SCOPE) == {}
        assert len(track) == 0

    asyncio.run(scenario())


def test_more_changes_than_max_batch_make_one_overflow_notice() -> None:
    async def scenario() -> None:
        frames = Frames()
        track = tracker(frames, interval=0.2, max_batch=5)
        track.add(PATH, APP_SCOPE, 0, "null")
        track.add(PATH, "room", 0, '"first"')
        await frames.next()
        for connection in range(1, 10):
            track.add(PATH, APP_SCOPE, connection, "null")
            track.add(PATH, "room", connection, f'"u{connection}"')
        scope, data = await frames.next()
        assert data == {"room": "room", "joins": [], "leaves": [], "overflow": True}
        assert track.store.stats(PATH, "room") == (10, 10)

    asyncio.run(scenario())


def test_entries_of_another_node_that_expired_leave_and_ours_join_again_after_a_resync() -> None:
    async def scenario() -> None:
        frames = Frames()
        track = tracker(frames)
        track.add(PATH, APP_SCOPE, 1, "null")
        track.add(PATH, "room", 1, '"mine"')
        await frames.next()
        gone: Entries = [("other:1", '"theirs"'), ("other:2", "null")]
        track.expired(PATH, "room", gone)
        _, data = await frames.next()
        assert [entry["client"] for entry in data["leaves"]] == ["other:1", "other:2"]
        track.resynced()
        _, data = await frames.next()
        assert data["joins"] == [{"client": "node:1", "user": "mine"}]

    asyncio.run(scenario())


# -- the Redis store, on the machine's Redis under a prefix of its own -------------------------


@pytest.fixture
def redis_url(machine_redis: str) -> str:
    return machine_redis


def test_the_redis_store_claims_a_silent_node_once_and_a_clean_close_removes_everything(
    redis_url: str,
) -> None:
    pytest.importorskip("redis")
    from tornado_websockets.presence.redis import RedisPresenceStore

    prefix = f"tws-test-{uuid.uuid4().hex[:12]}"
    ttl = 0.6

    async def scenario() -> None:
        expired: list[tuple[str, str, Entries]] = []
        claimed = asyncio.Event()

        def on_expired(path: str, scope: str, entries: Entries) -> None:
            expired.append((path, scope, entries))
            claimed.set()

        survivor = RedisPresenceStore(redis_url, prefix, {}, ttl)
        doomed = RedisPresenceStore(redis_url, prefix, {}, ttl)
        await survivor.start("survivor", on_expired, lambda: None)
        await doomed.start("doomed", on_expired, lambda: None)
        survivor.add(PATH, "room", "survivor:1", '"s"')
        doomed.add(PATH, "room", "doomed:1", '"d"')
        await until(lambda: len(survivor.read(PATH, "room")) == 2)
        assert survivor.stats(PATH, "room") == (2, 2)

        for task in doomed._tasks:  # the process stops refreshing, as if SIGKILLed
            task.cancel()
        await asyncio.wait_for(claimed.wait(), ttl * 3)
        assert expired == [(PATH, "room", [("doomed:1", '"d"')])]
        assert survivor.read(PATH, "room") == {"survivor:1": "s"}

        await survivor.close()
        client = survivor._redis.Redis.from_url(redis_url)
        assert client.keys(f"{prefix}:*") == []
        client.close()

    asyncio.run(scenario())


def test_the_redis_store_writes_its_entries_again_after_being_taken_for_gone(
    redis_url: str,
) -> None:
    pytest.importorskip("redis")
    from tornado_websockets.presence.redis import RedisPresenceStore
    from tornado_websockets.presence.scripts import CLAIM

    prefix = f"tws-test-{uuid.uuid4().hex[:12]}"

    async def scenario() -> None:
        resynced = asyncio.Event()
        store = RedisPresenceStore(redis_url, prefix, {}, 0.6)
        await store.start("slow", lambda *args: None, resynced.set)
        store.add(PATH, APP_SCOPE, "slow:1", '"me"')
        await until(lambda: store.read(PATH, APP_SCOPE) == {"slow:1": "me"})
        # Another node decided this one was gone (it paused longer than its life).
        client = store._redis.Redis.from_url(redis_url)
        client.eval(CLAIM, 1, store.nodes_key, "slow", store.index_key("slow"), "1")
        assert store.read(PATH, APP_SCOPE) == {}
        await asyncio.wait_for(resynced.wait(), 3)
        await until(lambda: store.read(PATH, APP_SCOPE) == {"slow:1": "me"})
        await store.close()
        client.close()

    asyncio.run(scenario())


async def until(check: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def test_client_reads_asked_at_once_share_one_read_and_expire_after_the_ttl() -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from tornado_websockets.presence.cache import ReadCache

    cache = ReadCache()
    release = threading.Event()
    reads: list[int] = []

    def read() -> list[int]:
        reads.append(1)
        release.wait(5)
        return [len(reads)]

    with ThreadPoolExecutor(20) as pool:
        answers = [pool.submit(cache.get, "room", 60.0, read) for _ in range(20)]
        release.set()
        assert [future.result(5) for future in answers] == [[1]] * 20
    assert len(reads) == 1
    assert cache.get("other room", 60.0, read) == [2]  # keys do not share answers
    assert cache.get("room", 0.0, read) == [3]  # a ttl of 0: no cache
    assert cache.get("room", 60.0, read) == [1]


def test_the_redis_store_reports_when_this_nodes_changes_are_readable(redis_url: str) -> None:
    pytest.importorskip("redis")
    from tornado_websockets.presence.redis import RedisPresenceStore

    prefix = f"tws-test-{uuid.uuid4().hex[:12]}"

    async def scenario() -> None:
        store = RedisPresenceStore(redis_url, prefix, {}, 30.0)
        await store.start("node", lambda *args: None, lambda: None)
        for connection in range(50):
            store.add(PATH, "room", f"node:{connection}", "null")
        await store.flushed(5.0)  # no other wait: the writer ran because of it
        assert len(store.read(PATH, "room")) == 50
        store.remove(PATH, "room", "node:0")
        await store.flushed(5.0)
        assert len(store.read(PATH, "room")) == 49
        await store.close()

    asyncio.run(scenario())
