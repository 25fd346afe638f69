"""Exceptions raised by django-tornado-websockets.

The whole tree, in one place::

    TornadoWebSocketsError                 root: catch this to catch them all
     ├── NotCallableError (TypeError)      @ws.on / module.on got something that is not callable
     ├── InvalidHandlerError (TypeError)   a handler asks for a parameter we cannot inject
     ├── DuplicatePathError (ValueError)   no longer raised: a WebSocket declared on a used
     │                                     path replaces the older (PathRedeclaredWarning)
     ├── EmitHandlerError (RuntimeError)   an emit that cannot be delivered from this process:
     │                                     no server runs here and no broker is configured
     ├── PresenceUnavailableError          presence cannot be read from this process: no
     │   (RuntimeError)                    server here and no Redis, or Redis unreachable
     ├── ProtocolError                     a client frame that breaks the wire protocol; its
     │                                     ``message`` is the warning sent back to that client
     └── ClientError                       raise it in a handler to answer the client with your
                                           own message (warning or ack error), without a
                                           logged traceback

    PathRedeclaredWarning (UserWarning)    a WebSocket replaced an older one on the same path

The 0.2.x names still import, in the tree:

     ├── InvalidInstanceError (TypeError)  ws.bind(x) got something that is not a Module
     └── WebSocketEventAlreadyBinded       no longer raised: a second handler for an event
         (ValueError)                      replaces the first, with a logged warning

This module is stdlib only and is imported by every layer.
"""

from __future__ import annotations

from typing import Any


class TornadoWebSocketsError(Exception):
    """Root of every exception raised by this package."""


class NotCallableError(TornadoWebSocketsError, TypeError):
    """Raised by ``@WebSocket.on`` (and ``Module.on``) when given something not callable."""

    def __init__(self, value: Any) -> None:
        super().__init__(f"@on expects a function or a method, got {value!r}.")
        self.value = value


class InvalidHandlerError(TornadoWebSocketsError, TypeError):
    """A handler declares a required parameter other than ``self``, ``socket`` and ``data``."""


class DuplicatePathError(TornadoWebSocketsError, ValueError):
    """Two ``WebSocket`` applications on the same path: raised by 0.3.0 development versions.

    No longer raised: a second declaration replaces the first with a ``PathRedeclaredWarning``.
    Kept so that ``except DuplicatePathError`` still imports.
    """

    def __init__(self, path: str) -> None:
        super().__init__(
            f"A WebSocket is already declared on path {path!r}; each path serves one application."
        )
        self.path = path


class EmitHandlerError(TornadoWebSocketsError, RuntimeError):
    """An emit cannot be delivered from this process.

    Raised when no Tornado server runs in this process and no broker is configured to carry the
    emit to the processes that do (``TORNADO['broker']``).
    """


class PresenceUnavailableError(TornadoWebSocketsError, RuntimeError):
    """``WebSocket.presence`` cannot answer from this process.

    Raised when presence is read in a process without a server while ``TORNADO['broker']`` is
    not Redis (the in-memory store lives in the server's process), or when Redis cannot be read.
    """


class ProtocolError(TornadoWebSocketsError):
    """A client frame that does not follow the wire protocol.

    ``message`` is the text of the warning sent back to the client; ``ack_id`` is the ack id of
    the frame when one could be read, so that a waiting ``request()`` is answered too.
    """

    def __init__(self, message: str, ack_id: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.ack_id = ack_id


class ClientError(TornadoWebSocketsError):
    """Raise from a handler to send ``message`` to the client as a warning or an ack error.

    Unlike any other exception escaping a handler, it is not logged as a server error.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PathRedeclaredWarning(UserWarning):
    """A ``WebSocket`` was declared on a path that already had one, and replaced it.

    The message names both declarations (``file:line``). Expected in test suites that declare
    their applications in ``setUp`` (see ``tornado_websockets.testing.isolate_websockets``) and
    in reloaded modules; elsewhere it usually means two applications claim one path.
    """


class InvalidInstanceError(TornadoWebSocketsError, TypeError):
    """An object of the wrong class: ``WebSocket.bind`` takes a ``Module`` (0.2.x name)."""

    def __init__(self, value: Any, expected: str) -> None:
        super().__init__(f"Expected an instance of {expected}, got {value!r}.")
        self.value = value
        self.expected = expected


class WebSocketEventAlreadyBinded(TornadoWebSocketsError, ValueError):
    """0.2.x name, no longer raised: a second handler for an event replaces the first, with a
    logged warning. Kept so that code catching it still imports."""
