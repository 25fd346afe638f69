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
            # The duplicate keeps the TCP connection open when the stream closes its own file
            # descriptor, which also unregisters it from Tornado's loop.
            sock = stream.socket.dup()
        except (StreamClosedError, OSError):
            stream.close()
            connection.connection_lost(None)
            return
        stream.close()
        connection.socket = sock  # the transport's own: a worker may write to it directly
        try:
            await asyncio.get_running_loop().connect_accepted_socket(lambda: connection, sock)
        except OSError:
            sock.close()
            connection.connection_lost(None)
