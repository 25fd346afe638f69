"""``Module``: a reusable piece bound to a ``WebSocket`` whose events share a name prefix.

A module named ``'foo'`` is ``module_foo``; its ``on`` registers ``module_foo_<function name>``
and its ``emit`` sends ``module_foo_<event>``. Subclasses implement ``initialize()``, called once
when the module is bound with ``ws.bind(module)``.

Thread affinity: bind and register at import time; ``emit`` follows ``WebSocket.emit`` (any
thread of a process running the server).
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ..exceptions import NotCallableError

if TYPE_CHECKING:
    from ..websocket import WebSocket

F = TypeVar("F", bound=Callable[..., Any])


class Module(abc.ABC):
    """Base class of modules. ``name`` becomes the prefix ``'module_' + name``."""

    def __init__(self, name: str = "") -> None:
        self.name = "module_" + name
        self._websocket: WebSocket | None = None
        self._pending: list[tuple[str, Callable[..., Any]]] = []

    @abc.abstractmethod
    def initialize(self) -> None:
        """Called once, right after the module is bound to its ``WebSocket``."""

    def attach(self, websocket: WebSocket) -> None:
        """Bind to ``websocket``; use ``websocket.bind(module)`` rather than calling this."""
        if self._websocket is not None and self._websocket is not websocket:
            raise ValueError(
                f"{type(self).__name__} {self.name!r} is already bound to "
                f"{self._websocket.url_path}; a module serves one WebSocket."
            )
        self._websocket = websocket
        for event, callback in self._pending:
            websocket.register(event, callback)
        self._pending.clear()
        self.initialize()

    @property
    def websocket(self) -> WebSocket:
        """The bound application; ``RuntimeError`` before ``ws.bind(module)``."""
        if self._websocket is None:
            raise RuntimeError(
                f"{type(self).__name__} {self.name!r} is not bound: call ws.bind(module) first."
            )
        return self._websocket

    @property
    def context(self) -> Any:
        return self.websocket.context

    @context.setter
    def context(self, value: Any) -> None:
        self.websocket.context = value

    def event_name(self, event: str) -> str:
        """The wire name of this module's ``event``: ``'<prefix>_<event>'``."""
        return f"{self.name}_{event}"

    def on(self, callback: F) -> F:
        """Like ``WebSocket.on``, with the module's prefix; the function itself is untouched.

        May be used before the module is bound: the handler is registered on binding.
        """
        if not callable(callback):
            raise NotCallableError(callback)
        event = self.event_name(callback.__name__)
        if self._websocket is None:
            self._pending.append((event, callback))
        else:
            self._websocket.register(event, callback)
        return callback

    def emit(self, event: str, data: Any = None) -> None:
        """Like ``WebSocket.emit``, with the module's prefix."""
        self.websocket.emit(self.event_name(event), data)

    def mirror(self, event: str, payload: bytes) -> None:  # noqa: B027  (optional hook)
        """Called on the loop for each emit of this application that another process made
        (``event`` and the encoded frame payload), so that a module can keep its state in step
        with the node that changed it. Does nothing by default."""
