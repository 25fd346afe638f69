"""The subscribing half of ``RedisBroker``: subscriptions and the listener task.

The listener task owns a dedicated PubSub connection: it reconnects with capped exponential
backoff and jitter (0.1 s doubling to 5 s), subscribes every remembered channel again before it
reports ``stats.connected``, and PINGs an idle connection to notice a dead one. ``subscribe``
waits for Redis's confirmation when connected. ``RedisBroker`` (``brokers/redis.py``) adds the
configuration, the lifecycle and publishing, and creates the clients these methods use.

Thread affinity: the loop thread, but for ``_key`` (pure, any thread).
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import TYPE_CHECKING, Any, cast

from .base import Broker, check_channel, logger
from .redisclient import BACKOFF_INITIAL, BACKOFF_MAX, redact

if TYPE_CHECKING:
    import redis.asyncio
    from redis.asyncio.client import PubSub


class RedisSubscriber(Broker):
    """Subscriptions and the listener task of ``RedisBroker``; not used on its own."""

    # Set by RedisBroker.__init__ and start.
    url: str
    ping_interval: float
    _key_prefix: bytes
    _timeout: float
    _errors: tuple[type[BaseException], ...]
    _loop: asyncio.AbstractEventLoop | None
    _subscriber: redis.asyncio.Redis | None
    _pubsub: PubSub | None
    _first_attempt: asyncio.Event | None
    _confirmations: dict[bytes, list[asyncio.Future[None]]]
    _ever_connected: bool
    _unconfirmed_logged: bool

    def _key(self, channel: str) -> bytes:
        return self._key_prefix + channel.encode()

    # -- subscriptions (loop thread) ------------------------------------------------------

    async def subscribe(self, channel: str) -> None:
        check_channel(channel)
        if self._closed or channel in self._channels:
            return
        self._channels.add(channel)
        pubsub = self._pubsub
        if pubsub is None or self._loop is None:
            return  # subscribed when the listener (re)connects
        key = self._key(channel)
        confirmed = self._loop.create_future()
        self._confirmations.setdefault(key, []).append(confirmed)
        try:
            await pubsub.subscribe(key)
            await asyncio.wait_for(confirmed, self._timeout)
        except self._errors as error:
            logger.debug(
                "Subscribing to %r did not complete (%s); retried on reconnection.", channel, error
            )
        finally:
            waiting = self._confirmations.get(key)
            if waiting is not None and confirmed in waiting:
                waiting.remove(confirmed)
                if not waiting:
                    del self._confirmations[key]

    async def unsubscribe(self, channel: str) -> None:
        check_channel(channel)
        if channel not in self._channels:
            return
        self._channels.discard(channel)  # nothing of it is dispatched from now on
        pubsub = self._pubsub
        if pubsub is not None:
            try:
                await pubsub.unsubscribe(self._key(channel))
            except self._errors as error:
                logger.debug("Unsubscribing from %r failed (%s).", channel, error)

    def _release_confirmations(self) -> None:
        for waiting in self._confirmations.values():
            for future in waiting:
                if not future.done():
                    future.set_result(None)
        self._confirmations.clear()

    # -- listener task --------------------------------------------------------------------

    async def _run(self) -> None:
        assert self._first_attempt is not None
        delay = BACKOFF_INITIAL
        down_since: float | None = None
        while True:
            try:
                pubsub, subscribed = await self._connect()
            except Exception as error:
                if down_since is None:
                    down_since = time.monotonic()
                    self._log_down(error)
                else:
                    logger.debug("Redis broker still cannot connect: %s", error)
                self._first_attempt.set()
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            delay = BACKOFF_INITIAL
            self._pubsub = pubsub
            self.stats.connected = True
            self._drop_logged = False
            self._unconfirmed_logged = False
            if down_since is not None:
                elapsed = time.monotonic() - down_since
                if self._ever_connected:
                    self.stats.reconnects += 1
                    logger.warning("Redis broker reconnected after %.1f s.", elapsed)
                else:
                    logger.warning("Redis broker connected after %.1f s.", elapsed)
            self._ever_connected = True
            down_since = None
            self._first_attempt.set()
            try:  # first, the (un)subscriptions made while _connect ran
                current = frozenset(self._channels)
                if current - subscribed:
                    await pubsub.subscribe(*map(self._key, current - subscribed))
                if subscribed - current:
                    await pubsub.unsubscribe(*map(self._key, subscribed - current))
                await self._listen(pubsub)
            except Exception as error:  # whatever broke, listen again
                down_since = time.monotonic()
                self._log_down(error)
            finally:
                self._pubsub = None
                self.stats.connected = False
                self._release_confirmations()
                await self._discard(pubsub)

    def _log_down(self, error: BaseException) -> None:
        where = "" if self._ever_connected else f"cannot connect to {redact(self.url)}: "
        logger.warning(
            "Redis broker disconnected: %s%s. Reconnecting in the background.",
            where,
            str(error).rstrip(".") or type(error).__name__,
            exc_info=not isinstance(error, self._errors),  # a traceback for the unexpected
        )

    async def _connect(self) -> tuple[PubSub, frozenset[str]]:
        """A PubSub connection subscribed (and confirmed) to every remembered channel."""
        assert self._subscriber is not None
        pubsub = self._subscriber.pubsub()
        try:
            await cast(Any, pubsub).connect()  # untyped in redis-py
            channels = frozenset(self._channels)
            if channels:
                pending = {self._key(channel) for channel in channels}
                await pubsub.subscribe(*pending)
                deadline = time.monotonic() + self._timeout
                while pending:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TimeoutError("Redis did not confirm the subscriptions in time")
                    message = await pubsub.get_message(timeout=remaining)
                    if message is not None:
                        if message["type"] == "subscribe":
                            pending.discard(message["channel"])
                        self._handle(message)
        except BaseException:
            await self._discard(pubsub)
            raise
        return pubsub, channels

    async def _listen(self, pubsub: PubSub) -> None:
        """Dispatch messages until the connection fails (raises)."""
        awaiting_pong = False
        while True:
            message = await pubsub.get_message(timeout=self.ping_interval)
            if message is None:
                if awaiting_pong:
                    raise TimeoutError(f"Redis did not answer a PING in {self.ping_interval:g} s")
                await pubsub.ping()
                awaiting_pong = True
                continue
            awaiting_pong = False
            self._handle(message)

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "message":
            raw: bytes = message["channel"]
            if raw.startswith(self._key_prefix):
                channel = raw[len(self._key_prefix) :].decode("utf-8", "replace")
                self._dispatch(channel, message["data"])
        elif kind == "subscribe":
            for future in self._confirmations.pop(message["channel"], ()):
                if not future.done():
                    future.set_result(None)

    async def _discard(self, pubsub: PubSub) -> None:
        try:
            await cast(Any, pubsub).aclose()  # untyped in redis-py
        except self._errors:
            pass
