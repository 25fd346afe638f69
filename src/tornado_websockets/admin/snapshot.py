"""What one node reports to the live page: its paths, counters, rooms, broker and connections.

Built on demand only, while an admin page is open somewhere in the cluster: nothing here runs
on the send or receive path. ``node_snapshot`` reads connections, so it runs on the loop
thread; ``presence_snapshot`` calls the presence store's blocking API, so it runs in a worker
thread. Everything returned is plain JSON data, bounded by ``max_rows`` rows per list.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .. import cluster, runtime
from ..stats import COUNTERS, bytes_waiting
from ..websocket import websockets

if TYPE_CHECKING:
    from ..websocket import WebSocket
    from ..websockethandler import WebSocketHandler

__all__ = ["node_snapshot", "presence_snapshot", "watched_paths", "MAX_SEARCH_LENGTH"]

MAX_SEARCH_LENGTH = 100
"""Characters of a search term kept; the rest is cut."""


def watched_paths(internal: WebSocket) -> list[WebSocket]:
    """Every application of the process but the admin's own."""
    return [websocket for websocket in websockets() if websocket is not internal]


def node_snapshot(internal: WebSocket, searches: Iterable[str], max_rows: int) -> dict[str, Any]:
    """This node's figures; ``connections`` maps each search term to its matching rows.

    Loop thread. An empty term matches every connection; rows are cut at ``max_rows`` per term,
    ``matched`` saying how many there were.
    """
    paths = watched_paths(internal)
    return {
        "node": cluster.node_id(),
        "pid": os.getpid(),
        "time": time.time(),
        "broker": _broker_state(),
        "paths": [_path_figures(websocket, max_rows) for websocket in paths],
        "connections": {term: _rows(paths, term, max_rows) for term in set(searches)},
    }


def presence_snapshot(internal: WebSocket, max_rows: int) -> dict[str, Any]:
    """Presence of the paths that have it on (the store is cluster-wide: ask one node).

    Worker thread: the presence API blocks. A failing store is reported, not raised.
    """
    found: dict[str, Any] = {}
    for websocket in watched_paths(internal):
        if not getattr(websocket, "presence_enabled", False):
            continue
        try:
            stats = websocket.presence_stats()
            entries = websocket.presence()
        except Exception as error:  # the page says so; the other figures still show
            found[websocket.url_path] = {"error": str(error)}
            continue
        found[websocket.url_path] = {
            "clients": stats.get("clients", 0),
            "users": stats.get("users", 0),
            "entries": [_plain(entry) for entry in list(entries)[:max_rows]],
        }
    return found


def _plain(entry: Any) -> dict[str, str]:
    return {str(key): str(value) for key, value in dict(entry).items()}


def _broker_state() -> dict[str, Any] | None:
    run = runtime.current()
    broker = run.broker if run is not None else None
    if broker is None:
        return None
    stats = broker.stats
    return {
        "name": broker.name,
        "connected": stats.connected,
        "published": stats.published,
        "received": stats.received,
        "publish_failures": stats.publish_failures,
        "reconnects": stats.reconnects,
    }


def _path_figures(websocket: WebSocket, max_rows: int) -> dict[str, Any]:
    figures: dict[str, Any] = {name: getattr(websocket.stats, name) for name in COUNTERS}
    sizes = websocket.rooms.sizes()
    biggest = sorted(sizes.items(), key=lambda item: (-item[1], item[0]))[:max_rows]
    figures.update(
        path=websocket.url_path,
        bytes_waiting=sum(bytes_waiting(socket) for socket in websocket.handlers),
        rooms=[[name, count] for name, count in biggest],
        room_count=len(sizes),
    )
    return figures


def _rows(paths: list[WebSocket], term: str, max_rows: int) -> dict[str, Any]:
    needle = term.strip().lower()[:MAX_SEARCH_LENGTH]
    rows: list[dict[str, Any]] = []
    matched = 0
    for websocket in paths:
        for socket in websocket.handlers:
            name, key = _user_of(socket)
            if needle and needle not in name.lower() and needle != key:
                continue
            matched += 1
            if len(rows) < max_rows:
                rows.append(_row(websocket, socket, name, key))
    return {"rows": rows, "matched": matched}


def _user_of(socket: WebSocketHandler) -> tuple[str, str]:
    user = socket.user
    if not getattr(user, "is_authenticated", False):
        return "", ""
    return str(user.get_username()), str(user.pk)


def _row(websocket: WebSocket, socket: WebSocketHandler, name: str, key: str) -> dict[str, Any]:
    request = socket.request
    return {
        "id": cluster.socket_address(socket.id),
        "path": websocket.url_path,
        "user": name,
        "user_id": key,
        "remote": request.remote_ip,
        "origin": request.headers.get("Origin", ""),
        # When Tornado read the handshake request: the connection opened right after.
        "since": getattr(request, "_start_time", None),
        "rooms": sorted(socket.rooms),
        "waiting": bytes_waiting(socket),
    }
