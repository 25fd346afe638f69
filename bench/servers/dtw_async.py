"""django-tornado-websockets with ``async def`` handlers (they run on the IOLoop).

Same work as ``raw_tornado.py``: ``message`` is echoed to its sender, ``broadcast`` is
emitted to every connection of the WebSocket, the sender included.

For the burst workload it also serves ``GET /burst?count=N&size=B``, a "view" that emits N
broadcasts of B bytes to ``/ws/bench`` from a worker thread and answers once it has; ``GET
/page``, answered on the loop; and ``/ws/bench_side``, a second application whose ``message``
is echoed (the bystander).

Usage: ``python bench/servers/dtw_async.py --port PORT [--redis-prefix PREFIX]
[--transport tornado|asyncio]`` (the library's default transport unless given; binds
127.0.0.1 only, serves ``/ws/bench``, exits 0 on SIGTERM or SIGINT; with the prefix, emits
to many sockets go through Redis too). No Django settings are needed.
"""

from __future__ import annotations

from typing import Any

import tornado.web
from dtw_server import serve_from_command_line
from tornado.ioloop import IOLoop

from tornado_websockets.websocket import WebSocket

ws = WebSocket("/bench")
side = WebSocket("/bench_side")


async def side_message(socket: Any, data: Any) -> None:
    socket.emit("message", data)


side.register("message", side_message)


def emit_burst(count: int, size: int) -> None:
    padding = "x" * size
    for i in range(count):
        ws.emit("burst", {"i": i, "pad": padding})


class BurstView(tornado.web.RequestHandler):
    async def get(self) -> None:
        count, size = int(self.get_argument("count")), int(self.get_argument("size"))
        await IOLoop.current().run_in_executor(None, emit_burst, count, size)
        self.write("sent")


class Page(tornado.web.RequestHandler):
    def get(self) -> None:
        self.write("page")


@ws.on
async def message(socket: Any, data: Any) -> None:
    socket.emit("message", data)


@ws.on
async def broadcast(socket: Any, data: Any) -> None:
    ws.emit("broadcast", data)


def main() -> None:
    serve_from_command_line(
        __doc__.splitlines()[0], handlers=[(r"/burst", BurstView), (r"/page", Page)]
    )


if __name__ == "__main__":
    main()
