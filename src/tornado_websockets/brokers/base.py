"""The broker contract: how emits travel between the processes that serve WebSockets.

A broker carries opaque *envelopes* (``bytes``) on named *channels* between processes: every
broker subscribed to a channel receives every envelope published on it, by any process,
including the envelopes it published itself. The layer above encodes envelopes, tags them with
the id of the node that sent them and drops its own when it has already delivered them locally:
a broker neither knows nor filters its own envelopes. Brokers know nothing of WebSocket objects,
handlers, Django or the envelope format.

Delivery is at most once, like Redis pub/sub: an envelope published while the backend is
unreachable, or while a subscriber is reconnecting, is lost. Envelopes published from one loop
thread on one channel reach each subscriber in publish order.

Thread and loop affinity:

- ``start``, ``subscribe``, ``unsubscribe`` and ``close`` are coroutines run on the event loop
  that owns the broker (the server's IOLoop); ``start`` binds the broker to that loop.
- ``publish`` is called on that loop's thread; it never blocks and never raises for transport
  failures. Called from another thread, it hops onto the loop first.
- ``publish_blocking`` is for threads that run no event loop of the broker: a Celery task, a
  management command, a script. It blocks until the backend accepted the envelope and raises
  ``BrokerUnavailableError`` when it cannot.
- ``on_message(channel, envelope)`` is called on the loop thread, one envelope at a time. It must
  not block; an exception it raises is logged and delivery goes on.

A backend implements the transport only: the abstract methods of ``Broker``. The class keeps
the common bookkeeping (``channels``, ``stats``, callback dispatch, drops logged once per
outage), and ``Outbox`` gives networked backends their ordered, bounded send queue.
"""

from __future__ import annotations

import abc
import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ..exceptions import TornadoWebSocketsError

__all__ = [
    "Broker",
    "BrokerStats",
    "BrokerUnavailableError",
    "MessageCallback",
    "Outbox",
    "check_channel",
    "check_envelope",
    "logger",
]

logger = logging.getLogger("tornado_websockets.brokers")

MessageCallback = Callable[[str, bytes], None]
"""``on_message(channel, envelope)``: called on the loop thread for every envelope received."""


class BrokerUnavailableError(TornadoWebSocketsError):
    """``publish_blocking`` could not hand the envelope to the backend.

    The backend is unreachable (the message says why), or the broker cannot reach any other
    process at all (the in-memory broker outside a server process).
    """


@dataclass
class BrokerStats:
    """Counters of one broker, for logs, health checks and tests.

    Written by the broker only (``publish_blocking`` may update them from its calling thread);
    read them from anywhere.
    """

    published: int = 0
    """Envelopes handed to the backend."""
    publish_failures: int = 0
    """Envelopes dropped (backend unreachable, broker not started or closed, queue full) or
    sent without a confirmation in time (the Redis broker logs those apart)."""
    received: int = 0
    """Envelopes delivered to ``on_message``."""
    reconnects: int = 0
    """Times the broker got its connection back after losing it (the first connection of a
    broker that could not connect at ``start`` does not count)."""
    connected: bool = False
    """Whether the broker is listening right now."""


class Broker(abc.ABC):
    """A transport of envelopes between processes; see the module documentation.

    Lifecycle: ``start(on_message)`` once, then ``subscribe``/``publish`` freely, then
    ``close()``. A closed broker cannot be started again. ``publish_blocking`` also works on a
    broker that was never started (that is how processes without a server emit).
    """

    stats: BrokerStats
    name = "Broker"
    """How logs name this kind of broker."""

    def __init__(self) -> None:
        self.stats = BrokerStats()
        self._channels: set[str] = set()
        self._on_message: MessageCallback | None = None
        self._started = False
        self._closed = False
        self._drop_logged = False

    # -- the contract ---------------------------------------------------------------------

    @abc.abstractmethod
    async def start(self, on_message: MessageCallback) -> None:
        """Connect and start listening; ``on_message`` receives every envelope from now on.

        Must not raise when the backend is unreachable: the broker logs it, returns promptly
        and keeps retrying in the background (``stats.connected`` says when it is listening).
        Raises ``RuntimeError`` when the broker was already started or is closed.
        """

    @abc.abstractmethod
    async def subscribe(self, channel: str) -> None:
        """Receive the envelopes published on ``channel``. Idempotent.

        The channel is remembered and subscribed again after every reconnection. When the
        broker is connected, the subscription is active when this returns: envelopes published
        afterwards, from any process, are delivered.
        """

    @abc.abstractmethod
    async def unsubscribe(self, channel: str) -> None:
        """Stop receiving ``channel``: nothing of it is delivered once this returns."""

    @abc.abstractmethod
    def publish(self, channel: str, envelope: bytes) -> None:
        """Send ``envelope`` to every subscriber of ``channel``, this broker included.

        Loop thread; returns at once (the send is scheduled). Never raises for transport
        failures: an envelope that cannot be sent is dropped, counted in
        ``stats.publish_failures`` and logged once per outage. Raises ``TypeError`` or
        ``ValueError`` only for invalid arguments (a bytes envelope, a non-empty channel).
        """

    @abc.abstractmethod
    def publish_blocking(self, channel: str, envelope: bytes) -> None:
        """Send ``envelope`` now, from a thread that runs no event loop; blocks until sent.

        Raises ``BrokerUnavailableError`` when the envelope cannot be handed to the backend
        (within bounded timeouts). Safe from any number of threads at once.
        """

    @abc.abstractmethod
    async def close(self) -> None:
        """Stop listening and close every connection. Idempotent; ``publish`` drops after."""

    async def drain(self, timeout: float) -> None:  # noqa: B027  (nothing to wait for by default)
        """Wait (at most ``timeout`` seconds) until what was published has been sent, so that
        envelopes published during a shutdown go out before ``close``. Loop thread."""

    # -- state, and helpers for backends ---------------------------------------------------

    @property
    def channels(self) -> frozenset[str]:
        """The channels subscribed to (and resubscribed after reconnections)."""
        return frozenset(self._channels)

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._closed

    def _begin_start(self, on_message: MessageCallback) -> None:
        """Check that ``start`` may run, and remember the callback."""
        if self._closed:
            raise RuntimeError(f"{self!r} is closed; create a new broker.")
        if self._started:
            raise RuntimeError(f"{self!r} is already started.")
        if not callable(on_message):
            raise TypeError(f"on_message should be callable, got {on_message!r}.")
        self._started = True
        self._on_message = on_message

    def _drop(self, count: int, reason: object) -> None:
        """Count ``count`` envelopes that could not be published; log only the first drop.

        A backend sets ``_drop_logged = False`` when its connection is back, so that each
        outage is logged once, not each envelope.
        """
        self.stats.publish_failures += count
        if not self._drop_logged:
            self._drop_logged = True
            logger.warning(
                "%s dropped published envelopes (%s); further drops are counted in "
                "stats.publish_failures, not logged, until it is connected again.",
                self.name,
                reason,
            )

    def _dispatch(self, channel: str, envelope: bytes) -> None:
        """Hand a received envelope to ``on_message`` (loop thread), unless unsubscribed."""
        callback = self._on_message
        if callback is None or self._closed or channel not in self._channels:
            return
        self.stats.received += 1
        try:
            callback(channel, envelope)
        except Exception:
            logger.exception("The broker's message callback failed on channel %r.", channel)


def check_channel(channel: object) -> str:
    """``channel`` if it is a non-empty string; ``TypeError``/``ValueError`` otherwise."""
    if not isinstance(channel, str):
        raise TypeError(f"A broker channel should be a string, got {channel!r}.")
    if not channel:
        raise ValueError("A broker channel should be a non-empty string.")
    return channel


def check_envelope(envelope: object) -> bytes:
    """``envelope`` if it is ``bytes``; ``TypeError`` otherwise."""
    if not isinstance(envelope, bytes):
        raise TypeError(f"A broker envelope should be bytes, got {type(envelope).__name__}.")
    return envelope


Batch = list[tuple[bytes, bytes]]
"""``(backend channel name, envelope)`` pairs, in publish order."""


class Outbox:
    """The ordered, bounded send queue of a networked broker, and the task that empties it.

    ``put`` (loop thread) queues an envelope; when ``size`` are already waiting, the oldest is
    dropped, counted in ``stats.publish_failures`` and logged once until the queue drains.
    ``run`` (the broker's sender task) hands what waits to ``send`` in batches of at most
    ``batch_size``, one batch at a time, so envelopes leave in publish order. ``send`` sends
    or raises: the batch is then counted as dropped (``Broker._drop``), never retried.
    """

    def __init__(
        self,
        broker: Broker,
        send: Callable[[Batch], Awaitable[None]],
        size: int,
        batch_size: int = 256,
    ) -> None:
        self.broker, self.send, self.size, self.batch_size = broker, send, size, batch_size
        self._queue: deque[tuple[bytes, bytes]] = deque()
        self._wakeup = asyncio.Event()
        self._overflow_logged = False
        self.sending = False

    def __len__(self) -> int:
        return len(self._queue)

    def put(self, name: bytes, envelope: bytes) -> None:
        if len(self._queue) >= self.size:
            self._queue.popleft()
            self.broker.stats.publish_failures += 1
            if not self._overflow_logged:
                self._overflow_logged = True
                logger.warning(
                    "%s send queue is full (%d envelopes): the oldest are dropped.",
                    self.broker.name,
                    self.size,
                )
        self._queue.append((name, envelope))
        self._wakeup.set()

    def clear(self) -> None:
        self._queue.clear()

    async def run(self) -> None:
        queue = self._queue
        while True:
            if not queue:
                self._overflow_logged = False
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch = [queue.popleft() for _ in range(min(self.batch_size, len(queue)))]
            self.sending = True
            try:
                await self.send(batch)
            except Exception as error:  # whatever failed, later envelopes still go out
                self.broker._drop(len(batch), error)
            else:
                self.broker.stats.published += len(batch)
            finally:
                self.sending = False
