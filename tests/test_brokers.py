"""Brokers: one contract for the in-memory broker and Redis, then Redis failures.

The contract suite runs on ``MemoryBroker`` (brokers sharing a hub) and on ``RedisBroker``
(the machine's Redis on 127.0.0.1:6379, under a prefix unique to each test). The failure tests
start and stop their own ``redis-server`` on a free port. Every wait is on a condition with a
deadline; nothing asserts on durations.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator

import pytest

from tornado_websockets.brokers import (
    Broker,
    BrokerUnavailableError,
    MemoryBroker,
    MemoryHub,
    RedisBroker,
    create_broker,
)
from tornado_websockets.exceptions import TornadoWebSocketsError

from .redisserver import RedisServer

TIMEOUT = 30.0
INSTALL_HINT = 'pip install "django-tornado-websockets[redis]"'


# -- helpers --------------------------------------------------------------------------------


class Inbox:
    """The ``on_message`` callback of a broker: keeps what arrives, lets a test wait for it."""

    def __init__(self) -> None:
        self.received: list[tuple[str, bytes]] = []
        self._arrived = asyncio.Event()

    def __call__(self, channel: str, envelope: bytes) -> None:
        self.received.append((channel, envelope))
        self._arrived.set()

    def on(self, channel: str) -> list[bytes]:
        return [envelope for name, envelope in self.received if name == channel]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = TIMEOUT) -> None:
        async def arrived() -> None:
            while not predicate():
                self._arrived.clear()
                await self._arrived.wait()

        await asyncio.wait_for(arrived(), timeout)

    async def wait_until_count(self, count: int) -> None:
        await self.wait_for(lambda: len(self.received) >= count)


async def wait_until(predicate: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    """Poll ``predicate`` on the loop until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"Condition not reached within {timeout} s.")
        await asyncio.sleep(0.01)


class Cluster:
    """Brokers that see each other (one hub, or one Redis and one prefix), closed at the end."""

    def __init__(self, factory: Callable[[], Broker]) -> None:
        self._factory = factory
        self.brokers: list[Broker] = []

    def broker(self) -> Broker:
        broker = self._factory()
        self.brokers.append(broker)
        return broker

    async def node(self, *channels: str) -> tuple[Broker, Inbox]:
        """A started broker subscribed to ``channels``, and its inbox."""
        broker, inbox = self.broker(), Inbox()
        await broker.start(inbox)
        for channel in channels:
            await broker.subscribe(channel)
        return broker, inbox

    def run(self, scenario: Callable[[], Awaitable[None]]) -> None:
        async def main() -> None:
            try:
                await asyncio.wait_for(scenario(), 2 * TIMEOUT)
            finally:
                for broker in self.brokers:
                    await broker.close()

        asyncio.run(main())


class BrokerLog(logging.Handler):
    """Records of the ``tornado_websockets.brokers`` logger, DEBUG included."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def count(self, text: str, level: int = logging.WARNING) -> int:
        return sum(1 for r in self.records if r.levelno >= level and text in r.getMessage())


@pytest.fixture
def broker_log() -> Iterator[BrokerLog]:
    logger = logging.getLogger("tornado_websockets.brokers")
    handler, level = BrokerLog(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


def unique_prefix() -> str:
    return f"tws-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def cluster(request: pytest.FixtureRequest) -> Cluster:
    if request.param == "memory":
        hub = MemoryHub()
        return Cluster(lambda: MemoryBroker(hub=hub))
    url = request.getfixturevalue("machine_redis")
    prefix = unique_prefix()
    return Cluster(lambda: RedisBroker(url, prefix=prefix))


# -- the contract, on every broker ----------------------------------------------------------


def test_a_subscriber_receives_what_is_published_on_its_channel(cluster: Cluster) -> None:
    async def scenario() -> None:
        broker, inbox = await cluster.node("news")
        broker.publish("news", b"hello")
        await inbox.wait_until_count(1)
        assert inbox.received == [("news", b"hello")]
        assert broker.stats.published == 1
        assert broker.stats.received == 1
        assert broker.stats.connected

    cluster.run(scenario)


def test_channels_are_isolated_from_each_other(cluster: Cluster) -> None:
    async def scenario() -> None:
        publisher, _ = await cluster.node()
        red, red_inbox = await cluster.node("red")
        blue, blue_inbox = await cluster.node("blue")
        publisher.publish("green", b"nobody listens")
        publisher.publish("red", b"r1")
        publisher.publish("blue", b"b1")
        publisher.publish("red", b"r2")
        await red_inbox.wait_until_count(2)
        await blue_inbox.wait_until_count(1)
        assert red_inbox.received == [("red", b"r1"), ("red", b"r2")]
        assert blue_inbox.received == [("blue", b"b1")]

    cluster.run(scenario)


def test_unsubscribe_stops_delivery_of_that_channel_only(cluster: Cluster) -> None:
    async def scenario() -> None:
        publisher, _ = await cluster.node()
        subscriber, inbox = await cluster.node("kept", "dropped")
        await subscriber.unsubscribe("dropped")
        await subscriber.unsubscribe("dropped")  # unsubscribing twice is harmless
        publisher.publish("dropped", b"lost")
        publisher.publish("kept", b"marker")
        await inbox.wait_until_count(1)
        assert inbox.received == [("kept", b"marker")]
        assert subscriber.channels == {"kept"}

    cluster.run(scenario)


def test_subscribing_twice_delivers_each_envelope_once(cluster: Cluster) -> None:
    async def scenario() -> None:
        broker, inbox = await cluster.node("twice")
        await broker.subscribe("twice")
        broker.publish("twice", b"1")
        broker.publish("twice", b"2")
        await inbox.wait_until_count(2)
        broker.publish("twice", b"3")
        await inbox.wait_until_count(3)
        assert inbox.on("twice") == [b"1", b"2", b"3"]

    cluster.run(scenario)


def test_channels_subscribed_before_start_are_listened_to_once_started(cluster: Cluster) -> None:
    async def scenario() -> None:
        broker, inbox = cluster.broker(), Inbox()
        await broker.subscribe("early")
        await broker.start(inbox)
        broker.publish("early", b"bird")
        await inbox.wait_until_count(1)
        assert inbox.received == [("early", b"bird")]

    cluster.run(scenario)


def test_two_nodes_see_each_other_s_publishes(cluster: Cluster) -> None:
    async def scenario() -> None:
        first, first_inbox = await cluster.node("room")
        second, second_inbox = await cluster.node("room")
        first.publish("room", b"from first")
        await second_inbox.wait_until_count(1)
        second.publish("room", b"from second")
        await first_inbox.wait_until_count(2)
        await second_inbox.wait_until_count(2)
        assert first_inbox.on("room") == [b"from first", b"from second"]
        assert second_inbox.on("room") == [b"from first", b"from second"]

    cluster.run(scenario)


def test_a_broker_receives_its_own_publishes(cluster: Cluster) -> None:
    async def scenario() -> None:
        broker, inbox = await cluster.node("echo")
        broker.publish("echo", b"mine")
        await inbox.wait_until_count(1)
        assert inbox.received == [("echo", b"mine")]

    cluster.run(scenario)


def test_publish_order_is_kept_for_a_thousand_envelopes(cluster: Cluster) -> None:
    async def scenario() -> None:
        publisher, _ = await cluster.node()
        subscriber, inbox = await cluster.node("ordered")
        expected = [i.to_bytes(4, "big") for i in range(1000)]
        for index, envelope in enumerate(expected):
            publisher.publish("ordered", envelope)
            if index % 100 == 0:
                await asyncio.sleep(0)  # let the sender run while more are published
        await inbox.wait_until_count(1000)
        assert inbox.on("ordered") == expected
        assert subscriber.stats.received == 1000
        await wait_until(lambda: publisher.stats.published == 1000)

    cluster.run(scenario)


BINARY_ENVELOPES = [
    b"",
    b"\x00",
    bytes(range(256)),
    b"\xff\xfe not UTF-8 \xc3\x28",
    b"\r\n*3\r\n$7\r\nmessage\r\n",  # looks like the Redis protocol
    os.urandom(1024 * 1024),
]


def test_envelopes_are_binary_safe(cluster: Cluster) -> None:
    async def scenario() -> None:
        broker, inbox = await cluster.node("bytes", "канал ✓")
        for envelope in BINARY_ENVELOPES:
            broker.publish("bytes", envelope)
        broker.publish("канал ✓", b"unicode channel names work")
        await inbox.wait_until_count(len(BINARY_ENVELOPES) + 1)
        assert inbox.on("bytes") == BINARY_ENVELOPES
        assert inbox.on("канал ✓") == [b"unicode channel names work"]

    cluster.run(scenario)


def test_publish_blocking_from_a_thread_without_a_loop_reaches_a_started_subscriber(
    cluster: Cluster,
) -> None:
    async def scenario() -> None:
        subscriber, inbox = await cluster.node("jobs")
        outside = cluster.broker()  # never started, as in a Celery worker
        errors: list[BaseException] = []

        def task() -> None:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                pass
            else:
                errors.append(AssertionError("this thread should run no loop"))
            try:
                for number in range(3):
                    outside.publish_blocking("jobs", b"done %d" % number)
            except BaseException as error:
                errors.append(error)

        thread = threading.Thread(target=task)
        thread.start()
        await asyncio.to_thread(thread.join, TIMEOUT)
        assert errors == []
        await inbox.wait_until_count(3)
        assert inbox.on("jobs") == [b"done 0", b"done 1", b"done 2"]
        assert outside.stats.published == 3

    cluster.run(scenario)


def test_publish_from_another_thread_hops_onto_the_loop(cluster: Cluster) -> None:
    async def scenario() -> None:
        broker, inbox = await cluster.node("threads")
        await asyncio.to_thread(broker.publish, "threads", b"from a worker")
        await inbox.wait_until_count(1)
        assert inbox.received == [("threads", b"from a worker")]

    cluster.run(scenario)


def test_close_is_idempotent_and_stops_delivery(cluster: Cluster) -> None:
    async def scenario() -> None:
        closing, closing_inbox = await cluster.node("bye")
        staying, staying_inbox = await cluster.node("bye")
        await closing.close()
        await closing.close()
        assert closing.closed and not closing.stats.connected
        staying.publish("bye", b"after close")
        await staying_inbox.wait_until_count(1)
        assert closing_inbox.received == []
        failures = closing.stats.publish_failures
        closing.publish("bye", b"dropped, never raised")
        assert closing.stats.publish_failures == failures + 1
        with pytest.raises(BrokerUnavailableError):
            closing.publish_blocking("bye", b"refused")
        with pytest.raises(RuntimeError, match="closed"):
            await closing.start(Inbox())

    cluster.run(scenario)


def test_a_failing_callback_is_logged_and_delivery_goes_on(
    cluster: Cluster, broker_log: BrokerLog
) -> None:
    async def scenario() -> None:
        received: list[bytes] = []
        done = asyncio.Event()

        def callback(channel: str, envelope: bytes) -> None:
            received.append(envelope)
            if envelope == b"boom":
                raise RuntimeError("handler bug")
            done.set()

        broker = cluster.broker()
        await broker.start(callback)
        await broker.subscribe("fragile")
        broker.publish("fragile", b"boom")
        broker.publish("fragile", b"fine")
        await asyncio.wait_for(done.wait(), TIMEOUT)
        assert received == [b"boom", b"fine"]
        assert broker_log.count("callback failed", logging.ERROR) == 1

    cluster.run(scenario)


def test_wrong_argument_types_are_type_errors_and_a_second_start_is_refused(
    cluster: Cluster,
) -> None:
    async def scenario() -> None:
        broker, _ = await cluster.node()
        with pytest.raises(TypeError):
            broker.publish("channel", "text is not bytes")  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            broker.publish(b"channel", b"x")  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            await broker.subscribe("")
        with pytest.raises(RuntimeError, match="already started"):
            await broker.start(Inbox())

    cluster.run(scenario)


# -- the in-memory broker -------------------------------------------------------------------


def test_memory_publish_blocking_without_a_server_in_the_process_says_redis_is_needed() -> None:
    broker = MemoryBroker(hub=MemoryHub())
    with pytest.raises(BrokerUnavailableError, match=r"Redis") as caught:
        broker.publish_blocking("jobs", b"x")
    assert "outside the server process" in str(caught.value)
    assert isinstance(caught.value, TornadoWebSocketsError)


def test_memory_brokers_created_without_a_hub_share_the_process_hub() -> None:
    async def scenario() -> None:
        first, second = MemoryBroker(), MemoryBroker()
        inbox = Inbox()
        await first.start(inbox)
        try:
            channel = f"shared-{uuid.uuid4().hex}"
            await first.subscribe(channel)
            await asyncio.to_thread(second.publish_blocking, channel, b"same hub")
            await inbox.wait_until_count(1)
            assert inbox.received == [(channel, b"same hub")]
        finally:
            await first.close()
        with pytest.raises(BrokerUnavailableError):
            second.publish_blocking(channel, b"no server any more")

    asyncio.run(scenario())


# -- create_broker --------------------------------------------------------------------------


@pytest.mark.parametrize("setting", [None, "memory"])
def test_the_default_broker_is_in_memory(setting: object) -> None:
    assert isinstance(create_broker(setting), MemoryBroker)


@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:6379/0", "rediss://redis.example.com:6380/1", "unix:///run/r.sock"]
)
def test_a_redis_url_makes_a_redis_broker(url: str) -> None:
    broker = create_broker(url)
    assert isinstance(broker, RedisBroker)
    assert (broker.url, broker.prefix) == (url, "tws")


def test_a_dict_gives_the_prefix_and_redis_py_options() -> None:
    broker = create_broker(
        {
            "url": "redis://127.0.0.1:6379/2",
            "prefix": "site",
            "options": {"socket_timeout": 1.5, "max_connections": 8},
            "queue_size": 50,
        }
    )
    assert isinstance(broker, RedisBroker)
    assert (broker.url, broker.prefix, broker.queue_size) == (
        "redis://127.0.0.1:6379/2",
        "site",
        50,
    )
    assert broker.options["socket_timeout"] == 1.5
    assert broker.options["max_connections"] == 8


@pytest.mark.parametrize(
    ("setting", "says"),
    [
        (42, "should be None, 'memory', a Redis URL"),
        ("amqp://rabbit", "'amqp://rabbit'"),
        ("memcached", "'memcached'"),
        ({"url": "http://redis"}, "['url'] should be a Redis URL"),
        ({"prefix": "x"}, "['url'] should be a Redis URL"),
        ({"url": "redis://h", "bogus": 1}, "unknown keys 'bogus'"),
        ({"url": "redis://h", "options": "fast"}, "['options'] should be a dict"),
        ({"url": "redis://h", "options": {"not_an_option": 1}}, "not_an_option"),
        ({"url": "redis://h", "options": {"decode_responses": True}}, "decode_responses"),
        ({"url": "redis://h", "prefix": ""}, "prefix"),
        ({"url": "redis://h", "queue_size": 0}, "queue_size"),
        ({"url": "redis://h", "prefix": "a", "options": {"prefix": "b"}}, "once"),
    ],
)
def test_an_invalid_setting_is_a_value_error_naming_the_setting(setting: object, says: str) -> None:
    with pytest.raises(ValueError) as caught:
        create_broker(setting)
    assert "TORNADO['broker']" in str(caught.value)
    assert says in str(caught.value)


def test_a_redis_setting_without_redis_py_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in [name for name in sys.modules if name == "redis" or name.startswith("redis.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "redis", None)  # what an absent package looks like
    with pytest.raises(ValueError) as caught:
        create_broker("redis://127.0.0.1:6379/0")
    assert INSTALL_HINT in str(caught.value)
    assert "TORNADO['broker']" in str(caught.value)
    with pytest.raises(ImportError, match="django-tornado-websockets\\[redis\\]"):
        RedisBroker()


def test_passwords_stay_out_of_reprs_and_messages() -> None:
    broker = RedisBroker("redis://user:s3cret@127.0.0.1:1/0")
    assert "s3cret" not in repr(broker)
    with pytest.raises(BrokerUnavailableError) as caught:
        broker.publish_blocking("x", b"y")
    assert "s3cret" not in str(caught.value)
    assert "***" in str(caught.value)


def test_importing_the_brokers_imports_neither_redis_nor_django_nor_the_layers_above() -> None:
    code = (
        "import sys, tornado_websockets.brokers, tornado_websockets.brokers.redis\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('redis', 'django')\n"
        "          or m.startswith('tornado_websockets.websocket')\n"
        "          or m in ('tornado_websockets.registry', 'tornado_websockets.targets')\n"
        "          or m == 'tornado_websockets.server'\n"
        "          or m.startswith('tornado_websockets.tornadowrapper')]\n"
        "print(loaded)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# -- Redis only: the bounded send queue -----------------------------------------------------


@pytest.mark.redis
def test_a_full_send_queue_drops_the_oldest_envelopes_with_one_warning(
    machine_redis: str, broker_log: BrokerLog
) -> None:
    cluster = Cluster(lambda: RedisBroker(machine_redis, prefix=unique_prefix(), queue_size=10))

    async def scenario() -> None:
        broker, inbox = await cluster.node("flood")
        for number in range(100):  # no await: the sender cannot run meanwhile
            broker.publish("flood", b"%d" % number)
        await inbox.wait_until_count(10)
        assert inbox.on("flood") == [b"%d" % number for number in range(90, 100)]
        assert broker.stats.publish_failures == 90
        assert broker_log.count("queue is full") == 1

    cluster.run(scenario)


@pytest.mark.redis
def test_redis_channels_are_the_prefix_a_colon_and_the_channel(machine_redis: str) -> None:
    import redis

    prefix = unique_prefix()
    cluster = Cluster(lambda: RedisBroker(machine_redis, prefix=prefix))
    raw = redis.Redis.from_url(machine_redis, socket_timeout=TIMEOUT)
    listener = raw.pubsub()
    listener.subscribe(f"{prefix}:orders")
    assert listener.get_message(timeout=TIMEOUT)["type"] == "subscribe"

    async def scenario() -> None:
        broker, inbox = await cluster.node("orders")
        broker.publish("orders", b"from the broker")
        await inbox.wait_until_count(1)
        raw.publish(f"{prefix}:orders", b"from a plain Redis client")
        await inbox.wait_until_count(2)
        assert inbox.on("orders") == [b"from the broker", b"from a plain Redis client"]

    try:
        cluster.run(scenario)
        message = listener.get_message(timeout=TIMEOUT)
        assert message is not None and message["data"] == b"from the broker"
    finally:
        listener.close()
        raw.close()


# -- Redis only: failures, on a Redis this test starts and stops ----------------------------


@pytest.mark.redis
def test_redis_going_away_never_raises_into_publish_and_is_logged_once(
    redis_server: RedisServer, broker_log: BrokerLog
) -> None:
    redis_server.start()
    cluster = Cluster(lambda: RedisBroker(redis_server.url, prefix=unique_prefix()))

    async def scenario() -> None:
        broker, inbox = await cluster.node("alerts")
        broker.publish("alerts", b"before")
        await inbox.wait_until_count(1)
        await asyncio.to_thread(redis_server.stop)
        await wait_until(lambda: not broker.stats.connected)
        failures = broker.stats.publish_failures
        for _ in range(100):
            broker.publish("alerts", b"while down")
        assert broker.stats.publish_failures == failures + 100
        # Several reconnection attempts fail; the outage is still reported once.
        await wait_until(lambda: broker_log.count("still cannot connect", logging.DEBUG) >= 2)
        for _ in range(100):
            broker.publish("alerts", b"still down")
        assert broker_log.count("Redis broker disconnected") == 1
        assert broker_log.count("dropped published envelopes") == 1
        assert inbox.received == [("alerts", b"before")]

    cluster.run(scenario)


@pytest.mark.redis
def test_the_subscriber_reconnects_and_resubscribes_when_redis_comes_back(
    redis_server: RedisServer, broker_log: BrokerLog
) -> None:
    redis_server.start()
    prefix = unique_prefix()
    cluster = Cluster(lambda: RedisBroker(redis_server.url, prefix=prefix))

    async def scenario() -> None:
        subscriber, inbox = await cluster.node("feed", "other")
        publisher, _ = await cluster.node()
        publisher.publish("feed", b"before")
        await inbox.wait_until_count(1)

        await asyncio.to_thread(redis_server.stop)
        await wait_until(lambda: not subscriber.stats.connected)
        await asyncio.to_thread(redis_server.start)
        await wait_until(lambda: subscriber.stats.connected and publisher.stats.connected)

        publisher.publish("feed", b"after")
        publisher.publish("other", b"after too")
        await inbox.wait_until_count(3)
        assert inbox.on("feed") == [b"before", b"after"]
        assert inbox.on("other") == [b"after too"]
        assert subscriber.stats.reconnects == 1
        assert broker_log.count("Redis broker disconnected") == 2  # one per broker
        assert broker_log.count("Redis broker reconnected after") == 2

    cluster.run(scenario)


@pytest.mark.redis
def test_start_returns_promptly_when_redis_is_down_and_connects_when_it_comes_up(
    redis_server: RedisServer, broker_log: BrokerLog
) -> None:
    cluster = Cluster(lambda: RedisBroker(redis_server.url, prefix=unique_prefix()))

    async def scenario() -> None:
        broker, inbox = cluster.broker(), Inbox()
        await asyncio.wait_for(broker.start(inbox), TIMEOUT)
        assert not broker.stats.connected
        assert broker_log.count("cannot connect to redis://127.0.0.1") == 1
        await broker.subscribe("later")
        broker.publish("later", b"dropped: not connected yet")

        await asyncio.to_thread(redis_server.start)
        await wait_until(lambda: broker.stats.connected)
        broker.publish("later", b"delivered")
        await inbox.wait_until_count(1)
        assert inbox.received == [("later", b"delivered")]
        assert broker.stats.reconnects == 0
        assert broker.stats.publish_failures == 1
        assert broker_log.count("Redis broker connected after") == 1

    cluster.run(scenario)


@pytest.mark.redis
def test_publish_blocking_raises_broker_unavailable_when_redis_is_down(
    redis_server: RedisServer,
) -> None:
    broker = RedisBroker(redis_server.url, prefix=unique_prefix())
    with pytest.raises(BrokerUnavailableError, match=f"127.0.0.1:{redis_server.port}"):
        broker.publish_blocking("jobs", b"nobody home")
    assert broker.stats.publish_failures == 1
    redis_server.start()
    broker.publish_blocking("jobs", b"home again")
    assert broker.stats.published == 1
    asyncio.run(broker.close())


@pytest.mark.redis
def test_a_redis_that_stops_answering_is_noticed_by_ping_and_reconnected_to(
    redis_server: RedisServer, broker_log: BrokerLog
) -> None:
    redis_server.start()
    cluster = Cluster(
        lambda: RedisBroker(redis_server.url, prefix=unique_prefix(), ping_interval=0.5)
    )

    async def scenario() -> None:
        broker, inbox = await cluster.node("pulse")
        assert redis_server.process is not None
        redis_server.process.send_signal(signal.SIGSTOP)  # the socket stays open, silent
        try:
            await wait_until(lambda: not broker.stats.connected)
            assert broker_log.count("did not answer a PING") == 1
        finally:
            redis_server.process.send_signal(signal.SIGCONT)
        await wait_until(lambda: broker.stats.connected)
        broker.publish("pulse", b"alive again")
        await inbox.wait_until_count(1)
        assert inbox.received == [("pulse", b"alive again")]
        assert broker.stats.reconnects == 1

    cluster.run(scenario)


@pytest.mark.redis
def test_a_frozen_redis_is_logged_as_unconfirmed_not_dropped_and_delivers_when_it_resumes(
    redis_server: RedisServer, broker_log: BrokerLog
) -> None:
    redis_server.start()
    prefix = unique_prefix()
    cluster = Cluster(
        lambda: RedisBroker(redis_server.url, prefix=prefix, socket_timeout=0.5, ping_interval=20)
    )

    async def scenario() -> None:
        _, inbox = await cluster.node("frozen")
        publisher, _ = await cluster.node()
        publisher.publish("frozen", b"before")
        await inbox.wait_until_count(1)
        assert redis_server.process is not None
        redis_server.process.send_signal(signal.SIGSTOP)
        try:
            publisher.publish("frozen", b"during")
            await wait_until(lambda: publisher.stats.publish_failures == 1)
        finally:
            redis_server.process.send_signal(signal.SIGCONT)
        await inbox.wait_until_count(2)
        assert inbox.on("frozen") == [b"before", b"during"]
        assert broker_log.count("dropped published envelopes") == 0
        assert broker_log.count("Redis did not confirm 1 published envelope(s) within 0.5 s") == 1

    cluster.run(scenario)
