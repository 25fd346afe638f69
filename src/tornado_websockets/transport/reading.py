"""``MessageReader``: how ``AsyncioConnection`` hands what it reads to its endpoint.

Whole messages (a read ``Frames.whole_message`` took, or frames the parser made, fragments put
back together) go to the endpoint's ``on_message``; pongs to ``on_pong``. A message whose
handling returns a Future pauses reading: the frames already read wait in ``_held`` until it is
done. A text message that is not UTF-8 closes the connection with 1007.

Loop thread only.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from .frames import OP_BINARY, OP_CONT, OP_PONG, OP_TEXT, Endpoint, Frames

__all__ = ["MessageReader"]

_INVALID_DATA = 1007


class MessageReader:
    """Mixed into ``AsyncioConnection``: the messages it reads, handed to its endpoint."""

    endpoint: Endpoint
    frames: Frames
    transport: Any
    open: bool
    lost: bool
    _held: deque[Any] | None
    _fragments: list[bytes] | None
    _eof_pending: bool
    _binary = False

    def _send_pending(self) -> None:
        raise NotImplementedError  # AsyncioConnection's

    def _close_transport(self) -> None:
        raise NotImplementedError  # AsyncioConnection's

    def _arm_close_timer(self) -> None:
        raise NotImplementedError  # AsyncioConnection's

    def abort(self) -> None:
        raise NotImplementedError  # AsyncioConnection's

    def _take(self, message: tuple[bytes, bool] | None) -> None:
        """Hand the endpoint the read's message (``whole_message``'s), or else what the parser
        made of the read."""
        if message is None:
            self._deliver(self.frames.events_received())
            return
        waiting = self._handle_message(*message)
        if waiting is not None:
            self._pause(waiting, [])

    def _deliver(self, events: list[Any]) -> None:
        held = self._held
        if held is not None:
            held.extend(events)
            return
        for index, frame in enumerate(events):
            waiting = self._handle(frame)
            if waiting is not None:
                self._pause(waiting, events[index + 1 :])
                return

    def _handle(self, frame: Any) -> Any:
        """Hand one frame to the endpoint; returns what to wait for before the next one."""
        opcode = frame.opcode
        if opcode is OP_TEXT or opcode is OP_BINARY or opcode is OP_CONT:
            if not frame.fin:
                if self._fragments is None:
                    self._fragments = []
                    self._binary = opcode is OP_BINARY
                self._fragments.append(frame.data)
                return None
            if self._fragments is not None:
                self._fragments.append(frame.data)
                data = b"".join(self._fragments)
                binary = self._binary
                self._fragments = None
            else:
                data = frame.data
                binary = opcode is OP_BINARY
            return self._handle_message(data, binary)
        if opcode is OP_PONG:
            self.endpoint.on_pong(frame.data)
        return None

    def _handle_message(self, data: bytes, binary: bool) -> Any:
        """Hand one whole message to the endpoint; returns what to wait for before the next."""
        if binary:
            return self._call(data)
        try:
            text = data.decode()
        except UnicodeDecodeError:
            self._fail(_INVALID_DATA, "invalid UTF-8")
            return None
        return self._call(text)

    def _call(self, message: str | bytes) -> Any:
        if self.lost:
            return None
        try:
            return self.endpoint.on_message(message)
        except Exception as error:
            self.endpoint.log_exception(type(error), error, error.__traceback__)
            self.abort()
            return None

    def _fail(self, code: int, reason: str) -> None:
        if self.open:
            self.frames.fail(code, reason)
            self.open = False
            self._send_pending()
            self._arm_close_timer()

    def _pause(self, waiting: Any, rest: list[Any]) -> None:
        """Stop reading until ``waiting`` (the endpoint's Future) is done."""
        self._held = deque(rest)
        if self.transport is not None:
            self.transport.pause_reading()
        asyncio.ensure_future(waiting).add_done_callback(self._resume)

    def _resume(self, _done: Any) -> None:
        held = self._held
        if held is None:  # lost meanwhile
            return
        self._held = None
        while held:
            waiting = self._handle(held.popleft())
            if waiting is not None:
                self._pause(waiting, list(held))
                return
        if self._eof_pending:
            self._close_transport()
        elif self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()
