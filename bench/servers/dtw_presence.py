"""django-tornado-websockets with presence, for ``bench/presence.py``.

``enter`` joins the room ``lobby`` and answers ``entered``; ``broadcast`` is emitted to every
connection. ``--presence on`` declares ``WebSocket('/bench', presence=True,
presence_events="rooms")``, ``off`` a plain ``WebSocket('/bench')``.

Usage: ``python bench/servers/dtw_presence.py --port PORT --redis-prefix PREFIX --presence on
[--presence-interval 1] [--ping-interval 0]`` (binds 127.0.0.1 only, serves ``/ws/bench``,
exits 0 on SIGTERM or SIGINT). Keepalive pings are off unless ``--ping-interval`` is given.
"""

from __future__ import annotations

import argparse
from typing import Any

from common import HOST, REDIS_URL

from tornado_websockets.conf import TornadoConfig
from tornado_websockets.tornadowrapper import TornadoWrapper
from tornado_websockets.websocket import WebSocket

UNREACHABLE_MESSAGE_RATE = 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis-prefix", required=True)
    parser.add_argument("--presence", choices=("on", "off"), required=True)
    parser.add_argument("--presence-interval", type=float, default=1.0)
    # Keepalive pings make every client answer at once, every ping_interval: a burst of work
    # that lands in some measuring windows and not others. 0 turns them off.
    parser.add_argument("--ping-interval", type=float, default=0.0)
    args = parser.parse_args()
    on = args.presence == "on"
    ws = WebSocket("/bench", presence=on, presence_events="rooms" if on else False)

    @ws.presence_info
    def info(socket: Any) -> Any:
        return socket.state.get("name")

    @ws.on
    async def enter(socket: Any, data: Any) -> None:
        socket.state["name"] = data.get("name")
        socket.join("lobby")
        socket.emit("entered")

    @ws.on
    async def broadcast(data: Any) -> None:
        ws.emit("broadcast", data)

    config = TornadoConfig(
        message_rate=UNREACHABLE_MESSAGE_RATE,
        message_burst=int(UNREACHABLE_MESSAGE_RATE),
        max_connections=100_000,
        broker={"url": REDIS_URL, "prefix": args.redis_prefix},
        presence_interval=args.presence_interval,
        ping_interval=args.ping_interval,
    )
    TornadoWrapper.start_app(handlers=[], settings={}, config=config)
    TornadoWrapper.listen(args.port, address=HOST)
    TornadoWrapper.loop()


if __name__ == "__main__":
    main()
