"""How the load generator's clients put an event on the wire and read one back.

Two wires, chosen per server kind (``plan.ServerKind.wire``):

- ``json``: one ``{"event": name, "data": data}`` text frame per event, the library's protocol
  (DESIGN.md §3), spoken as well by the raw Tornado, Channels and ``websockets`` servers;
- ``socketio``: the Engine.IO v4 / Socket.IO v5 protocol over the WebSocket transport alone,
  the least a client must speak to talk to python-socketio: wait for the open packet
  (``0{...}``), connect the default namespace (``40``) and wait for its answer (``40{...}``),
  then events are ``42["name",data]`` frames; the server's pings (``2``) get a pong (``3``).

Both encode and decode with orjson, so the cost on the load generator's side is the same.
"""

from __future__ import annotations

from typing import Any, Protocol

import orjson

# Engine.IO v4 packet types (first character) and Socket.IO v5 packet types (second one).
EIO_OPEN, EIO_PING, EIO_PONG, EIO_MESSAGE = b"0", b"2", b"3", b"4"
SIO_CONNECT = b"40"
SIO_EVENT = b"42"


class WireClient(Protocol):
    """What a wire needs of a connection: raw sends and being told the connection is usable."""

    def send_raw(self, payload: bytes) -> None: ...

    def mark_ready(self) -> None: ...


class Wire(Protocol):
    name: str

    def url_suffix(self) -> str:
        """Appended to the server's URL (a query string for Engine.IO)."""
        ...

    def encode(self, event: str, data: Any) -> bytes: ...

    def on_connected(self, client: WireClient) -> None:
        """The WebSocket handshake is done; the wire may have more to do before it is usable."""
        ...

    def decode(self, client: WireClient, payload: bytes) -> tuple[str, Any] | None:
        """``(event, data)`` of a text frame, or ``None`` for a frame the wire handled itself."""
        ...


class JsonWire:
    name = "json"

    def url_suffix(self) -> str:
        return ""

    def encode(self, event: str, data: Any) -> bytes:
        return orjson.dumps({"event": event, "data": data})

    def on_connected(self, client: WireClient) -> None:
        client.mark_ready()

    def decode(self, client: WireClient, payload: bytes) -> tuple[str, Any] | None:
        message = orjson.loads(payload)
        if not isinstance(message, dict):
            return "<not an object>", message
        return message.get("event", "<no event>"), message.get("data")


class SocketIoWire:
    name = "socketio"

    def url_suffix(self) -> str:
        return "?EIO=4&transport=websocket"

    def encode(self, event: str, data: Any) -> bytes:
        return SIO_EVENT + orjson.dumps([event, data])

    def on_connected(self, client: WireClient) -> None:
        pass  # usable once the namespace is connected, see decode()

    def decode(self, client: WireClient, payload: bytes) -> tuple[str, Any] | None:
        if payload.startswith(SIO_EVENT):
            event, data = orjson.loads(payload[2:])
            return event, data
        kind = payload[:1]
        if kind == EIO_PING:
            client.send_raw(EIO_PONG)
            return None
        if kind == EIO_OPEN:
            client.send_raw(SIO_CONNECT)
            return None
        if payload.startswith(SIO_CONNECT):
            client.mark_ready()
            return None
        # A connect error (44), a disconnect (41), a binary event...: the clients never expect it.
        return "<socket.io packet>", payload.decode(errors="replace")


WIRES: dict[str, Wire] = {"json": JsonWire(), "socketio": SocketIoWire()}
