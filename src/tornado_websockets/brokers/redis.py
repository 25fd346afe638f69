"""``RedisBroker``: envelopes between processes and hosts over Redis pub/sub.

On the server's loop (redis-py's asyncio client), a listener task owns a dedicated PubSub
connection: it reconnects with capped exponential backoff and jitter (0.1 s doubling to 5 s),
subscribes every remembered channel again before it reports ``stats.connected``, and PINGs an
idle connection to notice a dead one (``redissubscriber.RedisSubscriber``, the base class that
holds the subscriptions and the listener; ``redisclient`` holds the shared helpers and
timeouts, re-exported here). A sender task publishes, in order, from a bounded queue
through a connection pool, in pipelined batches. ``publish_blocking`` uses a synchronous
``redis.Redis`` client created on first use. hiredis is used when installed.

Channel ``c`` is the Redis channel ``<prefix>:<c>``: servers sharing a Redis and a prefix form
one cluster. Logged once per outage: ``Redis broker disconnected: ...``, then ``Redis broker
reconnected after N s``, and the envelopes dropped meanwhile, however many they are. A PUBLISH
that Redis does not answer in time (a frozen or overloaded Redis) was sent all the same: it is
logged as unconfirmed, not as dropped, since Redis delivers it if it recovers.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import TYPE_CHECKING, Any

from .base import (
    Batch,
    BrokerUnavailableError,
    MessageCallback,
    Outbox,
    check_channel,
    check_envelope,
    logger,
)
from .redisclient import (
    DEFAULT_TIMEOUT,
    DEFAULT_URL,
    INSTALL_HINT,
    RESERVED_OPTIONS,
    START_WAIT,
    SyncClient,
    aclose_quietly,
)
from .redisclient import import_redis as import_redis  # re-exported for existing imports
from .redisclient import redact as redact
from .redissubscriber import RedisSubscriber

if TYPE_CHECKING:
    import redis
    import redis.asyncio
    from redis.asyncio.client import PubSub

__all__ = ["RedisBroker", "DEFAULT_URL", "INSTALL_HINT"]


class RedisBroker(RedisSubscriber):
    """A broker on Redis pub/sub.

    ``url``: ``redis://``, ``rediss://`` (TLS) or ``unix://``. ``prefix``: namespace of the
    channels on Redis. ``queue_size``: envelopes waiting to be sent before the oldest are
    dropped. ``ping_interval``: seconds of silence after which the listener PINGs Redis (and
    reconnects when the answer does not come within as long again). ``options``: keyword
    arguments of redis-py's ``from_url`` (``socket_timeout``, ``ssl_ca_certs``, ``password``,
    ...), except retry and decoding options, which the broker owns. Socket timeouts default to
    5 s, so that ``publish_blocking`` fails promptly.

    Raises ``ImportError`` when redis-py is missing, ``ValueError``/``TypeError`` for a bad
    URL or option. Nothing connects before ``start`` or ``publish_blocking``.
    """

    name = "Redis broker"

    def __init__(
        self,
        url: str = DEFAULT_URL,
        prefix: str = "tws",
        *,
        queue_size: int = 10_000,
        ping_interval: float = 10.0,
        **options: Any,
    ) -> None:
        super().__init__()
        if not isinstance(url, str) or not url:
            raise TypeError(f"The Redis URL should be a non-empty string, got {url!r}.")
        if not isinstance(prefix, str) or not prefix:
            raise TypeError(f"The channel prefix should be a non-empty string, got {prefix!r}.")
        if type(queue_size) is not int or queue_size < 1:
            raise ValueError(f"queue_size should be a positive integer, got {queue_size!r}.")
        if not isinstance(ping_interval, (int, float)) or not ping_interval > 0:
            raise ValueError(f"ping_interval should be a positive number, got {ping_interval!r}.")
        reserved = sorted(RESERVED_OPTIONS.intersection(options))
        if reserved:
            raise ValueError(f"The Redis broker sets {', '.join(reserved)} itself.")
        self._redis = import_redis()
        options.setdefault("socket_connect_timeout", DEFAULT_TIMEOUT)
        options.setdefault("socket_timeout", DEFAULT_TIMEOUT)
        # Fails now, not at the first connection, on a bad URL or an unknown option.
        self._redis.asyncio.ConnectionPool.from_url(url, **options).make_connection()
        self.url = url
        self.prefix = prefix
        self.queue_size = queue_size
        self.ping_interval = float(ping_interval)
        self.options = options
        self._key_prefix = f"{prefix}:".encode()
        self._timeout = float(options["socket_timeout"] or DEFAULT_TIMEOUT)
        self._errors = (self._redis.RedisError, OSError, asyncio.TimeoutError)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread_id: int | None = None
        self._publisher: redis.asyncio.Redis | None = None
        self._subscriber: redis.asyncio.Redis | None = None
        self._pubsub: PubSub | None = None
        self._tasks: list[asyncio.Task[None]] = []  # the listener and the sender
        self._first_attempt: asyncio.Event | None = None
        self._outbox: Outbox | None = None
        self._confirmations: dict[bytes, list[asyncio.Future[None]]] = {}
        self._sync = SyncClient(self._make_sync)
        self._stats_lock = threading.Lock()  # publish_blocking counts from any thread
        self._ever_connected = False
        self._unconfirmed_logged = False

    def __repr__(self) -> str:
        return f"<RedisBroker {redact(self.url)} prefix={self.prefix!r}>"

    # -- lifecycle (loop thread) ----------------------------------------------------------

    async def start(self, on_message: MessageCallback) -> None:
        self._begin_start(on_message)
        self._loop = asyncio.get_running_loop()
        self._thread_id = threading.get_ident()
        aioredis, no_backoff = self._redis.asyncio, self._redis.backoff.NoBackoff()
        # The publisher retries once on a stale pooled connection; the listener never: it
        # reconnects by itself.
        retry = aioredis.retry.Retry(no_backoff, 1, (self._redis.ConnectionError,))
        self._publisher = aioredis.Redis.from_url(self.url, retry=retry, **self.options)
        retry = aioredis.retry.Retry(no_backoff, 0)
        self._subscriber = aioredis.Redis.from_url(self.url, retry=retry, **self.options)
        self._outbox = Outbox(self, self._send, self.queue_size)
        self._first_attempt = asyncio.Event()
        self._tasks = [
            asyncio.create_task(self._outbox.run(), name=f"{self!r} sender"),
            asyncio.create_task(self._run(), name=f"{self!r} listener"),
        ]
        try:
            await asyncio.wait_for(self._first_attempt.wait(), START_WAIT)
        except asyncio.TimeoutError:
            logger.debug("%r is still connecting; start() returns anyway.", self)

    async def drain(self, timeout: float) -> None:
        outbox = self._outbox
        deadline = time.monotonic() + timeout
        while outbox is not None and (len(outbox) or outbox.sending) and self.stats.connected:
            if time.monotonic() >= deadline:
                return
            await asyncio.sleep(0.01)  # the sender task reports nothing else to wait on

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.stats.connected = False
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._release_confirmations()
        if self._outbox is not None:
            self._outbox.clear()
        self._channels.clear()
        for client in (self._publisher, self._subscriber):
            await aclose_quietly(client, self._errors)
        self._sync.close()

    # -- publishing -----------------------------------------------------------------------

    def publish(self, channel: str, envelope: bytes) -> None:
        check_channel(channel)
        check_envelope(envelope)
        loop = self._loop
        if loop is not None and not self._closed and threading.get_ident() != self._thread_id:
            try:
                loop.call_soon_threadsafe(self._enqueue, self._key(channel), envelope)
                return
            except RuntimeError:  # the loop is closed
                pass
        self._enqueue(self._key(channel), envelope)

    def _enqueue(self, key: bytes, envelope: bytes) -> None:
        if self._outbox is None or self._closed:
            self._drop(1, "the broker is closed" if self._closed else "the broker is not started")
        elif not self.stats.connected:
            self._drop(1, "Redis is unreachable")
        else:
            self._outbox.put(key, envelope)

    async def _send(self, batch: Batch) -> None:
        """Publish ``batch`` in order (the outbox's sender task); raises when it cannot."""
        if not self.stats.connected:
            raise ConnectionError("Redis is unreachable")
        assert self._publisher is not None
        if len(batch) == 1:
            await self._publisher.publish(*batch[0])
            return
        async with self._publisher.pipeline(transaction=False) as pipe:
            for key, envelope in batch:
                pipe.publish(key, envelope)
            await pipe.execute()

    def _drop(self, count: int, reason: object) -> None:
        # A timeout means the commands went out and no answer came back in time: Redis may be
        # frozen and still deliver them when it resumes. Say so, rather than "dropped".
        if not isinstance(reason, (self._redis.TimeoutError, asyncio.TimeoutError)):
            super()._drop(count, reason)
            return
        self.stats.publish_failures += count
        if not self._unconfirmed_logged:
            self._unconfirmed_logged = True
            logger.warning(
                "Redis did not confirm %d published envelope(s) within %g s (%s): they were "
                "sent, and Redis delivers them if it recovers; they are not sent again. Further "
                "unconfirmed envelopes are counted in stats.publish_failures, not logged, until "
                "the broker is connected again.",
                count,
                self._timeout,
                str(reason).rstrip(".") or type(reason).__name__,
            )

    def publish_blocking(self, channel: str, envelope: bytes) -> None:
        check_channel(channel)
        check_envelope(envelope)
        if self._closed:
            raise BrokerUnavailableError(f"{self!r} is closed.")
        client: redis.Redis = self._sync.get()
        try:
            client.publish(self._key(channel), envelope)
        except self._errors as error:
            with self._stats_lock:
                self.stats.publish_failures += 1
            raise BrokerUnavailableError(
                f"Could not publish to Redis at {redact(self.url)}: {error}"
            ) from error
        with self._stats_lock:
            self.stats.published += 1

    def _make_sync(self) -> redis.Redis:
        retry = self._redis.retry.Retry(
            self._redis.backoff.NoBackoff(), 1, (self._redis.ConnectionError,)
        )
        client: redis.Redis = self._redis.Redis.from_url(self.url, retry=retry, **self.options)
        return client
