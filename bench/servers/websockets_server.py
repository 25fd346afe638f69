"""The ``websockets`` library's asyncio server, with its ``broadcast()``.

The same work as ``raw_tornado.py``, the way the ``websockets`` documentation writes it:

- ``message``: json-decode, ``await websocket.send(json.dumps(reply))`` to the sender;
- ``broadcast``: encode ``{"event": "broadcast", "data": data}`` once and
  ``websockets.broadcast()`` it to every open connection, the sender included.

Defaults otherwise (a ping every 20 s). Usage: ``python bench/servers/websockets_server.py
--port PORT`` (binds 127.0.0.1 only, serves ``/ws/bench``, exits 0 on SIGTERM or SIGINT).
"""

from __future__ import annotations

import asyncio
import json
from http import HTTPStatus
from typing import Any

from common import HOST, parse_server_args, until_terminated
from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.http11 import Request, Response

PATH = "/ws/bench"
CONNECTIONS: set[ServerConnection] = set()


def only_the_bench_path(connection: ServerConnection, request: Request) -> Response | None:
    if request.path != PATH:
        return connection.respond(HTTPStatus.NOT_FOUND, "Not found\n")
    return None


async def handler(websocket: ServerConnection) -> None:
    CONNECTIONS.add(websocket)
    try:
        async for message in websocket:
            try:
                frame: Any = json.loads(message)
            except ValueError:
                continue
            if not isinstance(frame, dict):
                continue
            event, data = frame.get("event"), frame.get("data") or {}
            if event == "message":
                await websocket.send(json.dumps({"event": "message", "data": data}))
            elif event == "broadcast":
                broadcast(CONNECTIONS, json.dumps({"event": "broadcast", "data": data}))
    finally:
        CONNECTIONS.discard(websocket)


async def run(port: int) -> None:
    async with serve(handler, HOST, port, process_request=only_the_bench_path):
        await until_terminated()


def main() -> None:
    asyncio.run(run(parse_server_args(__doc__.splitlines()[0]).port))


if __name__ == "__main__":
    main()
