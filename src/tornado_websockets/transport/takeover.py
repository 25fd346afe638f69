"""Taking an accepted WebSocket connection off Tornado's ``IOStream``.

``TakeoverProtocol13`` is Tornado's ``WebSocketProtocol13`` up to the end of the upgrade:
Tornado reads the request, the handler's admission checks run, Tornado negotiates
permessage-deflate and the subprotocol, writes the 101 answer and calls ``open``. Where
Tornado would then start its frame-reading loop, the connection moves to an
``AsyncioConnection`` on the event loop's own transport, unless it has to stay:

- TLS terminated by this server (``certfile``): the socket carries TLS records, not frames;
- permessage-deflate negotiated: broadcasts write frames prepared once for every connection,
  uncompressed, which the compressed path does not do;
- the handler closed the connection in ``open``.

Those connections stay on Tornado's path, unchanged. Loop thread only.
"""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Any

from tornado.iostream import IOStream, SSLIOStream, StreamClosedError
from tornado.websocket import WebSocketProtocol13

from ..rfc6455 import MaskedFramesOnly
from .connection import AsyncioConnection

__all__ = ["TakeoverProtocol13", "stays_on_tornado"]


def stays_on_tornado(protocol: WebSocketProtocol13) -> str | None:
    """Why ``protocol``'s connection keeps Tornado's path, or ``None`` when it may leave."""
    stream = protocol.stream
    if isinstance(stream, SSLIOStream):
        return "TLS"
    if not isinstance(stream, IOStream) or stream.closed():
        return "closed"
    if protocol._compressor is not None or protocol._decompressor is not None:
        return "permessage-deflate"
    handler: Any = protocol.handler
    if handler.ws_connection is not protocol or protocol.is_closing():
        return "closed"
    return None


class TakeoverProtocol13(MaskedFramesOnly):
    """Tornado's protocol for the handshake; an ``AsyncioConnection`` for what follows. The
    connections that stay on Tornado's path keep refusing unmasked frames with 1002."""

    async def _receive_frame_loop(self) -> None:
        if stays_on_tornado(self) is not None:
            await super()._receive_frame_loop()
            return
        handler: Any = self.handler
        stream = self.stream
        assert isinstance(stream, IOStream)
        connection = AsyncioConnection(
            handler,
            self.params.max_message_size,
            stream.max_write_buffer_size,
            self.selected_subprotocol,
        )
        # From here on the handler writes into the connection, which keeps what it is given
        # until the transport exists: nothing may reach the old stream after its last bytes.
        handler.ws_connection = connection
        try:
            if stream.writing():
                await stream.write(b"")  # the 101 answer is out
            connection.leftover = bytes(stream._read_buffer)  # sent right after the upgrade
            sock = _detach(stream)
        except (StreamClosedError, OSError):
            stream.close()
            connection.connection_lost(None)
            return
        connection.socket = sock  # the transport's own: a worker may write to it directly
        try:
            await asyncio.get_running_loop().connect_accepted_socket(lambda: connection, sock)
        except OSError:
            sock.close()
            connection.connection_lost(None)


def _detach(stream: IOStream) -> socket.socket:
    """The stream's TCP connection as a new socket object, the stream closed without closing
    it: unregistered from the loop, then its file descriptor taken over. Cheaper than a
    ``dup()`` and closing the stream's own descriptor: three system calls fewer a connection
    (``fcntl``, ``ioctl``, ``close``), and no second descriptor, even briefly (one file descriptor
    fewer needed near ``RLIMIT_NOFILE``).
    """
    if stream.closed():  # closed while the 101 answer was being written
        raise StreamClosedError()
    old = stream.socket
    # First out of the loop's watch list: once detached, the old object no longer names it.
    stream.io_loop.remove_handler(old)
    family, kind, proto = old.family, old.type, old.proto
    fd = old.detach()
    try:
        sock = socket.socket(family, kind, proto, fileno=fd)
    except OSError:
        os.close(fd)  # the stream no longer owns it: nothing else would close it
        raise
    stream.close()  # closes nothing (its socket is detached): it runs the close callbacks
    return sock
