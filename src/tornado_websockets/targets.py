"""Emit-target resolution: ``to=``, ``user=`` and ``exclude=`` of an emit, and ``emit(path, ...)``.

``split_targets`` and ``as_list`` turn an emit's targets into room names, connections and
lists; ``WebSocket.emit`` uses them. ``emit(path, ...)`` emits on the application declared on
``path`` in this process, or through the broker for code that has no ``WebSocket`` object at
hand; ``tornado_websockets.websocket`` re-exports it.

Thread affinity: pure functions, any thread; ``emit`` as ``WebSocket.emit`` (any thread).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import cluster
from .encoding import dumps
from .envelope import EMIT, Envelope
from .protocol import encode_event, normalize_emit_data
from .registry import URL_PREFIX, get_websocket, normalize_path
from .rooms import user_key

if TYPE_CHECKING:
    from .websockethandler import WebSocketHandler


def split_targets(to: Any) -> tuple[tuple[str, ...], tuple[WebSocketHandler, ...]]:
    rooms: list[str] = []
    sockets: list[WebSocketHandler] = []
    for target in as_list(to):
        if isinstance(target, str):
            rooms.append(target)
        elif hasattr(target, "send_frame"):
            sockets.append(target)
        else:
            raise TypeError(f"emit(to=...) takes room names and connections, got {target!r}.")
    return tuple(rooms), tuple(sockets)


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    return [value]


def emit(
    path: str,
    event: str,
    data: Any = None,
    *,
    to: Any = None,
    exclude: Any = None,
    user: Any = None,
) -> None:
    """``WebSocket.emit`` for the application declared on ``path`` (``'/echo'``), wherever it is.

    For code that has no ``WebSocket`` object at hand, such as a Celery task: when the
    application is not declared in this process, the emit goes to the processes that serve it,
    through the broker. Same arguments and errors as ``WebSocket.emit``.
    """
    url_path = URL_PREFIX + normalize_path(path)
    websocket = get_websocket(url_path)
    if websocket is not None:
        websocket.emit(event, data, to=to, exclude=exclude, user=user)
        return
    rooms, sockets = split_targets(to)
    if sockets or exclude is not None:
        raise TypeError(
            f"No WebSocket is declared on {url_path!r} in this process, so it has no "
            "connections to send to or exclude: target rooms or users."
        )
    payload = encode_event(event, normalize_emit_data(event, data), dumps)
    users = tuple(user_key(each) for each in as_list(user))
    broadcast = to is None and user is None
    envelope = Envelope(EMIT, cluster.node_id(), event, payload, broadcast, rooms, users)
    cluster.publish(url_path, envelope)
