"""picows (a WebSocket implementation in Cython) as a server on uvloop: the limit of Python
WebSocket servers, and the calibration of the load generator, which it outruns on broadcasts.

The same work as ``raw_tornado.py``:

- ``message``: json-decode, reply ``{"event": "message", "data": data}`` to the sender;
- ``broadcast``: encode ``{"event": "broadcast", "data": data}`` once and
  ``transport.send`` it to every open connection, the sender included.

Usage: ``python bench/servers/picows_server.py --port PORT`` (binds 127.0.0.1 only, serves
``/ws/bench``, exits 0 on SIGTERM or SIGINT).
"""

from __future__ import annotations

import json
from typing import Any

import uvloop
from common import HOST, parse_server_args, until_terminated
from picows import WSFrame, WSListener, WSMsgType, WSTransport, WSUpgradeRequest, ws_create_server

PATH = "/ws/bench"
CONNECTIONS: set[WSTransport] = set()


class BenchListener(WSListener):
    """One connection; every callback runs on the loop's thread."""

    def on_ws_connected(self, transport: WSTransport) -> None:
        CONNECTIONS.add(transport)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        CONNECTIONS.discard(transport)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type == WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code(), frame.get_close_message())
            transport.disconnect()
            return
        if frame.msg_type != WSMsgType.TEXT:
            return
        try:
            message: Any = json.loads(frame.get_payload_as_utf8_text())
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        event, data = message.get("event"), message.get("data") or {}
        if event == "message":
            transport.send(WSMsgType.TEXT, json.dumps({"event": "message", "data": data}).encode())
        elif event == "broadcast":
            encoded = json.dumps({"event": "broadcast", "data": data}).encode()
            for connection in list(CONNECTIONS):
                connection.send(WSMsgType.TEXT, encoded)


def listener_for(request: WSUpgradeRequest) -> BenchListener | None:
    return BenchListener() if request.path == PATH.encode() else None


async def run(port: int) -> None:
    server = await ws_create_server(listener_for, HOST, port)
    try:
        await until_terminated()
    finally:
        server.close()


def main() -> None:
    uvloop.run(run(parse_server_args(__doc__.splitlines()[0]).port))


if __name__ == "__main__":
    main()
