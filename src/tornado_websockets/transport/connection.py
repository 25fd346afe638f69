"""``AsyncioConnection``: one WebSocket connection driven by an asyncio ``Protocol``.

Once Tornado has accepted the upgrade, the connection leaves Tornado's ``IOStream``: its socket
is handed to the event loop's own transport (uvloop's, in C, when the loop is uvloop's), and
the frames it receives are parsed by the ``websockets`` package's sans-I/O ``Protocol`` (with
its C speedups for unmasking). Writes go straight into the transport: no Future, no loop
iteration per message. Replies written while the frames of a read are handled (an ``async
def`` handler that answers at once) are held in the outbox until the loop has handled every
read of its iteration, then written together (``held.py``).

The object stands in for Tornado's ``WebSocketProtocol13`` as the handler's ``ws_connection``
(``is_closing``, ``close``, ``write_message``, ``write_ping``) and as its ``stream``
(``write(frame)`` of a pre-framed message, raising ``StreamClosedError`` or
``StreamBufferFullError`` like ``IOStream.write``, and ``max_write_buffer_size``). It calls the
handler back with ``on_message(text | bytes)`` (a returned Future pauses reading until it is
done), ``on_pong(data)`` (both through ``MessageReader``, ``reading.py``) and, once the socket is
closed, ``on_ws_connection_close(code, reason)``.

Loop thread only, except ``send_from_thread``: a worker thread may write a pre-framed message
straight to the socket when nothing is waiting to be written before it (the transport's buffer
and the outbox are empty). Every write of the loop side, and the closing of the transport,
take the connection's lock, so that the two sides never write at the same time and no frame
follows a close frame. The socket is closed only after ``connection_lost`` (asyncio's and
uvloop's transports both call it first), which takes the lock too: a write from a worker never
reaches a closed, or reused, file descriptor.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections import deque
from typing import Any

from tornado.iostream import StreamBufferFullError, StreamClosedError
from tornado.websocket import WebSocketClosedError

from .frames import Endpoint, Frames
from .held import HeldReplies, held_replies, write_held
from .reading import MessageReader

__all__ = ["AsyncioConnection", "Endpoint", "CLOSE_TIMEOUT"]

logger = logging.getLogger("tornado_websockets")

CLOSE_TIMEOUT = 5.0
"""Seconds the peer has to answer a close frame (and to take what is still unsent) before the
socket is closed regardless, as Tornado does."""


class AsyncioConnection(MessageReader, asyncio.Protocol):
    """The asyncio side of one WebSocket connection; see the module docstring.

    Create it, make it the handler's ``ws_connection``, then hand it the socket with
    ``loop.connect_accepted_socket(lambda: connection, sock)``. Until the transport exists,
    writes are kept and sent first; set ``leftover`` to what Tornado had read past the handshake.
    """

    _compressor = None  # never compressed: compressed connections stay on Tornado's path
    _held_replies: HeldReplies  # the loop's, set by connection_made
    # Class-level defaults: an idle connection's instance dict stays small.
    _receiving = False  # within data_received: replies are held (corked)
    _corked = False  # replies held in the outbox until the iteration's reads are done
    _paused = False  # the transport asked to pause writing

    def __init__(
        self,
        endpoint: Endpoint,
        max_message_size: int | None,
        max_write_buffer_size: int | None,
        selected_subprotocol: str | None,
    ) -> None:
        self.endpoint = endpoint
        self.frames = Frames(max_message_size)
        self.max_write_buffer_size = max_write_buffer_size
        self.selected_subprotocol = selected_subprotocol
        self.transport: asyncio.Transport | None = None
        self.open = True  # False once a close frame was sent or received, or the socket lost
        self.lost = False
        # Frames written while the transport is above its high-water mark (or not there yet),
        # in one buffer: a client that is behind holds bytes, not an object per frame.
        self._outbox: bytearray | None = bytearray()
        self.leftover = b""  # set before the transport exists: handled first
        self._fragments: list[bytes] | None = None
        self._held: deque[Any] | None = None  # frames waiting while reading is paused
        self._eof_pending = False
        self._close_timer: asyncio.TimerHandle | None = None
        self.socket: socket.socket | None = None
        """The socket the transport drives (set before ``connect_accepted_socket``), for
        ``send_from_thread``."""
        self._lock = threading.RLock()  # the transport may call pause_writing within write
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- what the handler calls (ws_connection and stream) -------------------------------

    @property
    def stream(self) -> AsyncioConnection:
        return self

    def write(self, frame: bytes) -> None:
        """Write a framed data message. ``StreamClosedError`` once closing;
        ``StreamBufferFullError`` when it would hold more than ``max_write_buffer_size``."""
        if not self.open:
            raise StreamClosedError()
        limit = self.max_write_buffer_size
        with self._lock:
            outbox = self._outbox
            if outbox is not None:
                if limit is not None and self.buffered_bytes() + len(frame) > limit:
                    raise StreamBufferFullError("Reached maximum write buffer size")
                outbox += frame
                return
            transport: Any = self.transport
            if limit is not None and transport.get_write_buffer_size() + len(frame) > limit:
                raise StreamBufferFullError("Reached maximum write buffer size")
            if self._receiving:  # held until the iteration's reads are handled
                self._outbox = bytearray(frame)
                self._corked = True
                return
            transport.write(frame)

    def send_from_thread(self, frame: bytes) -> bool:
        """Write a framed data message from a thread other than the loop's, when nothing
        written before waits to be sent; returns False, having written nothing, otherwise (the
        caller then hands the frame to the loop). What the kernel does not take at once is
        kept in the outbox, before anything written after it, and handed to the transport on
        the loop. Any thread."""
        limit = self.max_write_buffer_size
        if limit is not None and len(frame) > limit:
            return False  # the loop's write closes the slow consumer
        with self._lock:
            transport = self.transport
            sock = self.socket
            if (
                not self.open
                or self.lost
                or transport is None
                or sock is None
                or self._outbox is not None
                or transport.is_closing()
                or transport.get_write_buffer_size()
            ):
                return False
            try:
                sent = sock.send(frame)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                return False  # the loop's write meets the error and closes the connection
            if sent < len(frame):
                self._outbox = bytearray(memoryview(frame)[sent:])
                assert self._loop is not None
                self._loop.call_soon_threadsafe(self.resume_writing)
        return True

    def writing(self) -> bool:
        """Always false: a write never waits here (``IOStream.writing``'s meaning)."""
        return False

    def buffered_bytes(self) -> int:
        """Bytes written and not yet taken by the kernel: the transport's and the outbox's."""
        held = len(self._outbox) if self._outbox is not None else 0
        if self.transport is not None:
            held += self.transport.get_write_buffer_size()
        return held

    def is_closing(self) -> bool:
        return not self.open

    @property
    def server_terminated(self) -> bool:
        """Whether this side sent its close frame (or the socket is gone), as in Tornado."""
        return self.lost or self.frames.close_sent is not None

    def closed(self) -> bool:
        return self.lost

    def write_message(self, message: str | bytes, binary: bool = False) -> asyncio.Future[None]:
        if not self.open:
            raise WebSocketClosedError()
        data = message.encode() if isinstance(message, str) else message
        limit = self.max_write_buffer_size
        # 14 bytes: the longest header of a server frame.
        if limit is not None and self.buffered_bytes() + len(data) + 14 > limit:
            raise StreamBufferFullError("Reached maximum write buffer size")
        if binary:
            self.frames.send_binary(data)
        else:
            self.frames.send_text(data)
        self._send_pending()
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    def write_ping(self, data: bytes) -> None:
        if not self.open:
            raise WebSocketClosedError()
        self.frames.send_ping(data)
        self._send_pending()

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        """Start the closing handshake; the socket is closed when the peer answers, or after
        ``CLOSE_TIMEOUT`` seconds."""
        if not self.open:
            return
        with self._lock:  # a frame being written from a worker goes before the close frame
            self.open = False
        if code is None and reason:
            code = 1000  # a reason needs a code, as Tornado sends it
        self.frames.send_close(code, reason or "")
        self._send_pending()
        self._arm_close_timer()

    def set_nodelay(self, value: bool) -> None:
        sock = self.transport.get_extra_info("socket") if self.transport else None
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1 if value else 0)

    def on_connection_close(self) -> None:
        """The handler gives up on the connection: close the socket now."""
        self.abort()

    def abort(self) -> None:
        with self._lock:
            self.open = False
            if self.transport is not None:
                self.transport.abort()
                return
        if not self.lost:
            self.connection_lost(None)

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: Any) -> None:  # uvloop's is no asyncio.Transport
        if self.lost:  # aborted while the socket was being handed over
            transport.abort()
            return
        self._loop = loop = asyncio.get_running_loop()
        self._held_replies = held_replies(loop)
        self.transport = transport
        self.resume_writing()
        if not self.open:
            self._arm_close_timer()
        if self._eof_pending:
            self._close_transport()
        leftover, self.leftover = self.leftover, b""
        if leftover:
            self.data_received(leftover)

    def data_received(self, data: bytes) -> None:
        frames = self.frames
        # A read of one whole message is taken without the parser (frames.py says when).
        message = frames.whole_message(data) if self._held is None else None
        if message is None:
            frames.receive_data(data)
        replies = self._held_replies
        if replies.unheld_reads:  # a lone connection: its replies are written as they come
            replies.unheld_reads -= 1
            self._take(message)
        else:
            self._receiving = True
            try:
                self._take(message)
            finally:
                self._receiving = False
            if self._corked:
                connections = replies.connections
                if not connections:
                    self._loop.call_soon(write_held, replies)  # type: ignore[union-attr]
                connections.append(self)
        self._send_pending()

    def uncork(self) -> None:
        """Write the replies held during this loop iteration's reads (unless the transport
        is paused: it then writes them when it resumes). Loop thread."""
        if self._corked:
            self._corked = False
            if not self._paused:
                self.resume_writing()

    def eof_received(self) -> bool | None:
        self.frames.receive_eof()
        self._deliver(self.frames.events_received())
        self._send_pending()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if self.lost:
            return
        with self._lock:  # a write from a worker has finished: the socket may be closed
            self.lost = True
            self.open = False
        self._held = None
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None
        received = self.frames.close_rcvd
        code = received.code if received is not None else None
        reason = received.reason if received is not None else None
        self.endpoint.on_ws_connection_close(code, reason)

    # -- inside ----------------------------------------------------------------------------

    def pause_writing(self) -> None:
        with self._lock:
            self._paused = True
            if self._outbox is None:
                self._outbox = bytearray()

    def resume_writing(self) -> None:
        with self._lock:
            self._paused = False
            outbox, self._outbox = self._outbox, None
            if outbox and self.transport is not None and not self.lost:
                self.transport.write(outbox)

    def _send_pending(self) -> None:
        """Write what the frame protocol produced (pongs, close frames, messages) after what
        was written before; an empty chunk is its signal to close the TCP connection, which
        waits for held messages."""
        frames = self.frames
        if not frames.writes:
            return
        with self._lock:
            for data in frames.data_to_send():
                if not data:
                    self.open = False
                    self._eof_pending = True
                elif self._outbox is not None:
                    self._outbox += data
                else:
                    assert self.transport is not None
                    self.transport.write(data)
        if self._eof_pending and not self._held:
            self._close_transport()

    def _close_transport(self) -> None:
        transport = self.transport
        if transport is None:
            return  # connection_made closes it
        self._eof_pending = False
        if not transport.is_closing():
            with self._lock:
                outbox, self._outbox = self._outbox, None
                if outbox:
                    transport.write(outbox)
                transport.close()  # after what is buffered is sent
                buffered = transport.get_write_buffer_size()
            if buffered:
                # Only then can the close wait (for a client that does not read): with nothing
                # buffered the socket is closed at once, and a timer per connection is saved.
                self._arm_close_timer()

    def _arm_close_timer(self) -> None:
        if self._close_timer is None and self.transport is not None and not self.lost:
            loop = asyncio.get_running_loop()
            self._close_timer = loop.call_later(CLOSE_TIMEOUT, self.abort)
