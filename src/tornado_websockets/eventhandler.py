"""``EventHandler``: a handler function and how to call it, worked out once at registration."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import eager
from .exceptions import InvalidHandlerError

if TYPE_CHECKING:
    from .websockethandler import WebSocketHandler

__all__ = ["EventHandler", "INJECTABLE", "name_of"]

INJECTABLE = ("self", "socket", "data")


class EventHandler:
    """A handler function with its injection plan, worked out once at registration.

    ``invoke`` calls it with the parameters it asked for by name: ``self`` (the application's
    ``context``), ``socket`` (the connection) and ``data`` (the event's data).
    """

    __slots__ = (
        "function", "event", "wants_self", "wants_socket", "wants_data", "is_async", "never_waits"
    )  # fmt: skip

    def __init__(self, event: str, function: Callable[..., Any]) -> None:
        self.event = event
        self.function = function
        # A callable object counts as async when its class's __call__ is.
        self.is_async = inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(
            type(function).__call__
        )
        # An async def that cannot wait: on Python 3.11 it runs without a task of its own.
        self.never_waits = eager.never_waits(function)
        wanted: set[str] = set()
        try:
            parameters = inspect.signature(function).parameters.values()
        except (TypeError, ValueError):  # builtins without a signature: pass nothing
            parameters = ()  # type: ignore[assignment]
        for parameter in parameters:
            if parameter.kind is parameter.VAR_KEYWORD:
                wanted.update(("socket", "data"))
            elif parameter.kind is parameter.VAR_POSITIONAL:
                continue
            elif parameter.name in INJECTABLE and parameter.kind is not parameter.POSITIONAL_ONLY:
                wanted.add(parameter.name)
            elif parameter.default is parameter.empty:
                raise InvalidHandlerError(
                    f"Handler {name_of(function)} of event {event!r} has a required parameter "
                    f"{parameter.name!r}; handlers may only ask for "
                    f"{', '.join(INJECTABLE)} (by keyword), or give other parameters defaults."
                )
        self.wants_self = "self" in wanted
        self.wants_socket = "socket" in wanted
        self.wants_data = "data" in wanted

    def invoke(self, context: Any, socket: WebSocketHandler, data: Any) -> Any:
        """Call the function; returns its result (a coroutine for ``async def`` handlers)."""
        kwargs: dict[str, Any] = {}
        if self.wants_self:
            kwargs["self"] = context
        if self.wants_socket:
            kwargs["socket"] = socket
        if self.wants_data:
            kwargs["data"] = data
        return self.function(**kwargs)

    def __repr__(self) -> str:
        return f"<EventHandler {self.event!r} → {name_of(self.function)}>"


def name_of(function: Callable[..., Any]) -> str:
    return str(getattr(function, "__qualname__", None) or repr(function))
