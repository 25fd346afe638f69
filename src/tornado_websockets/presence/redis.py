"""``RedisPresenceStore``: the entries of every node, in the Redis of ``TORNADO['broker']``.

Keys (``<prefix>`` is the broker's, ``tws`` by default):

- ``<prefix>:presence:nodes``: sorted set, each node and the time (Redis clock, ms) until which
  it counts as alive;
- ``<prefix>:presence:node:<node>``: hash, the entry keys of that node (to claim them);
- ``<prefix>:presence:<path>:<node>`` and ``<prefix>:presence:<path>:<node>:room:<room>``:
  hashes, client id (as a JSON string, quotes included) → shared info (JSON), one per node
  and scope.

Every key expires after twice ``TORNADO['presence_ttl']`` unless refreshed. A node refreshes
every third of the TTL and counts as alive for two thirds of it past each refresh; a node that
stops (SIGKILL, lost host) is claimed by the first surviving node to notice, at most one TTL
after its last refresh, and its clients leave. A clean shutdown deletes the node's keys at once.

Thread affinity: writes are queued on the loop thread and sent by a background task through
redis-py's asyncio client (the loop never waits on Redis); ``snapshot`` reads with a blocking
client from any other thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

from ..brokers.redis import import_redis, redact
from ..brokers.redisclient import SyncClient, aclose_quietly
from ..exceptions import PresenceUnavailableError
from .base import APP_SCOPE, Entries, Expired, PresenceStore, Resynced
from .scripts import CLAIM, READ, REFRESH, STATS

if TYPE_CHECKING:
    import redis
    import redis.asyncio

__all__ = ["RedisPresenceStore"]

logger = logging.getLogger("tornado_websockets")

MAX_PENDING = 100_000
"""Changes queued while Redis is unreachable; past this, the node rewrites its entries from
its own state once Redis answers, instead of replaying them."""


def _field(client: str) -> str:
    """The hash field of a client: its id as a JSON string (see ``scripts.READ``)."""
    return f'"{client}"'


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisPresenceStore(PresenceStore):
    """Presence entries on Redis. ``ttl``: seconds (``TORNADO['presence_ttl']``)."""

    def __init__(self, url: str, prefix: str, options: dict[str, Any], ttl: float) -> None:
        self._redis = import_redis()
        self.url, self.prefix, self.options, self.ttl = url, prefix, dict(options), ttl
        self._key_ttl_ms = int(ttl * 2000)
        self._life_ms = int(ttl * 2000 / 3)
        self._errors = (self._redis.RedisError, OSError, asyncio.TimeoutError)
        self._node = ""
        self._state: dict[tuple[str, str], dict[str, str]] = {}
        self._pending: dict[tuple[str, str], dict[str, str | None]] = {}
        self._pending_count = 0
        self._queued = 0  # changes queued since start, and how many of them are written
        self._written = 0
        self._progress: asyncio.Event | None = None
        self._resync = False
        self._live = False
        self._wakeup: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._client: redis.asyncio.Redis | None = None
        self._sync = SyncClient(lambda: self._redis.Redis.from_url(self.url, **self.options))
        self._down_logged = False

    def __repr__(self) -> str:
        return f"<RedisPresenceStore {redact(self.url)} prefix={self.prefix!r}>"

    # -- keys -----------------------------------------------------------------------------

    @property
    def nodes_key(self) -> str:
        return f"{self.prefix}:presence:nodes"

    def index_key(self, node: str) -> str:
        return f"{self.prefix}:presence:node:{node}"

    def entry_key(self, path: str, node: str, scope: str) -> str:
        return self._entry_prefix(path) + node + self._entry_suffix(scope)

    def _entry_prefix(self, path: str) -> str:
        return f"{self.prefix}:presence:{path}:"

    @staticmethod
    def _entry_suffix(scope: str) -> str:
        return "" if scope == APP_SCOPE else f":room:{scope}"

    # -- lifecycle (loop thread) ----------------------------------------------------------

    async def start(self, node: str, expired: Expired, resynced: Resynced) -> None:
        self._node = node
        self._client = self._redis.asyncio.Redis.from_url(self.url, **self.options)
        self._wakeup = asyncio.Event()
        self._progress = asyncio.Event()
        self._tasks = [
            asyncio.create_task(self._write_loop(), name=f"{self!r} writer"),
            asyncio.create_task(self._refresh_loop(expired, resynced), name=f"{self!r} refresh"),
        ]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        client = self._client
        if client is not None:
            try:
                await asyncio.wait_for(self._claim(client, self._node, force=True), self.ttl)
            except self._errors as error:
                logger.warning("Presence entries of this node left to expire: %s", error)
            await aclose_quietly(client, self._errors)
        self._sync.close()

    # -- writes (loop thread) -------------------------------------------------------------

    def add(self, path: str, scope: str, client: str, info: str) -> None:
        self._state.setdefault((path, scope), {})[client] = info
        self._queue(path, scope, client, info)

    def remove(self, path: str, scope: str, client: str) -> None:
        entries = self._state.get((path, scope))
        if entries is not None:
            entries.pop(client, None)
            if not entries:
                del self._state[(path, scope)]
        self._queue(path, scope, client, None)

    async def flushed(self, timeout: float) -> None:
        target, progress = self._queued, self._progress
        if progress is None:
            return
        deadline = asyncio.get_running_loop().time() + timeout
        while self._written < target and self._tasks:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return
            progress.clear()
            try:
                await asyncio.wait_for(progress.wait(), remaining)
            except asyncio.TimeoutError:
                return

    def _written_up_to(self, queued: int) -> None:
        self._written = max(self._written, queued)
        if self._progress is not None:
            self._progress.set()

    def _queue(self, path: str, scope: str, client: str, info: str | None) -> None:
        self._queued += 1
        if self._pending_count >= MAX_PENDING:
            self._pending.clear()
            self._pending_count = 0
            self._resync = True
        if not self._resync:
            self._pending.setdefault((path, scope), {})[client] = info
            self._pending_count += 1
        if self._wakeup is not None:
            self._wakeup.set()

    async def _write_loop(self) -> None:
        assert self._wakeup is not None and self._client is not None
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            if not self._live:
                continue  # the first refresh registers the node, then wakes this task
            queued = self._queued
            try:
                if self._resync:
                    await self._rewrite(self._client)
                elif self._pending:
                    batch, self._pending, self._pending_count = self._pending, {}, 0
                    await self._write(self._client, batch)
                self._written_up_to(queued)
            except self._errors as error:
                self._resync = True  # what was lost is rewritten whole on the next success
                self._pending.clear()
                self._pending_count = 0
                self._log_down(error)

    async def _write(
        self, client: redis.asyncio.Redis, batch: dict[tuple[str, str], dict[str, str | None]]
    ) -> None:
        index = self.index_key(self._node)
        async with client.pipeline(transaction=False) as pipe:
            for (path, scope), changes in batch.items():
                key = self.entry_key(path, self._node, scope)
                added = {_field(c): i for c, i in changes.items() if i is not None}
                removed = [_field(c) for c, i in changes.items() if i is None]
                if added:
                    pipe.hset(key, mapping=added)  # type: ignore[arg-type]
                if removed:
                    pipe.hdel(key, *removed)
                if (path, scope) in self._state:
                    pipe.pexpire(key, self._key_ttl_ms)
                    pipe.hset(index, key, json.dumps([path, scope]))
                else:
                    pipe.hdel(index, key)
            pipe.pexpire(index, self._key_ttl_ms)
            await pipe.execute()
        self._down_logged = False

    async def _rewrite(self, client: redis.asyncio.Redis) -> None:
        self._resync = False
        self._pending.clear()
        self._pending_count = 0
        state = {scope: dict(entries) for scope, entries in self._state.items()}
        await self._claim(client, self._node, force=True)
        await self._refresh(client)
        await self._write(client, state)  # type: ignore[arg-type]

    # -- liveness (loop thread) -----------------------------------------------------------

    async def _refresh(self, client: redis.asyncio.Redis) -> tuple[bool, list[str]]:
        keys = [self.nodes_key, self.index_key(self._node)]
        args = [self._node, str(self._life_ms), str(self._key_ttl_ms)]
        added, dead = await client.eval(REFRESH, 2, *keys, *args)
        return bool(added), [_text(node) for node in dead]

    async def _refresh_loop(self, expired: Expired, resynced: Resynced) -> None:
        assert self._client is not None and self._wakeup is not None
        first = True
        while True:
            try:
                added, dead = await self._refresh(self._client)
                if added and not first:
                    logger.warning("Presence: this node was taken for gone; writing it again.")
                    await self._rewrite(self._client)
                    resynced()
                first = False
                self._live = True
                self._wakeup.set()
                for node in dead:
                    if node != self._node:
                        for path, scope, entries in await self._claim(self._client, node):
                            expired(path, scope, entries)
            except self._errors as error:
                self._log_down(error)
            await asyncio.sleep(self.ttl / 3)

    async def _claim(
        self, client: redis.asyncio.Redis, node: str, force: bool = False
    ) -> list[tuple[str, str, Entries]]:
        args = [node, self.index_key(node), "1" if force else "0"]
        found = await client.eval(CLAIM, 1, self.nodes_key, *args)
        claimed = []
        for meta, flat in zip(found[::2], found[1::2], strict=True) if found else ():
            path, scope = json.loads(meta)
            entries = [(json.loads(flat[i]), _text(flat[i + 1])) for i in range(0, len(flat), 2)]
            claimed.append((path, scope, entries))
        return claimed

    def _log_down(self, error: BaseException) -> None:
        if not self._down_logged:
            self._down_logged = True
            logger.warning("Presence store cannot reach Redis (%s); retrying.", error)

    # -- reads (any thread but the loop's) ------------------------------------------------

    def read(self, path: str, scope: str) -> dict[str, Any]:
        flat = json.loads(self._eval(READ, path, scope))
        return dict(zip(flat[::2], flat[1::2], strict=True))

    def stats(self, path: str, scope: str) -> tuple[int, int]:
        clients, users = self._eval(STATS, path, scope)
        return int(clients), int(users)

    def _eval(self, script: str, path: str, scope: str) -> Any:
        client: redis.Redis = self._sync.get()
        args = [self._entry_prefix(path), self._entry_suffix(scope)]
        try:
            return client.eval(script, 1, self.nodes_key, *args)
        except self._errors as error:
            raise PresenceUnavailableError(
                f"Could not read presence from Redis at {redact(self.url)}: {error}"
            ) from error
