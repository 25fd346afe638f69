"""``RedisHistory``: history on Redis Streams, shared by every process of a cluster.

One Lua script stores and announces a message atomically: it bumps the stream's offset
(``HINCRBY`` on its meta hash, which also holds the epoch, drawn when the hash is created),
``XADD``\\ s the payload with the explicit id ``<offset>-0`` and an exact ``MAXLEN`` of the
stream's size, sets the keys' time to live, and ``PUBLISH``\\ es the announcement on the
broker's channel. Redis runs scripts one at a time and pushes published messages to each
subscriber in that order, so every node receives a stream's messages in offset order, whichever
process emitted them, and only once they are stored.

Keys (``<p>`` the broker's prefix, ``<n>:<channel>`` the length-prefixed application path):
``<p>:history:<n>:<channel>:<stream>`` (the stream, expires ``ttl`` after the last append) and
``<p>:history-meta:<n>:<channel>:<stream>`` (offset and epoch, expires ``max(ttl, 1 day)``
after it). Losing the meta hash (a flush, an expiry) draws a new epoch.

On the loop, appends wait in a bounded, ordered queue and leave in pipelined batches through
redis-py's asyncio client: the loop never waits for Redis. ``read`` runs ``HMGET`` and
``XRANGE`` in one transaction. ``*_blocking`` use a synchronous client made on first use.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import deque
from typing import Any

from ..brokers.redis import import_redis, redact
from ..brokers.redisclient import SyncClient, aclose_quietly
from .base import Announce, Entry, HistoryStore, HistoryUnavailableError, Window

__all__ = ["RedisHistory", "APPEND_SCRIPT", "META_TTL"]

logger = logging.getLogger("tornado_websockets.history")

META_TTL = 86_400
"""Seconds an idle stream keeps its offset and epoch (at least its ``ttl``)."""
QUEUE_SIZE = 10_000
"""Appends waiting for Redis before new ones are dropped (logged once per outage)."""
BATCH_SIZE = 256

APPEND_SCRIPT = """
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ARGV[1]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', epoch)
end
local offset = redis.call('HINCRBY', KEYS[1], 'offset', 1)
local id = string.format('%d-0', offset)
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[2], id, 't', ARGV[4], 'd', ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[6])
if ARGV[7] ~= '' then
  local head = string.sub(ARGV[8], 1, -2)
  redis.call('PUBLISH', ARGV[7],
    head .. string.format(',"o":%d,"p":"', offset) .. epoch .. '"}\\n' .. ARGV[5])
end
return {epoch, offset}
"""


class RedisHistory(HistoryStore):
    """History in Redis Streams; ``url``, ``prefix`` and ``options`` are the broker's, so that
    announcements go out on the channels the brokers of the cluster listen to."""

    name = "Redis history"

    def __init__(self, url: str, prefix: str = "tws", **options: Any) -> None:
        self._redis = import_redis()
        self.url, self.prefix, self.options = url, prefix, dict(options)
        self._errors = (self._redis.RedisError, OSError, asyncio.TimeoutError)
        self._client: Any = None
        self._script: Any = None
        self._queue: deque[list[Any]] = deque()
        self._wakeup: asyncio.Event | None = None
        self._sender: asyncio.Task[None] | None = None
        self._down_logged = False
        self._sync = SyncClient(self._make_sync)
        self.dropped = 0
        """Appends dropped because Redis could not take them."""

    def __repr__(self) -> str:
        return f"<RedisHistory {redact(self.url)} prefix={self.prefix!r}>"

    def keys(self, channel: str, stream: str) -> tuple[str, str]:
        """The meta hash and the stream key of a stream."""
        name = f"{len(channel)}:{channel}:{stream}"
        return f"{self.prefix}:history-meta:{name}", f"{self.prefix}:history:{name}"

    def _arguments(
        self, channel: str, stream: str, payload: bytes, head: bytes, size: int, ttl: float
    ) -> tuple[list[str], list[Any]]:
        now_ms = int(time.time() * 1000)
        return list(self.keys(channel, stream)), [
            secrets.token_hex(4),
            size,
            max(1, int(ttl * 1000)),
            now_ms,
            payload,
            max(META_TTL, int(ttl) + 1),
            f"{self.prefix}:{channel}",
            head,
        ]

    # -- the loop's side ------------------------------------------------------------------

    def start(self, announce: Announce) -> None:
        aioredis = self._redis.asyncio
        retry = aioredis.retry.Retry(self._redis.backoff.NoBackoff(), 1)
        self._client = aioredis.Redis.from_url(self.url, retry=retry, **self.options)
        self._script = self._client.register_script(APPEND_SCRIPT)
        self._wakeup = asyncio.Event()
        self._sender = asyncio.get_running_loop().create_task(self._send_forever())

    def append(
        self, channel: str, stream: str, payload: bytes, head: bytes, size: int, ttl: float
    ) -> None:
        if self._wakeup is None:
            raise HistoryUnavailableError(f"{self!r} is not started.")
        if len(self._queue) >= QUEUE_SIZE:
            self._dropped(1, f"{QUEUE_SIZE} appends are already waiting for Redis")
            return
        self._queue.append([channel, stream, payload, head, size, ttl])
        self._wakeup.set()

    async def _send_forever(self) -> None:
        assert self._wakeup is not None
        queue = self._queue
        while True:
            if not queue:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch = [queue.popleft() for _ in range(min(BATCH_SIZE, len(queue)))]
            try:
                async with self._client.pipeline(transaction=False) as pipe:
                    for item in batch:
                        keys, args = self._arguments(*item)
                        await self._script(keys, args, client=pipe)
                    await pipe.execute()
            except self._errors as error:
                self._dropped(len(batch), error)
            else:
                if self._down_logged:
                    self._down_logged = False
                    logger.warning("%s is storing messages again.", self.name)

    def _dropped(self, count: int, reason: object) -> None:
        self.dropped += count
        if not self._down_logged:
            self._down_logged = True
            logger.warning(
                "%s dropped messages it could not store (%s): they reach no client; further "
                "drops are counted, not logged, until Redis takes messages again.",
                self.name,
                reason,
            )

    async def read(self, channel: str, stream: str, since: int, limit: int, ttl: float) -> Window:
        if self._client is None:
            raise HistoryUnavailableError(f"{self!r} is not started.")
        meta, key = self.keys(channel, stream)
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.hmget(meta, "epoch", "offset")
                pipe.xrange(key, f"{since + 1}-0", "+", count=limit)
                (epoch, top), rows = await pipe.execute()
        except self._errors as error:
            raise HistoryUnavailableError(f"Could not read history from Redis: {error}") from error
        return _window(epoch, top, rows, ttl)

    async def close(self) -> None:
        if self._sender is not None:
            self._sender.cancel()
            await asyncio.gather(self._sender, return_exceptions=True)
            self._sender = None
        await aclose_quietly(self._client, self._errors)
        self._sync.close()

    # -- other threads ----------------------------------------------------------------------

    def _make_sync(self) -> Any:
        retry = self._redis.retry.Retry(self._redis.backoff.NoBackoff(), 1)
        return self._redis.Redis.from_url(self.url, retry=retry, **self.options)

    def append_blocking(
        self, channel: str, stream: str, payload: bytes, head: bytes, size: int, ttl: float
    ) -> None:
        # A Script object is a hash of the text and a reference to the client: cheap to make.
        script = self._sync.get().register_script(APPEND_SCRIPT)
        keys, args = self._arguments(channel, stream, payload, head, size, ttl)
        try:
            script(keys, args)
        except self._errors as error:
            raise HistoryUnavailableError(
                f"Could not store history in Redis at {redact(self.url)}: {error}"
            ) from error

    def read_blocking(
        self, channel: str, stream: str, since: int, limit: int, ttl: float
    ) -> Window:
        client = self._sync.get()
        meta, key = self.keys(channel, stream)
        try:
            with client.pipeline(transaction=True) as pipe:
                pipe.hmget(meta, "epoch", "offset")
                pipe.xrange(key, f"{since + 1}-0", "+", count=limit)
                (epoch, top), rows = pipe.execute()
        except self._errors as error:
            raise HistoryUnavailableError(f"Could not read history from Redis: {error}") from error
        return _window(epoch, top, rows, ttl)


def _window(epoch: bytes | None, top: bytes | None, rows: list[Any], ttl: float) -> Window:
    if epoch is None:
        return Window(None, 0, ())
    oldest = time.time() - ttl
    entries = []
    for entry_id, fields in rows:
        stored = int(fields[b"t"]) / 1000
        if stored >= oldest:
            entries.append(Entry(int(entry_id.split(b"-")[0]), stored, fields[b"d"]))
    return Window(epoch.decode(), int(top or 0), tuple(entries))
