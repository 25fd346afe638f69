"""django-tornado-websockets with plain ``def`` handlers (they run in the worker thread pool).

Same work as ``raw_tornado.py``: ``message`` is echoed to its sender, ``broadcast`` is
emitted to every connection of the WebSocket, the sender included. Each message pays the
hop to a worker thread and back, which is what a handler using the Django ORM pays.

Usage: ``python bench/servers/dtw_sync.py --port PORT [--redis-prefix PREFIX]
[--transport tornado|asyncio]`` (the library's default transport unless given; binds
127.0.0.1 only, serves ``/ws/bench``, exits 0 on SIGTERM or SIGINT; with the prefix, emits
to many sockets go through Redis too). No Django settings are needed.
"""

from __future__ import annotations

from typing import Any

from dtw_server import serve_from_command_line

from tornado_websockets.websocket import WebSocket

ws = WebSocket("/bench")


@ws.on
def message(socket: Any, data: Any) -> None:
    socket.emit("message", data)


@ws.on
def broadcast(socket: Any, data: Any) -> None:
    ws.emit("broadcast", data)


def main() -> None:
    serve_from_command_line(__doc__.splitlines()[0])


if __name__ == "__main__":
    main()
