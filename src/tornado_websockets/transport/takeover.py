"""Taking an accepted WebSocket connection off Tornado's ``IOStream``.

``TakeoverProtocol13`` is Tornado's ``WebSocketProtocol13`` up to the end of the upgrade:
Tornado reads the request, the handler's admission checks run, Tornado negotiates
permessage-deflate and the subprotocol, writes the 101 answer and calls ``open``. The 101
answer is written here instead when it is only the handler's headers and the upgrade's
(``answers_plainly``), the same bytes without ``RequestHandler.finish``. Where
Tornado would then start its frame-reading loop, the connection moves to an
``AsyncioConnection`` on the event loop's own transport, unless it has to stay:

- TLS terminated by this server (``certfile``): the socket carries TLS records, not frames;
- permessage-deflate negotiated: broadcasts write frames prepared once for every connection,
  uncompressed, which the compressed path does not do;
- the handler closed the connection in ``open``.

Those connections stay on Tornado's path, unchanged.

What Tornado writes from the 101 answer on (the answer, then anything ``open`` writes) is
held, in order, until the end of the loop iteration: a connection that moves hands it to its
transport, which sends it when connected, with the answers of the other upgrades of that
iteration; one that stays (or aborts, or waits in ``open``) sends it through Tornado's stream,
at the latest in the next iteration. Answers sent back to back find the peer still awake:
each one sent alone, between the Python work of two upgrades, woke a sleeping client, the
costliest system call of a handshake on a virtual machine. Once the socket is taken over, the
closed stream is let go (``_let_go_of``): Tornado would keep it for the life of the WebSocket.
Loop thread only.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
from typing import Any

from tornado.concurrent import Future
from tornado.iostream import IOStream, SSLIOStream, StreamClosedError
from tornado.log import access_log
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

    _held: _Held | None = None

    async def _accept_connection(self, handler: Any) -> None:
        stream = handler.request.connection.stream
        # TLS streams write at once: only plain ones (HeaderLimitedIOStream too) are held.
        plain = isinstance(stream, IOStream) and not isinstance(stream, SSLIOStream)
        if plain and not stream.closed():
            self._held = _Held(stream)
            if answers_plainly(self, handler):
                await self._accept_with_plain_answer(handler)
                return
        await super()._accept_connection(handler)

    async def _accept_with_plain_answer(self, handler: Any) -> None:
        """Tornado's ``_accept_connection`` without ``handler.finish()``: the 101 answer is
        written here, from the handler's headers, and the handler is finished the way a
        detached one is. ``finish`` would also flush through ``HTTP1Connection.write_headers``,
        run the (empty) output transforms, end the HTTP exchange and log it: 8 % of a
        handshake's instructions for an answer whose lines are known in advance."""
        headers = handler.request.headers
        offered = headers.get("Sec-WebSocket-Protocol")
        subprotocols = [s.strip() for s in offered.split(",")] if offered else []
        selected = self.selected_subprotocol = handler.select_subprotocol(subprotocols)
        if selected:
            assert selected in subprotocols
            handler.set_header("Sec-WebSocket-Protocol", selected)
        handler.set_status(101)
        lines = [b"HTTP/1.1 101 Switching Protocols"]
        # set_header has refused CR and LF in every value: the lines are safe to join.
        lines += [
            f"{name}: {value}".encode("latin1")
            for name, value in handler._headers.get_all()
            if name not in _REPRESENTATION_HEADERS
        ]
        lines += _UPGRADE_LINES
        # Spelled as Tornado's HTTPHeaders spells it: the answer is byte for byte Tornado's.
        lines.append(b"Sec-Websocket-Accept: " + self._challenge_response(handler).encode())
        assert self._held is not None
        self._held.stream.write(b"\r\n".join(lines) + b"\r\n\r\n")  # open since checked
        handler._headers_written = True
        if _logs_requests(handler):
            handler._log()
        handler.on_finish()
        self.stream = handler._detach_stream()  # finished; the request loop ends
        self.start_pinging()
        try:
            opened = handler.open(*handler.open_args, **handler.open_kwargs)
            if opened is not None:
                await opened
        except Exception:
            handler.log_exception(*sys.exc_info())
            self._abort()
            return
        await self._receive_frame_loop()

    def _abort(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            held.release()  # the answer goes out before the socket closes, as it did
        super()._abort()

    async def _receive_frame_loop(self) -> None:
        held, self._held = self._held, None
        if stays_on_tornado(self) is not None:
            if held is not None:
                held.release()
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
        if held is not None:
            # Before anything the handler writes from now on; sent once the transport exists.
            connection._outbox += held.take()  # type: ignore[operator]
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
        _let_go_of(handler, stream)
        self.stream = None  # type: ignore[assignment]  # this protocol object stays too
        try:
            await asyncio.get_running_loop().connect_accepted_socket(lambda: connection, sock)
        except OSError:
            sock.close()
            connection.connection_lost(None)


_UPGRADE_LINES = [b"Upgrade: websocket", b"Connection: Upgrade"]
# What RequestHandler.finish drops from a 1xx answer, which has no body.
_REPRESENTATION_HEADERS = frozenset({"Content-Encoding", "Content-Language", "Content-Type"})


def answers_plainly(protocol: WebSocketProtocol13, handler: Any) -> bool:
    """Whether ``handler``'s 101 answer is only its headers and the upgrade's: an HTTP/1.1
    request, no output transform (``compress_response``), no cookie set, no
    permessage-deflate to negotiate. Otherwise Tornado writes the answer, as it always did."""
    if handler.request.version != "HTTP/1.1" or handler._transforms:
        return False
    if hasattr(handler, "_new_cookie"):
        return False
    if protocol._compression_options is None:
        return True
    offers = protocol._parse_extensions_header(handler.request.headers)
    return not any(name == "permessage-deflate" for name, _ in offers)


def _logs_requests(handler: Any) -> bool:
    """Whether ``Application.log_request`` would do anything for this request: a
    ``log_function`` setting, or ``tornado.access`` enabled at INFO (a 101 is logged there)."""
    return "log_function" in handler.application.settings or access_log.isEnabledFor(logging.INFO)


def _let_go_of(handler: Any, stream: IOStream) -> None:
    """Drop the last references to a stream whose socket was taken over. Tornado's
    ``HTTP1ServerConnection`` (which ``socket.request`` keeps, as ``server_connection``) would
    hold the closed stream, its buffers and its attributes for the life of the WebSocket; its
    request loop has ended, so nothing reads it again."""
    server_connection: Any = getattr(handler.request, "server_connection", None)
    if getattr(server_connection, "stream", None) is stream:
        server_connection.stream = None


def _detach(stream: IOStream) -> socket.socket:
    """The stream's socket, the stream closed without closing it: unregistered from the loop,
    then replaced in the stream by a stand-in whose ``close`` closes nothing. Cheaper than a
    ``dup()`` and closing the stream's own descriptor (three system calls fewer a connection:
    ``fcntl``, ``ioctl``, ``close``), or than a new socket object for the same descriptor (its
    ``getsockname``), and no second descriptor, even briefly (one file descriptor fewer needed
    near ``RLIMIT_NOFILE``).
    """
    if stream.closed():  # closed while the 101 answer was being written
        raise StreamClosedError()
    sock = stream.socket
    stream.io_loop.remove_handler(sock)
    stream._state = None  # out of the loop already
    stream.socket = _TakenSocket(sock.fileno())  # type: ignore[assignment]
    stream.close()  # closes nothing (the stand-in's close): it runs the close callbacks
    return sock


class _TakenSocket:
    """What a stream holds once its socket is taken over: closing it closes nothing."""

    __slots__ = ("fd",)

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def fileno(self) -> int:
        return self.fd

    def close(self) -> None:
        pass


class _Held:
    """What Tornado writes to ``stream``, held until the end of the loop iteration: then
    written through the stream, in order, unless taken first (``take``). Meanwhile each write
    returns a done Future, as a write the kernel took at once does."""

    __slots__ = ("stream", "data", "_release", "_nodelay")

    def __init__(self, stream: IOStream) -> None:
        self.stream = stream
        self.data = bytearray()
        self._release: asyncio.Handle | None = None
        # Tornado turns Nagle off, then on again, around its answer: nothing is sent while
        # held, so only the last setting counts (two system calls a connection fewer).
        self._nodelay: bool | None = None
        stream.write = self._hold  # type: ignore[method-assign]
        stream.set_nodelay = self._set_nodelay  # type: ignore[method-assign]

    def _set_nodelay(self, value: bool) -> None:
        self._nodelay = value

    def _hold(self, data: bytes | memoryview) -> Future[None]:
        if self.stream.closed():
            self._restore()
            return self.stream.write(data)  # fails as it would have
        if self._release is None:
            self._release = asyncio.get_running_loop().call_soon(self.release)
        self.data += data
        written: Future[None] = Future()
        written.set_result(None)
        return written

    def take(self) -> bytes:
        """What is held, no longer to be written through the stream. (The transport that
        sends it turns Nagle off itself.)"""
        self._restore()
        data, self.data = bytes(self.data), bytearray()
        return data

    def release(self) -> None:
        """Write what is held through the stream, now; later writes go straight to it."""
        nodelay = self._nodelay
        data = self.take()
        if nodelay is not None:
            self.stream.set_nodelay(nodelay)
        if data and not self.stream.closed():
            try:
                self.stream.write(data)
            except StreamClosedError:
                pass  # the stream's close callbacks report it

    def _restore(self) -> None:
        if self._release is not None:
            self._release.cancel()
            self._release = None
        self.stream.__dict__.pop("write", None)
        self.stream.__dict__.pop("set_nodelay", None)
