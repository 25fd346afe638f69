"""This process as one node among many: its node id and its way to publish envelopes.

In a process that runs the server, envelopes go through the server's broker without blocking
(only when that broker reaches other processes: with the in-memory broker there is nobody to
tell). In a process without a server (a Celery worker, a management command), they go through a
broker built from ``TORNADO['broker']`` and published synchronously.

Thread affinity: every function is safe from any thread.
"""

from __future__ import annotations

import os
import threading
import uuid

from . import runtime
from .brokers import Broker, BrokerUnavailableError, MemoryBroker, create_broker
from .envelope import Envelope
from .exceptions import EmitHandlerError

__all__ = ["node_id", "publish", "is_distributed", "socket_address"]

_node_id: str | None = None
_standalone: Broker | None = None
_lock = threading.Lock()


def node_id() -> str:
    """A random id of this process, new in each forked child."""
    global _node_id
    if _node_id is None:
        _node_id = uuid.uuid4().hex[:12]
    return _node_id


def _forget_after_fork() -> None:
    global _node_id, _standalone
    _node_id = None
    _standalone = None


os.register_at_fork(after_in_child=_forget_after_fork)


def socket_address(socket_id: int) -> str:
    """The cluster-wide name of a connection of this process."""
    return f"{node_id()}:{socket_id}"


def is_distributed(broker: Broker | None) -> bool:
    """Whether ``broker`` reaches other processes."""
    return broker is not None and not isinstance(broker, MemoryBroker)


def publish(channel: str, envelope: Envelope) -> None:
    """Send ``envelope`` to the other nodes.

    Raises ``EmitHandlerError`` only without a server in this process and without a broker
    that can carry it (the in-memory default, or an unreachable Redis).
    """
    run = runtime.current()
    if run is not None:
        broker = run.broker
        if broker is None:
            return
        runtime.on_loop(run, broker.publish, channel, envelope.encode())
        return
    try:
        _standalone_broker().publish_blocking(channel, envelope.encode())
    except BrokerUnavailableError as error:
        raise EmitHandlerError(f"{runtime.NO_SERVER_MESSAGE} ({error})") from error


def _standalone_broker() -> Broker:
    global _standalone
    with _lock:
        if _standalone is None:
            from django.conf import settings

            if not settings.configured:
                raise EmitHandlerError(runtime.NO_SERVER_MESSAGE)
            from .conf import load

            _standalone = create_broker(load().broker)
        return _standalone
