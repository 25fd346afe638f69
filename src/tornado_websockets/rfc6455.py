"""Tornado's RFC 6455 protocol, with the rule it leaves to servers: client frames are masked.

RFC 6455 §5.1: "The server MUST close the connection upon receiving a frame that is not masked."
Tornado reads unmasked client frames as they are. ``MaskedFramesOnly`` looks at the header of
every frame Tornado reads and, for an unmasked one, starts the closing handshake with 1002:
from then on the connection hands no frame to the application (``WebSocketHandler.on_message``
drops what arrives on a closing connection), and Tornado ends the TCP connection when the
client answers the close or after its closing timeout.

Loop thread only, like the Tornado object it extends.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from tornado.websocket import WebSocketProtocol13

from .protocol import PROTOCOL_ERROR

__all__ = ["MaskedFramesOnly"]

_MASK_BIT = 0x80


class MaskedFramesOnly(WebSocketProtocol13):
    """``WebSocketProtocol13`` that closes with 1002 on an unmasked client frame."""

    # Reads left in the current frame after its header: 0 means the next read is a header.
    _reads_left = 0

    def _read_bytes(self, n: int) -> Coroutine[Any, Any, bytes]:
        if self._reads_left:
            self._reads_left -= 1
            return super()._read_bytes(n)
        return self._read_header(n)

    async def _read_header(self, n: int) -> bytes:
        header = await super()._read_bytes(n)
        masked = header[1] & _MASK_BIT
        # Tornado reads, after the two header bytes: the extended length (lengths 126 and 127),
        # the mask (masked frames), then the payload. When it stops early, it aborts.
        self._reads_left = ((header[1] & 0x7F) >= 126) + bool(masked) + 1
        if not masked and not self.server_terminated:
            self.close(PROTOCOL_ERROR, "Unmasked frame")
        return header
