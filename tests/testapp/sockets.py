"""WebSocket applications reached by the views of the test project."""

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
