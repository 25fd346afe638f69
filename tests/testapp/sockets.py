"""WebSocket applications reached by the views of the test project."""

import os

from tornado_websockets.modules import ProgressBar
from tornado_websockets.websocket import WebSocket

ws_views = WebSocket("/views")

# Used by tests that run this project in a separate process (limits, shutdown).
ws_limits = WebSocket("/limits")


@ws_limits.on
async def message(socket, data):
    socket.emit("message", data)


@ws_limits.on
async def join(socket, data):
    socket.join(data["room"])
    return sorted(socket.rooms)


@ws_limits.on
async def shout(data):
    ws_limits.emit("shout", data)


@ws_limits.on
def close(socket):
    print(f"close handler ran for socket {socket.id}", flush=True)


# Used by the scale-out tests: several processes of this project share one Redis.
ws_cluster = WebSocket("/cluster")
shared_bar = ProgressBar("shared", min=0, max=10)
ws_cluster.bind(shared_bar)


@ws_cluster.on
async def hello(socket):
    return {"pid": os.getpid(), "user": socket.user.get_username()}


@ws_cluster.on
async def join(socket, data):  # noqa: F811
    socket.join(data["room"])
    return sorted(socket.rooms)


@ws_cluster.on
async def broadcast(data):
    ws_cluster.emit("broadcast", data)


@ws_cluster.on
async def to_room(socket, data):
    exclude = socket if data.get("exclude_me") else None
    ws_cluster.emit("room", data, to=data["room"], exclude=exclude)


@ws_cluster.on
async def to_user(data):
    ws_cluster.emit("for_user", data, user=data["user"])


@shared_bar.on
def tick():
    shared_bar.tick()


@ws_limits.on
def fail():
    raise RuntimeError("this handler fails on purpose")
