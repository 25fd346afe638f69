"""django-tornado-websockets with ``async def`` handlers (they run on the IOLoop).

Same work as ``raw_tornado.py``: ``message`` is echoed to its sender, ``broadcast`` is
emitted to every connection of the WebSocket, the sender included.

Usage: ``python bench/servers/dtw_async.py --port PORT`` (binds 127.0.0.1 only, serves
``/ws/bench``, exits 0 on SIGTERM or SIGINT). No Django settings are needed.
"""

from __future__ import annotations

import argparse
from typing import Any

from dtw_server import serve

from tornado_websockets.websocket import WebSocket

ws = WebSocket("/bench")


@ws.on
async def message(socket: Any, data: Any) -> None:
    socket.emit("message", data)


@ws.on
async def broadcast(socket: Any, data: Any) -> None:
    ws.emit("broadcast", data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    serve(parser.parse_args().port)


if __name__ == "__main__":
    main()
