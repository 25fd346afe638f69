"""``FrameWriter``: the write side of a connection, mixed into ``WebSocketHandler``.

Frames are written straight to the connection's stream, already framed, so that a broadcast
frames its payload once for every recipient (``send_frame``). While the client is behind (a
write still waits for it), later frames are coalesced into one buffer, the outbox, written when
that write is done: what a slow client holds is its bytes, without a write object per frame,
and is bounded by ``max_queued_bytes`` whatever the frame size; past it, the connection is
closed with ``SLOW_CONSUMER``. A connection that negotiated compression falls back to
Tornado's ``write_message``.

Frames emitted by other threads (plain handlers, views) reach the loop in order with what each
thread sent before; the reply of a plain handler to its own client is written from its worker
thread when nothing must go before it. What threads hand over and the loop has not written yet
counts against ``max_queued_bytes`` too.

Loop thread only, except ``_send_from_any_thread`` (any thread).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from typing import Any

import tornado.websocket
from tornado.iostream import StreamBufferFullError, StreamClosedError

from . import runtime
from .dispatch import Dispatcher
from .protocol import SLOW_CONSUMER

__all__ = ["FrameWriter"]

logger = logging.getLogger("tornado_websockets")

_handed_lock = threading.Lock()
"""Guards every connection's ``_handed_bytes`` (taken once per frame a thread hands over)."""


class FrameWriter(Dispatcher, tornado.websocket.WebSocketHandler):
    """Writes pre-framed messages, coalescing them while the client is behind."""

    _outbox: bytearray | None = None
    _in_flight = 0
    _handed_bytes = 0
    """Bytes of frames other threads handed to the loop for this client and the loop has not
    written yet. Under ``_handed_lock``."""
    _handed_over_limit = False

    def send_frame(self, frame: bytes, parts: Sequence[bytes] | None = None) -> bool:
        """Write an already framed message (``protocol.text_frame``); with ``parts``, ``frame``
        is their concatenation, a run of framed messages written at once (one system call for
        the run). Loop thread only.

        Returns False, without raising, when the connection is closed or closing.
        """
        connection = self.ws_connection
        if connection is None or connection.is_closing():
            return False
        # Tornado keeps these attributes on its protocol object; when they are missing (another
        # Tornado version) or compression was negotiated, take the regular, slower path.
        stream = getattr(connection, "stream", None)
        try:
            if stream is None or getattr(connection, "_compressor", True) is not None:
                for part in parts or (frame,):
                    self.write_message(_payload_of(part))
            else:
                self._write_coalesced(stream, frame)
        except (tornado.websocket.WebSocketClosedError, StreamClosedError):
            return False
        except StreamBufferFullError:
            self._close_slow_consumer(stream)
            return False
        self.websocket.stats.messages_sent += len(parts) if parts else 1
        return True

    # -- the outbox: what a slow client holds ------------------------------------------------

    def _write_coalesced(self, stream: Any, frame: bytes | bytearray) -> None:
        """Write ``frame`` to ``stream``; while an earlier write still waits for the client,
        append it to the outbox instead. Raises ``StreamBufferFullError`` past
        ``max_queued_bytes`` held (the write waited for and the outbox), ``StreamClosedError``.
        """
        outbox = self._outbox
        if outbox is None:
            future = stream.write(frame)
            if stream.writing():
                self._wait_for_client(future, len(frame))
            return
        if self._in_flight + len(outbox) + len(frame) > self._runtime.config.max_queued_bytes:
            raise StreamBufferFullError("outbox full")
        outbox += frame

    def _wait_for_client(self, write: asyncio.Future[None], size: int) -> None:
        self._outbox = bytearray()
        self._in_flight = size
        write.add_done_callback(self._on_client_caught_up)

    def _on_client_caught_up(self, write: asyncio.Future[None]) -> None:
        outbox, self._outbox, self._in_flight = self._outbox, None, 0
        if not outbox or write.cancelled() or write.exception() is not None or self.closed:
            return
        stream = self.ws_connection.stream  # type: ignore[union-attr]
        try:
            self._write_coalesced(stream, outbox)
        except StreamClosedError:
            pass
        except StreamBufferFullError:
            self._close_slow_consumer(stream)

    def _flush_outbox(self) -> None:
        """Hand what the outbox holds to the stream now (before a close frame). Loop thread."""
        outbox, self._outbox = self._outbox, None
        stream = getattr(self.ws_connection, "stream", None)
        if outbox and stream is not None and not self.closed:
            try:
                stream.write(outbox)
            except (StreamClosedError, StreamBufferFullError):
                pass

    def _close_slow_consumer(self, stream: Any) -> None:
        logger.warning(
            "Closing %r with %d: more than TORNADO['max_queued_bytes'] (%d bytes) unsent.",
            self,
            SLOW_CONSUMER,
            self._runtime.config.max_queued_bytes,
        )
        self.websocket.stats.slow_consumer_disconnects += 1
        self._outbox = None
        stream.max_write_buffer_size = None  # room for the close frame
        super().close(SLOW_CONSUMER, "Slow consumer")

    # -- outbound frames ---------------------------------------------------------------------

    def _send_from_any_thread(self, frame: bytes) -> None:
        """Send a framed message to this client, in order with what this thread sent before.
        Any thread."""
        run = self._runtime
        thread = threading.get_ident()
        if thread == run.thread_id:
            self._send_in_order(frame)
        elif thread != self._handler_thread or not self._send_directly(frame):
            # A thread can emit faster than the loop writes: what it hands over counts against
            # max_queued_bytes as well, or the loop's callback queue would hold it unbounded.
            size = len(frame)
            with _handed_lock:
                refused = self._handed_bytes + size > run.config.max_queued_bytes
                first_refusal = refused and not self._handed_over_limit
                if refused:
                    self._handed_over_limit = True
                else:
                    self._handed_bytes += size
            if not refused:
                runtime.on_loop(run, self._send_handed, frame)
            elif first_refusal:
                runtime.on_loop(run, self._close_for_handed_backlog)

    def _send_handed(self, frame: bytes) -> None:
        """Write a frame another thread handed over. Loop thread."""
        with _handed_lock:
            self._handed_bytes -= len(frame)
        self._send_in_order(frame)

    def _close_for_handed_backlog(self) -> None:
        """Close with ``SLOW_CONSUMER``: threads emitted more than the client takes. Loop."""
        if self.closed:
            return
        logger.warning(
            "Closing %r with %d: more than TORNADO['max_queued_bytes'] (%d bytes) handed over "
            "by other threads and not sent yet.",
            self,
            SLOW_CONSUMER,
            self._runtime.config.max_queued_bytes,
        )
        self.websocket.stats.slow_consumer_disconnects += 1
        self.close(SLOW_CONSUMER, "Slow consumer")

    def _send_directly(self, frame: bytes) -> bool:
        """Write ``frame`` from the worker thread running this connection's plain handler,
        when nothing that must reach the client before it waits; returns False otherwise.

        Waiting first would be: a callback this thread handed to the loop and the loop has not
        run (an earlier emit, broadcast or close of this thread), work of this connection the
        loop has not finished (an answer to an earlier refused frame, an ``async def`` handler
        of an earlier message, which may not have started yet), anything in the application's
        fan-out queue (an ack or a broadcast that came before), bytes the connection has not
        sent yet (checked by the connection under its lock). A frame from another thread has
        no order with this one (docs/topics/threading.md). Worker thread.
        """
        send = getattr(getattr(self, "ws_connection", None), "send_from_thread", None)
        if (
            send is None
            or self._loop_pending
            or runtime.hops_waiting()
            or self.websocket.fanout.waiting
        ):
            return False
        if not send(frame):
            return False
        self._sent_directly += 1
        return True

    @property
    def closed(self) -> bool:
        """Whether the connection is closed or closing."""
        connection = self.ws_connection
        return connection is None or connection.is_closing()


def _payload_of(frame: bytes) -> bytes:
    """Strip the header ``text_frame`` added."""
    length = frame[1] & 0x7F
    return frame[2 + {126: 2, 127: 8}.get(length, 0) :]
