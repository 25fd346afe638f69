"""The history store contract, on both backends: offsets, epochs, windows, announcements."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tornado_websockets.envelope import Envelope, decode
from tornado_websockets.history import HistoryStore, MemoryHistory, create_store
from tornado_websockets.history.redis import RedisHistory

HEAD = Envelope("emit", "node-a", "said", broadcast=True, stream="").head()


def payload(n: int) -> bytes:
    return json.dumps({"event": "said", "data": {"n": n}}).encode()


@pytest.fixture(params=["memory", "redis"])
def make_store(request, machine_redis_or_skip) -> Iterator[Any]:
    prefix = f"tws-test-{uuid.uuid4().hex[:12]}"
    if request.param == "memory":
        yield lambda: MemoryHistory()
        return
    yield lambda: RedisHistory(machine_redis_or_skip, prefix)
    import redis

    client = redis.Redis.from_url(machine_redis_or_skip)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


@pytest.fixture
def machine_redis_or_skip(request) -> str | None:
    if "redis" not in request.node.name:
        return None
    return str(request.getfixturevalue("machine_redis"))


class Announcements:
    """Collects what a store announces, through the broker's channel when it is Redis."""

    def __init__(self, store: HistoryStore, channel: str) -> None:
        self.store, self.channel = store, channel
        self.received: list[Envelope] = []
        self._pubsub: Any = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Announcements:
        if isinstance(self.store, RedisHistory):
            import redis.asyncio

            client = redis.asyncio.Redis.from_url(self.store.url)
            self._pubsub = client.pubsub()
            await self._pubsub.subscribe(f"{self.store.prefix}:{self.channel}")
            self._task = asyncio.create_task(self._listen())
        self.store.start(lambda channel, data: self.received.append(decode(data)))
        return self

    async def _listen(self) -> None:
        async for message in self._pubsub.listen():
            if message["type"] == "message":
                self.received.append(decode(message["data"]))

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Envelope]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"{len(self.received)} of {count} announced"
            await asyncio.sleep(0.01)
        return self.received

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            await self._pubsub.aclose()
        await self.store.close()


def test_appends_get_offsets_one_by_one_and_are_announced_in_order(make_store) -> None:
    async def scenario() -> None:
        store = make_store()
        async with Announcements(store, "/chat") as heard:
            for n in range(5):
                store.append("/chat", "", payload(n), HEAD, 3, 60)
            envelopes = await heard.wait_for(5)
            window = await store.read("/chat", "", 0, 100, 60)
        assert [e.offset for e in envelopes] == [1, 2, 3, 4, 5]
        assert {e.epoch for e in envelopes} == {window.epoch}
        assert [json.loads(e.payload)["data"]["n"] for e in envelopes] == [0, 1, 2, 3, 4]
        assert (envelopes[0].stream, envelopes[0].node) == ("", "node-a")
        # The window keeps the last 3; the top says how many were ever given.
        assert window.top == 5 and [e.offset for e in window.entries] == [3, 4, 5]
        assert window.complete_after(2) and not window.complete_after(1)

    asyncio.run(scenario())


def test_streams_count_apart_and_reads_start_after_since_with_a_limit(make_store) -> None:
    async def scenario() -> None:
        store = make_store()
        async with Announcements(store, "/chat") as heard:
            for n in range(4):
                store.append("/chat", "lobby", payload(n), HEAD, 10, 60)
            store.append("/chat", "", payload(9), HEAD, 10, 60)
            await heard.wait_for(5)
            lobby = await store.read("/chat", "lobby", 1, 2, 60)
            broadcast = await store.read("/chat", "", 0, 10, 60)
            nothing = await store.read("/chat", "nobody", 0, 10, 60)
        assert (lobby.top, [e.offset for e in lobby.entries]) == (4, [2, 3])
        assert (broadcast.top, [e.offset for e in broadcast.entries]) == (1, [1])
        assert nothing.epoch is None and nothing.top == 0

    asyncio.run(scenario())


def test_messages_older_than_the_ttl_are_out_of_the_window(make_store) -> None:
    async def scenario() -> None:
        store = make_store()
        async with Announcements(store, "/chat") as heard:
            store.append("/chat", "", payload(1), HEAD, 10, 0.2)
            await heard.wait_for(1)
            before = await store.read("/chat", "", 0, 10, 0.2)
            await asyncio.sleep(0.3)  # the time to live itself is under test
            after = await store.read("/chat", "", 0, 10, 0.2)
        assert len(before.entries) == 1
        assert after.entries == () and not after.complete_after(0)

    asyncio.run(scenario())


def test_a_new_memory_store_draws_a_new_epoch() -> None:
    async def scenario() -> list[str | None]:
        epochs = []
        for _ in range(2):
            store = MemoryHistory()
            store.start(lambda channel, data: None)
            store.append("/chat", "", payload(1), HEAD, 10, 60)
            epochs.append((await store.read("/chat", "", 0, 10, 60)).epoch)
        return epochs

    first, second = asyncio.run(scenario())
    assert first and second and first != second


@pytest.mark.redis
def test_two_processes_appending_at_once_share_one_sequence_of_offsets(machine_redis) -> None:
    prefix = f"tws-test-{uuid.uuid4().hex[:12]}"

    async def scenario() -> list[Envelope]:
        one, two = RedisHistory(machine_redis, prefix), RedisHistory(machine_redis, prefix)
        async with Announcements(one, "/chat") as heard:
            two.start(lambda channel, data: None)
            for n in range(50):
                (one if n % 2 else two).append("/chat", "", payload(n), HEAD, 100, 60)
            received = await heard.wait_for(50)
            await two.close()
        return received

    received = asyncio.run(scenario())
    assert [e.offset for e in received] == list(range(1, 51))
    assert len({e.epoch for e in received}) == 1


@pytest.mark.redis
def test_redis_keys_expire_and_the_stream_is_trimmed_to_its_size(machine_redis) -> None:
    import redis

    prefix = f"tws-test-{uuid.uuid4().hex[:12]}"
    store = RedisHistory(machine_redis, prefix)
    for n in range(7):
        store.append_blocking("/chat", "", payload(n), HEAD, 4, 30)
    client = redis.Redis.from_url(machine_redis)
    try:
        meta, key = store.keys("/chat", "")
        assert client.xlen(key) == 4
        assert 0 < client.pttl(key) <= 30_000
        assert 0 < client.ttl(meta) <= 86_400
        assert store.read_blocking("/chat", "", 0, 10, 30).top == 7
    finally:
        client.delete(meta, key)
        client.close()


@pytest.mark.redis
def test_losing_the_redis_history_draws_a_new_epoch_and_restarts_offsets(redis_server) -> None:
    redis_server.start()
    import redis

    store = RedisHistory(redis_server.url, "tws")
    store.append_blocking("/chat", "", payload(1), HEAD, 10, 60)
    before = store.read_blocking("/chat", "", 0, 10, 60)
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()  # a private server: nobody else's keys
    client.close()
    store.append_blocking("/chat", "", payload(2), HEAD, 10, 60)
    after = store.read_blocking("/chat", "", 0, 10, 60)
    assert before.epoch and after.epoch and before.epoch != after.epoch
    assert after.top == 1


def test_the_store_follows_the_broker_setting() -> None:
    assert isinstance(create_store(None), MemoryHistory)
    assert isinstance(create_store("memory"), MemoryHistory)
    store = create_store({"url": "redis://127.0.0.1:6379/0", "prefix": "tws-x"})
    assert isinstance(store, RedisHistory) and store.prefix == "tws-x"


def test_announced_envelopes_carry_stream_offset_and_epoch_and_refuse_bad_offsets() -> None:
    envelope = Envelope("emit", "n1", "said", b"{}", rooms=("lobby",), stream="lobby")
    head = envelope.head()
    from tornado_websockets.history.base import announcement

    decoded = decode(announcement(head, 7, "ep", b'{"event":"said","data":{}}'))
    assert (decoded.stream, decoded.offset, decoded.epoch, decoded.rooms) == (
        "lobby",
        7,
        "ep",
        ("lobby",),
    )
    for bad in (b"0", b"-1", b"1.5", b'"3"', b"true"):
        with pytest.raises(ValueError, match="offset"):
            decode(head[:-1] + b',"o":' + bad + b',"p":"ep"}\n{}')
