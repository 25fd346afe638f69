"""django-tornado-websockets with message history on: ``dtw_async.py`` with
``WebSocket('/bench', history=100)``, so that every broadcast is stored (in memory, or in Redis
Streams with ``--redis-prefix``) before it is fanned out with its offset.

Usage: ``python bench/servers/dtw_history.py --port PORT [--redis-prefix PREFIX]`` (binds
127.0.0.1 only, serves ``/ws/bench``, exits 0 on SIGTERM or SIGINT). No Django settings.
"""

from __future__ import annotations

from typing import Any

from dtw_server import serve_from_command_line

from tornado_websockets.websocket import WebSocket

ws = WebSocket("/bench", history=100, history_ttl=300)


@ws.on
async def message(socket: Any, data: Any) -> None:
    socket.emit("message", data)


@ws.on
async def broadcast(socket: Any, data: Any) -> None:
    ws.emit("broadcast", data)


def main() -> None:
    serve_from_command_line(__doc__.splitlines()[0])


if __name__ == "__main__":
    main()
