"""A lean WebSocket opener for the handshakes workload: connect, upgrade, close, nothing else.

A picows connection costs the load generator about three times what a raw asyncio protocol
does (on this machine: 85 % of its core for 3,600 handshakes a second, against 28 %), enough
to make the load generator, not the server, the limit. This one sends a request prepared
once, checks the ``101`` answer and its ``Sec-WebSocket-Accept``, does the Socket.IO namespace
connect where the wire needs it (``wire.SocketIoWire``), then sends a close frame and closes.

Client frames must be masked: a zero mask is a valid one and leaves the payload as it is.
"""

from __future__ import annotations

import asyncio
from typing import cast
from urllib.parse import urlsplit

from wire import EIO_OPEN, SIO_CONNECT

# RFC 6455's own example key and the accept value it yields: any fixed key is valid.
KEY = b"dGhlIHNhbXBsZSBub25jZQ=="
ACCEPT = b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
HEADER_END = b"\r\n\r\n"
CLOSE_FRAME = b"\x88\x82\x00\x00\x00\x00\x03\xe8"  # FIN + close, masked, code 1000
TEXT_OPCODE = 0x1


def masked_text_frame(payload: bytes) -> bytes:
    assert len(payload) < 126
    return bytes([0x80 | TEXT_OPCODE, 0x80 | len(payload)]) + b"\x00\x00\x00\x00" + payload


SIO_CONNECT_FRAME = masked_text_frame(SIO_CONNECT)


def upgrade_request(url: str) -> tuple[str, int, bytes]:
    """``(host, port, request)`` for a ws:// URL (its query string included)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    request = (
        (
            f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        ).encode()
        + b"Sec-WebSocket-Key: "
        + KEY
        + HEADER_END
    )
    return host, port, request


def server_frames(buffer: bytearray) -> list[bytes]:
    """Take the complete (unmasked) server frames off the front of ``buffer``: payloads."""
    payloads = []
    while len(buffer) >= 2:
        length, start = buffer[1] & 0x7F, 2
        if length == 126:
            length, start = int.from_bytes(buffer[2:4], "big"), 4
        elif length == 127:
            length, start = int.from_bytes(buffer[2:10], "big"), 10
        if len(buffer) < start + length:
            break
        payloads.append(bytes(buffer[start : start + length]))
        del buffer[: start + length]
    return payloads


class OpenAndClose(asyncio.Protocol):
    """One connection: ``done`` is set once it was usable (and is already being closed)."""

    def __init__(self, request: bytes, socketio: bool) -> None:
        self.request = request
        self.socketio = socketio
        self.upgraded = False
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods.
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(HEADER_END)
            if end < 0:
                return
            head = bytes(self.buffer[:end])
            del self.buffer[: end + len(HEADER_END)]
            if not head.startswith(b"HTTP/1.1 101") or ACCEPT not in head:
                self.fail(f"no WebSocket upgrade: {head[:200]!r}")
                return
            self.upgraded = True
            if not self.socketio:
                self.finish()
                return
        for payload in server_frames(self.buffer):
            if payload.startswith(SIO_CONNECT):
                self.finish()
                return
            if payload[:1] == EIO_OPEN:
                assert self.transport is not None
                self.transport.write(SIO_CONNECT_FRAME)

    def finish(self) -> None:
        assert self.transport is not None
        self.transport.write(CLOSE_FRAME)
        self.transport.close()
        if not self.done.done():
            self.done.set_result(None)

    def fail(self, why: str) -> None:
        if self.transport is not None:
            self.transport.close()
        if not self.done.done():
            self.done.set_exception(ConnectionError(why))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_exception(ConnectionError(f"closed during the handshake: {exc}"))


async def open_and_close(host: str, port: int, request: bytes, socketio: bool) -> None:
    loop = asyncio.get_running_loop()
    protocol = OpenAndClose(request, socketio)
    await loop.create_connection(lambda: protocol, host, port)
    await protocol.done
