"""``MemoryBroker``: the default broker, for a server that runs in one process.

Brokers created with the same ``MemoryHub`` (by default the one hub of the process) see each
other's publishes, exactly as brokers on one Redis do, so the contract holds for both. Nothing
leaves the process: to emit from a Celery worker or another server, configure Redis.

Delivery is always scheduled on the subscriber's loop (``call_soon`` from its own thread,
``call_soon_threadsafe`` from elsewhere), never run inside ``publish``: a callback that publishes
does not recurse, and envelopes from one thread keep their order.
"""

from __future__ import annotations

import asyncio
import threading

from .base import (
    Broker,
    BrokerUnavailableError,
    MessageCallback,
    check_channel,
    check_envelope,
    logger,
)

__all__ = ["MemoryBroker", "MemoryHub", "DEFAULT_HUB", "NO_SERVER_MESSAGE"]

NO_SERVER_MESSAGE = (
    "The in-memory broker only reaches servers running in this process, and none is running "
    "here. To emit from outside the server process (a Celery task, a management command), a "
    "real broker is needed: set TORNADO['broker'] to a Redis URL such as "
    "'redis://127.0.0.1:6379/0'."
)


class MemoryHub:
    """Where the in-memory brokers of one process meet. Thread-safe.

    Holds the started brokers and who subscribes to what; ``deliver`` schedules an envelope
    on the loop of every subscriber of its channel.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started: set[MemoryBroker] = set()
        self._subscribers: dict[str, set[MemoryBroker]] = {}

    def attach(self, broker: MemoryBroker) -> None:
        with self._lock:
            self._started.add(broker)

    def detach(self, broker: MemoryBroker) -> None:
        with self._lock:
            self._started.discard(broker)
            for channel in [c for c, s in self._subscribers.items() if broker in s]:
                self._remove(channel, broker)

    def add(self, channel: str, broker: MemoryBroker) -> None:
        with self._lock:
            self._subscribers.setdefault(channel, set()).add(broker)

    def remove(self, channel: str, broker: MemoryBroker) -> None:
        with self._lock:
            self._remove(channel, broker)

    def _remove(self, channel: str, broker: MemoryBroker) -> None:
        subscribers = self._subscribers.get(channel)
        if subscribers is not None:
            subscribers.discard(broker)
            if not subscribers:
                del self._subscribers[channel]

    @property
    def has_started_broker(self) -> bool:
        """Whether a started, unclosed broker is attached (a server runs in this process)."""
        with self._lock:
            return bool(self._started)

    def deliver(self, channel: str, envelope: bytes) -> None:
        """Schedule ``envelope`` on the loop of each subscriber of ``channel``. Any thread."""
        with self._lock:
            subscribers = tuple(self._subscribers.get(channel, ()))
        if not subscribers:
            return
        here = threading.get_ident()
        for broker in subscribers:
            loop = broker._loop
            if loop is None:
                continue
            try:
                if broker._thread_id == here:
                    loop.call_soon(broker._dispatch, channel, envelope)
                else:
                    loop.call_soon_threadsafe(broker._dispatch, channel, envelope)
            except RuntimeError:  # that broker's loop is closed: it cannot receive any more
                logger.debug("Dropped an envelope for %r: its event loop is closed.", broker)


DEFAULT_HUB = MemoryHub()
"""The hub of every ``MemoryBroker`` created without one."""


class MemoryBroker(Broker):
    """An in-process broker (the default). ``hub``: brokers that see each other's publishes.

    ``publish`` works from any thread. ``publish_blocking`` delivers through the hub as well,
    but raises ``BrokerUnavailableError`` when no started broker is attached to the hub: with
    no server in this process, nobody could receive the envelope.
    """

    def __init__(self, hub: MemoryHub | None = None) -> None:
        super().__init__()
        self.hub = DEFAULT_HUB if hub is None else hub
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread_id: int | None = None

    name = "In-memory broker"

    def __repr__(self) -> str:
        return f"<MemoryBroker at {id(self):#x}>"

    async def start(self, on_message: MessageCallback) -> None:
        self._begin_start(on_message)
        self._loop = asyncio.get_running_loop()
        self._thread_id = threading.get_ident()
        self.hub.attach(self)
        for channel in self._channels:
            self.hub.add(channel, self)
        self.stats.connected = True

    async def subscribe(self, channel: str) -> None:
        check_channel(channel)
        if self._closed:
            return
        self._channels.add(channel)
        if self._started:
            self.hub.add(channel, self)

    async def unsubscribe(self, channel: str) -> None:
        check_channel(channel)
        self._channels.discard(channel)
        self.hub.remove(channel, self)

    def publish(self, channel: str, envelope: bytes) -> None:
        check_channel(channel)
        check_envelope(envelope)
        if self._closed:
            self.stats.publish_failures += 1
            logger.debug("Dropped an envelope published on %r after close().", channel)
            return
        self.hub.deliver(channel, envelope)
        self.stats.published += 1

    def publish_blocking(self, channel: str, envelope: bytes) -> None:
        check_channel(channel)
        check_envelope(envelope)
        if self._closed:
            raise BrokerUnavailableError(f"{self!r} is closed.")
        if not self.hub.has_started_broker:
            raise BrokerUnavailableError(NO_SERVER_MESSAGE)
        self.hub.deliver(channel, envelope)
        self.stats.published += 1

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.stats.connected = False
        self.hub.detach(self)
        self._channels.clear()
