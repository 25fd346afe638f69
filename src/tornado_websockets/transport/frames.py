"""What ``AsyncioConnection`` builds on: the ``websockets`` frame protocol as this server uses
it, and the handler interface it calls back.

Loop thread only.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from websockets.frames import Opcode
from websockets.protocol import OPEN, SERVER
from websockets.protocol import Protocol as FrameProtocol

__all__ = ["Frames", "Endpoint", "OP_CONT", "OP_TEXT", "OP_BINARY", "OP_PONG"]

# The websockets package logs every closed connection at INFO: not news for this server.
_frames_logger = logging.getLogger("tornado_websockets.transport.frames")
_frames_logger.setLevel(logging.WARNING)

OP_CONT, OP_TEXT, OP_BINARY, OP_PONG = Opcode.CONT, Opcode.TEXT, Opcode.BINARY, Opcode.PONG

# The same close frame on both paths for the same fault (see rfc6455.MaskedFramesOnly).
_REASONS = {"incorrect masking": "Unmasked frame"}


class Frames(FrameProtocol):
    """The ``websockets`` server-side frame protocol of an open connection, closing with the
    reasons Tornado's path gives."""

    def __init__(self, max_size: int | None) -> None:
        super().__init__(SERVER, state=OPEN, max_size=max_size, logger=_frames_logger)

    def fail(self, code: int, reason: str = "") -> None:
        super().fail(code, _REASONS.get(reason, reason))


class Endpoint(Protocol):
    """What the connection calls back: the ``WebSocketHandler``."""

    def on_message(self, message: str | bytes) -> Any: ...

    def on_pong(self, data: bytes) -> None: ...

    def on_ws_connection_close(self, close_code: int | None, close_reason: str | None) -> None: ...

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None: ...
