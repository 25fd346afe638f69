"""What ``AsyncioConnection`` builds on: the ``websockets`` frame protocol as this server uses
it, and the handler interface it calls back.

Most reads hold one whole message: a client sends a message, then waits for what it gets back.
``Frames.whole_message`` takes that message out of such a read without the ``websockets``
parser, which is a chain of generators (the read's bytes fed to a buffer, the frame's header,
length, mask and payload each read through ``yield from``, a ``Frame`` made and checked): 6.5 µs
for a text message of 100 bytes on a machine where unmasking it with the same C function and
reading its header by hand takes 0.5 µs, and every echoed message waits for it. It does so only
when the result is the one the parser would give, and leaves everything else to the parser:
fragments, control frames, reads holding less or more than one frame, messages of 64 KiB or
more, frames the parser would refuse (unmasked, reserved bits set, past the size limit), and
any read while the parser is in the middle of a frame or of a fragmented message.

Loop thread only.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from websockets.frames import Opcode
from websockets.protocol import OPEN, SERVER
from websockets.protocol import Protocol as FrameProtocol
from websockets.streams import StreamReader

try:  # the parser's own unmasking, in C where websockets was built with its speedups
    from websockets.speedups import apply_mask
except ImportError:  # a build without them
    from websockets.utils import apply_mask

__all__ = ["Frames", "Endpoint", "OP_CONT", "OP_TEXT", "OP_BINARY", "OP_PONG"]

# The websockets package logs every closed connection at INFO: not news for this server.
_frames_logger = logging.getLogger("tornado_websockets.transport.frames")
_frames_logger.setLevel(logging.WARNING)

OP_CONT, OP_TEXT, OP_BINARY, OP_PONG = Opcode.CONT, Opcode.TEXT, Opcode.BINARY, Opcode.PONG

# The same close frame on both paths for the same fault (see rfc6455.MaskedFramesOnly).
_REASONS = {"incorrect masking": "Unmasked frame"}

# Where the parser waits between two frames: in its parse() generator, at the reader's
# at_eof() (websockets 13 to 17). Waiting anywhere else, it is in the middle of a frame.
_PARSE = FrameProtocol.parse.__code__
_AT_EOF = StreamReader.at_eof.__code__
# websockets 16 renamed the size limit and the size of a fragmented message received so far.
_NAMES = FrameProtocol.parse.__code__.co_names + FrameProtocol.recv_frame.__code__.co_names
_MESSAGE_LIMIT = "max_message_size" if "max_message_size" in _NAMES else "max_size"
_FRAGMENTED_SIZE = "current_size" if "current_size" in _NAMES else "cur_size"
# First byte of a final text or binary frame without reserved bits; the mask bit of the second.
_FINAL_TEXT, _FINAL_BINARY, _MASKED = 0x81, 0x82, 0x80


class Frames(FrameProtocol):
    """The ``websockets`` server-side frame protocol of an open connection, closing with the
    reasons Tornado's path gives."""

    def __init__(self, max_size: int | None) -> None:
        super().__init__(SERVER, state=OPEN, max_size=max_size, logger=_frames_logger)

    def whole_message(self, data: bytes) -> tuple[bytes, bool] | None:
        """The message ``data`` holds, unmasked, and whether it is binary, when ``data`` is
        exactly one final, masked text or binary frame of under 64 KiB within the size limit,
        and the parser waits between two frames with no fragmented message begun: what
        ``receive_data`` then ``events_received`` would give. Otherwise ``None``, having done
        nothing: hand ``data`` to ``receive_data``."""
        size = len(data)
        if size < 6:
            return None
        first = data[0]
        if first != _FINAL_TEXT and first != _FINAL_BINARY:
            return None
        second = data[1]
        if not second & _MASKED:
            return None  # the parser refuses it (1002)
        length = second & 0x7F
        start = 2
        if length == 126:
            length = int.from_bytes(data[2:4], "big")
            start = 4
        elif length == 127:
            return None
        if size != start + 4 + length:
            return None
        limit = getattr(self, _MESSAGE_LIMIT)
        if limit is not None and length > limit:
            return None  # the parser refuses it (1009)
        if not self._between_frames():
            return None
        return apply_mask(data[start + 4 :], data[start : start + 4]), first == _FINAL_BINARY

    def _between_frames(self) -> bool:
        """Whether the parser has no byte of a frame and no fragmented message begun."""
        parser: Any = self.parser  # a generator: its frame and what it waits in
        waiting = parser.gi_yieldfrom
        if parser.gi_code is not _PARSE or waiting is None or waiting.gi_code is not _AT_EOF:
            return False
        return getattr(self, _FRAGMENTED_SIZE) is None

    def fail(self, code: int, reason: str = "") -> None:
        super().fail(code, _REASONS.get(reason, reason))


class Endpoint(Protocol):
    """What the connection calls back: the ``WebSocketHandler``."""

    def on_message(self, message: str | bytes) -> Any: ...

    def on_pong(self, data: bytes) -> None: ...

    def on_ws_connection_close(self, close_code: int | None, close_reason: str | None) -> None: ...

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None: ...
