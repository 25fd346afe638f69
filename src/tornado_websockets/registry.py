"""The declaration registry: which ``WebSocket`` application serves each ``/ws`` path.

``WebSocket(path)`` declares itself here (``declare``); the server's router reads the registry
on each handshake (``get_websocket``), and pings and closes the connections of every
application in ``serving_websockets()``, replaced or undeclared ones included until their last
connection closes. ``tornado_websockets.websocket`` re-exports the public functions.

Thread affinity: declarations happen at import time or on the loop thread (any thread for
reads); the retired list is guarded by a lock since pruning happens on the loop thread.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .exceptions import PathRedeclaredWarning

if TYPE_CHECKING:
    from .websocket import WebSocket

URL_PREFIX = "/ws"

_registry: dict[str, WebSocket] = {}
# Applications replaced or undeclared while they had open connections: those connections stay
# with the application they opened on until they close, and the server still pings and closes
# them (``serving_websockets``).
_retired: list[WebSocket] = []
_retired_lock = threading.Lock()  # declarations happen in any thread, pruning on the loop
_declaration_listeners: list[Callable[[WebSocket], None]] = []


def on_declared(listener: Callable[[WebSocket], None]) -> Callable[[], None]:
    """Call ``listener(ws)`` for each ``WebSocket`` declared from now on (in the declaring
    thread); returns a function that stops it."""
    _declaration_listeners.append(listener)
    return lambda: _declaration_listeners.remove(listener)


def get_websocket(url_path: str) -> WebSocket | None:
    """The application served on ``url_path`` (e.g. ``'/ws/echo'``), if any. Any thread."""
    return _registry.get(url_path)


def websockets() -> list[WebSocket]:
    """Every declared application, in declaration order."""
    return list(_registry.values())


def serving_websockets() -> list[WebSocket]:
    """The declared applications, then the replaced or undeclared ones that still have open
    connections: every application whose connections the server must ping and close."""
    with _retired_lock:
        _retired[:] = [websocket for websocket in _retired if websocket.handlers]
        retired = list(_retired)
    declared = list(_registry.values())
    return declared + [websocket for websocket in retired if websocket not in declared]


_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _caller_frame() -> Any:
    """The first frame outside this package: the code that declared the application."""
    frame: Any = sys._getframe(1)
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
    return frame


def normalize_path(path: Any) -> str:
    """``'echo'``, ``'/echo'`` and ``' echo '`` all give ``'/echo'``; non-strings: TypeError."""
    if not isinstance(path, str):
        raise TypeError(f"The path of a WebSocket should be a string, got {path!r}.")
    stripped: str = path.strip()
    return stripped if stripped.startswith("/") else "/" + stripped


def declare(websocket: WebSocket) -> None:
    """``WebSocket.declare``: serve ``websocket`` on its path, replacing (with a
    ``PathRedeclaredWarning``) and retiring the application declared there before."""
    previous = _registry.get(websocket.url_path)
    if previous is websocket:
        return
    if previous is not None:
        message = (
            f"WebSocket {websocket.url_path!r} declared at {websocket.declared_at} replaces "
            f"the one declared at {previous.declared_at}; connections open on the older one "
            "stay with it until they close."
        )
        filename, _, line = websocket.declared_at.rpartition(":")
        module = websocket._declaring_module
        warnings.warn_explicit(
            message,
            PathRedeclaredWarning,
            filename,
            int(line),
            module=module.get("__name__"),
            registry=module.setdefault("__warningregistry__", {}),
        )
        retire(previous)
    with _retired_lock:
        if websocket in _retired:
            _retired.remove(websocket)
    _registry[websocket.url_path] = websocket
    for listener in tuple(_declaration_listeners):
        listener(websocket)


def undeclare(websocket: WebSocket) -> None:
    """``WebSocket.undeclare``: stop serving ``websocket`` unless another one replaced it."""
    if _registry.get(websocket.url_path) is websocket:
        del _registry[websocket.url_path]
        retire(websocket)


def retire(websocket: WebSocket) -> None:
    """Keep ``websocket`` in ``serving_websockets()`` while it has open connections."""
    with _retired_lock:
        if websocket.handlers and websocket not in _retired:
            _retired.append(websocket)
