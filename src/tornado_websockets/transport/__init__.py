"""The asyncio transport: WebSocket connections driven past the handshake without ``IOStream``.

``TORNADO['transport']`` picks the path of every accepted connection: ``'tornado'`` keeps
Tornado's ``IOStream`` and frame loop; ``'asyncio'`` hands the socket to an asyncio
``Protocol`` (``AsyncioConnection``) with the ``websockets`` package's sans-I/O framing, except
for the connections listed in ``takeover`` (TLS inside the server, permessage-deflate).
``loops`` picks the event loop (``TORNADO['event_loop']``): uvloop with the asyncio transport
when it is installed.

The ``websockets`` package is a dependency (the asyncio transport is the default); the
``[speed]`` extra adds uvloop. ``connection`` and ``takeover`` import ``websockets``, so import
them only when the asyncio transport is configured (``conf`` checks that it is installed).
"""

from __future__ import annotations

from .loops import event_loop_name, new_event_loop, uvloop_installed, wants_uvloop

__all__ = ["event_loop_name", "new_event_loop", "uvloop_installed", "wants_uvloop", "TRANSPORTS"]

TRANSPORTS = ("tornado", "asyncio")
"""The values of ``TORNADO['transport']``."""
