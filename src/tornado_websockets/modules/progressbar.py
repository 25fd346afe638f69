"""``ProgressBar``: server-side progress shown live by the client's ModuleProgressBar.

Wire events, with ``<p>`` = ``module_progressbar`` or ``module_progressbar_<name>``:
``<p>_before_init``, ``<p>_init`` (``{"indeterminate": bool}`` plus ``min``, ``max``,
``current`` when determinate), ``<p>_after_init``, ``<p>_before_update``, ``<p>_update``
(``current`` when determinate, ``label`` when given), ``<p>_after_update``, ``<p>_done``.
A connecting client receives the init triple, and only that client.

Thread affinity: ``tick``, ``reset`` and the ``emit_*`` methods are safe from any thread of a
process running the server; updates from several threads reach clients in the order their
state changes happened.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

from .module import Module

if TYPE_CHECKING:
    from ..websockethandler import WebSocketHandler


class ProgressBar(Module):
    """A progression from ``min`` to ``max``; ``min == max`` makes it indeterminate.

    Raises ``ValueError`` when ``max < min``.
    """

    def __init__(
        self, name: str = "", min: int = 0, max: int = 100, indeterminate: bool = False
    ) -> None:
        super().__init__("progressbar_" + name if name else "progressbar")
        if max < min:
            raise ValueError(f"ProgressBar max ({max!r}) cannot be lower than its min ({min!r}).")
        self.min = min
        self.max = max
        self.current = min
        self.indeterminate = bool(indeterminate) or min == max
        # Reentrant: tick() holds it while calling emit_update()/emit_done(), so that updates
        # leave in the order the value changed even when several threads tick.
        self._lock = threading.RLock()

    def initialize(self) -> None:
        self.websocket.register("open", self._send_init_to_new_client)

    async def _send_init_to_new_client(self, socket: WebSocketHandler) -> None:
        self.emit_init(socket)

    def tick(self, label: str | None = None) -> None:
        """Add 1 (up to ``max``), emit the update triple, and ``done`` once at ``max``."""
        with self._lock:
            if not self.indeterminate and self.current < self.max:
                self.current += 1
            self.emit_update(label)
            if self.is_done():
                self.emit_done()

    def reset(self) -> None:
        """Set the progression back to ``min`` (emits nothing; call ``emit_init`` to show it)."""
        with self._lock:
            self.current = self.min

    def is_done(self) -> bool:
        """True when determinate and ``current`` has reached ``max``."""
        return not self.indeterminate and self.current >= self.max

    def _init_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"indeterminate": self.indeterminate}
        if not self.indeterminate:
            data.update(min=int(self.min), max=int(self.max), current=int(self.current))
        return data

    def emit_init(self, socket: WebSocketHandler | None = None) -> None:
        """Emit ``before_init``, ``init`` and ``after_init``, to ``socket`` or to every client."""
        with self._lock:
            data = self._init_data()
            if socket is None:
                self.emit("before_init")
                self.emit("init", data)
                self.emit("after_init")
            else:
                socket.emit(self.event_name("before_init"))
                socket.emit(self.event_name("init"), data)
                socket.emit(self.event_name("after_init"))

    def emit_update(self, label: str | None = None) -> None:
        """Emit ``before_update``, ``update`` (``current``, ``label``) and ``after_update``."""
        with self._lock:
            data: dict[str, Any] = {}
            if not self.indeterminate:
                data["current"] = self.current
            if label:
                data["label"] = label
            self.emit("before_update")
            self.emit("update", data)
            self.emit("after_update")

    def emit_done(self) -> None:
        """Emit ``done``."""
        self.emit("done")

    def mirror(self, event: str, payload: bytes) -> None:
        """Follow the bar's ``init`` and ``update`` emitted by another process (loop thread),
        so that a client connecting here is shown the same progression."""
        prefix = self.name + "_"
        if not event.startswith(prefix) or event[len(prefix) :] not in ("init", "update"):
            return
        data = json.loads(payload).get("data") or {}
        with self._lock:
            if event.endswith("_init"):
                self.indeterminate = bool(data.get("indeterminate", self.indeterminate))
                self.min = data.get("min", self.min)
                self.max = data.get("max", self.max)
            if "current" in data:
                self.current = data["current"]
