"""This process's presence: the server's store and tracker, or a store to read from elsewhere.

The server starts a ``PresenceService`` with its loop (``start``) and closes it on shutdown,
which removes this node's entries at once. A process without a server (a Celery worker, a
management command) reads through ``standalone_store()``, built from ``TORNADO['broker']``:
only a Redis store can answer there.

Thread affinity: ``start``/``PresenceService`` methods run on the loop thread; ``active`` and
``standalone_store`` are safe from any thread.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

from tornado.ioloop import IOLoop

from ..conf import TornadoConfig
from ..exceptions import PresenceUnavailableError
from .base import PresenceStore
from .memory import MemoryPresenceStore
from .tracker import Announce, PresenceTracker

__all__ = ["PresenceService", "create_store", "start", "active", "standalone_store"]

logger = logging.getLogger("tornado_websockets")

_active: PresenceService | None = None
_standalone: PresenceStore | None = None
_lock = threading.Lock()


def create_store(config: TornadoConfig) -> PresenceStore:
    """The store that goes with ``TORNADO['broker']``: Redis with a Redis broker (same URL,
    prefix and options), in memory otherwise. Connects nothing. Any thread."""
    from ..brokers import RedisBroker, create_broker

    broker = create_broker(config.broker)
    if isinstance(broker, RedisBroker):
        from .redis import RedisPresenceStore

        return RedisPresenceStore(broker.url, broker.prefix, broker.options, config.presence_ttl)
    return MemoryPresenceStore()


class PresenceService:
    """The server's presence: its store and its tracker. Loop thread."""

    def __init__(
        self,
        loop: IOLoop,
        node: str,
        config: TornadoConfig,
        announce: Announce,
        wants_events: Callable[[str], bool | str],
    ) -> None:
        self.loop = loop
        self.config = config
        self.store = create_store(config)
        self.tracker = PresenceTracker(
            self.store,
            node,
            config.presence_interval,
            config.presence_max_batch,
            announce,
            wants_events,
        )
        self._started = False

    @property
    def started(self) -> bool:
        """Whether the store was started (some connection had presence)."""
        return self._started

    def ensure_started(self) -> None:
        """Start the store on first use: a server without presence writes nothing."""
        if not self._started:
            self._started = True
            self.loop.add_callback(
                self.store.start, self.tracker.node, self.tracker.expired, self.tracker.resynced
            )

    async def close(self) -> None:
        """Announce what is pending and remove this node's entries (shutdown)."""
        self.tracker.flush()
        if self._started:
            await self.store.close()


def start(
    loop: IOLoop,
    node: str,
    config: TornadoConfig,
    announce: Announce,
    wants_events: Callable[[str], bool | str],
) -> PresenceService:
    """Make a ``PresenceService`` this process's; the server calls it when it listens."""
    global _active
    _active = PresenceService(loop, node, config, announce, wants_events)
    return _active


def stop(service: PresenceService) -> None:
    """Forget ``service`` if it is still this process's."""
    global _active
    if _active is service:
        _active = None


def active() -> PresenceService | None:
    """The server's presence service, when a server runs in this process."""
    return _active


def standalone_store() -> PresenceStore:
    """The store a process without a server reads from; ``PresenceUnavailableError`` unless
    ``TORNADO['broker']`` is Redis."""
    global _standalone
    with _lock:
        if _standalone is None:
            from django.conf import settings

            if not settings.configured:
                raise PresenceUnavailableError(NO_SERVER)
            from ..conf import load

            store = create_store(load())
            if isinstance(store, MemoryPresenceStore):
                raise PresenceUnavailableError(NO_SERVER)
            _standalone = store
        return _standalone


NO_SERVER = (
    "No server runs in this process and TORNADO['broker'] is not Redis: presence is kept in "
    "the memory of the server's process. Read it there, or set TORNADO['broker'] to Redis."
)


def _forget_after_fork() -> None:
    global _active, _standalone
    _active = None
    _standalone = None


os.register_at_fork(after_in_child=_forget_after_fork)
