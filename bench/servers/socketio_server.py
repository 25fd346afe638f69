"""python-socketio: an ``AsyncServer`` on aiohttp.

The same work as ``raw_tornado.py`` in Socket.IO's terms (events are ``42["name",data]``
frames over Engine.IO v4, see ``bench/wire.py``):

- ``message``: ``await sio.emit("message", data, to=sid)`` back to the sender;
- ``broadcast``: ``await sio.emit("broadcast", data)`` to every connected client, the sender
  included (python-socketio encodes the packet once for all of them).

Defaults otherwise (a ping every 25 s, as the library's server does). Usage:
``python bench/servers/socketio_server.py --port PORT`` (binds 127.0.0.1 only, serves
``/socket.io/``, exits 0 on SIGTERM or SIGINT).
"""

from __future__ import annotations

import asyncio
from typing import Any

import socketio
from aiohttp import web
from common import HOST, parse_server_args, until_terminated

sio = socketio.AsyncServer(async_mode="aiohttp")


@sio.on("message")  # type: ignore[untyped-decorator]
async def message(sid: str, data: Any) -> None:
    await sio.emit("message", data, to=sid)


@sio.on("broadcast")  # type: ignore[untyped-decorator]
async def broadcast(sid: str, data: Any) -> None:
    await sio.emit("broadcast", data)


async def serve(port: int) -> None:
    app = web.Application()
    sio.attach(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, HOST, port).start()
    try:
        await until_terminated()
    finally:
        await runner.cleanup()


def main() -> None:
    asyncio.run(serve(parse_server_args(__doc__.splitlines()[0]).port))


if __name__ == "__main__":
    main()
