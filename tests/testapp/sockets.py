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


# Used by the inbound-queue, slow-consumer and shutdown tests (separate processes).


@ws_limits.on
def hold(data):
    """Block this connection's plain handlers until the test writes a byte to its port."""
    import socket

    with socket.create_connection(("127.0.0.1", data["port"]), timeout=60) as release:
        release.settimeout(60)
        release.recv(1)


@ws_limits.on
def work(socket, data):
    """Count the messages handled, checking they come in the order sent."""
    handled = socket.state.get("handled", 0)
    if data["n"] != handled:
        print(f"out of order: {data['n']} after {handled}", flush=True)
    socket.state["handled"] = handled + 1


@ws_limits.on
def tally(socket):
    return socket.state.get("handled", 0)


@ws_limits.on
def counted(data):
    print(f"counted {data['n']}", flush=True)


@ws_limits.on
async def my_id(socket):
    return socket.id


@ws_limits.on
async def open_ids():
    return [s.id for s in ws_limits]


@ws_limits.on
async def flood_others(socket, data):
    """Emit ``data.n`` small frames to every other connection."""
    for other in ws_limits:
        if other is not socket:
            for i in range(data["n"]):
                other.emit("t", {"i": i % 10})


@ws_limits.on
def flood_self(socket, data):
    """Emit ``data.n`` frames of ``data.size`` bytes to this connection, from a worker thread."""
    padding = "z" * data["size"]
    for i in range(data["n"]):
        socket.emit("t", {"i": i, "p": padding})
    print(f"flooded {data['n']}", flush=True)


@ws_limits.on
async def slow_async(data):
    import asyncio

    print(f"async handler started {data['n']}", flush=True)
    await asyncio.sleep(data["seconds"])
    print(f"async handler finished {data['n']}", flush=True)


@ws_limits.on
def slow_plain(data):
    import time

    print(f"plain handler started {data['n']}", flush=True)
    time.sleep(data["seconds"])
    print(f"plain handler finished {data['n']}", flush=True)


def slow_authorize(request, user):
    """A slow ``authorize`` (a permission lookup), in the worker pool."""
    import time

    print("authorizing", flush=True)
    time.sleep(0.2)
    return True


# Used by the logout race test: handshakes wait in authorize while their user logs out.
ws_gate = WebSocket("/gate", login_required=True, authorize=slow_authorize)


@ws_gate.on
async def who(socket):
    return socket.user.get_username()


# Used by the history tests across processes: recovery from another node.
ws_history = WebSocket("/history_cluster", history=500, history_ttl=120)


@ws_history.on
async def shout(data):  # noqa: F811
    ws_history.emit("said", data)


# Used by the presence tests that run this project in several processes over Redis.
ws_presence = WebSocket("/presence", presence=True, presence_events=True)


@ws_presence.presence_info
def presence_info(socket):
    return socket.state.get("name")


@ws_presence.on
async def enter(socket, data):
    socket.state["name"] = data["name"]
    socket.join(data["room"])
    return {"pid": os.getpid(), "id": socket.id}
