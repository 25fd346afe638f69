"""The wire protocol, without I/O: parse client frames, build server frames.

Every frame is one JSON object in a WebSocket text frame (binary frames are read as UTF-8 JSON,
as the original library did).

Client → server::

    {"event": "<name>", "data": {...}}                 data optional; falsy data reads as {}
    {"event": "<name>", "data": {...}, "id": 7}        asks for an ack

Server → client::

    {"event": "<name>", "data": <payload>}
    {"ack": 7, "data": <return value of the handler>}
    {"ack": 7, "error": {"message": "..."}}
    {"event": "warning", "data": {"message": "..."}}

This module is stdlib only: no Tornado, no Django, no event loop. It is safe to call from any
thread; nothing in it keeps state.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable
from typing import Any

from .exceptions import ProtocolError

__all__ = [
    "INVALID_JSON",
    "NO_EVENT",
    "DATA_NOT_A_DICT",
    "NOT_AN_OBJECT",
    "EVENT_NOT_A_STRING",
    "ID_NOT_AN_INTEGER",
    "EVENT_TOO_LONG",
    "EventData",
    "ClientFrame",
    "parse_frame",
    "normalize_emit_data",
    "encode_event",
    "encode_ack",
    "encode_ack_error",
    "encode_warning",
    "text_frame",
    "Dumps",
    "plain_dumps",
]

# The three warnings of the original library, word for word: clients match on them.
INVALID_JSON = "Invalid JSON was sent."
NO_EVENT = "There is no event in this JSON."
DATA_NOT_A_DICT = "The data should be a dictionary."
# Warnings for frames the original library crashed on or silently mishandled.
NOT_AN_OBJECT = "The message should be a JSON object."
EVENT_NOT_A_STRING = "The event should be a string."
ID_NOT_AN_INTEGER = "The id should be an integer."
EVENT_TOO_LONG = "The event name is too long."

WARNING_EVENT = "warning"

# Close codes the server sends.
GOING_AWAY = 1001
"""The server is shutting down: reconnect (elsewhere)."""
PROTOCOL_ERROR = 1002
"""The client broke RFC 6455, for example with an unmasked frame (section 5.1)."""
RATE_EXCEEDED = 1008
"""Policy violation: the client kept sending past ``TORNADO['message_rate']``."""
MESSAGE_TOO_BIG = 1009
"""A message larger than ``TORNADO['max_message_size']`` (sent by Tornado)."""
PING_TIMEOUT = 1011
"""The client answered no ping and sent nothing for ``TORNADO['ping_timeout']`` seconds."""
LOGGED_OUT = 4001
"""The connection's Django user logged out."""
SLOW_CONSUMER = 4008
"""More than ``TORNADO['max_queued_bytes']`` waited to be sent to this client."""
CLOSED_BY_ADMIN = 4009
"""A staff member closed the connection, or every connection of its user, from the admin."""

Dumps = Callable[[Any], str]
"""Turns a payload into strict JSON text; raises ``TypeError`` for what it cannot encode and
``ValueError`` for NaN and infinities."""


class EventData(dict):  # type: ignore[type-arg]
    """The ``data`` a handler receives: a plain dict that also reads keys as attributes.

    ``data.message`` is ``data['message']``; a missing key raises ``AttributeError``. Keys that
    collide with dict methods (``items``, ``keys``, ...) are read with ``data['items']``.
    Nested objects are ``EventData`` too.
    """

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"This event's data has no key {name!r}.") from None


class ClientFrame:
    """One parsed client frame: ``event``, raw ``data`` and the ``ack_id`` (or ``None``)."""

    __slots__ = ("event", "raw_data", "ack_id")

    def __init__(self, event: str, raw_data: Any, ack_id: int | None) -> None:
        self.event = event
        self.raw_data = raw_data
        self.ack_id = ack_id

    def data(self) -> EventData:
        """The handler's ``data``: falsy data reads as ``{}``; other non-objects are refused.

        Raises ``ProtocolError(DATA_NOT_A_DICT)``. Called only for events that have a handler,
        as the original library checked the event before the data.
        """
        raw = self.raw_data
        if not raw:
            return EventData()
        if isinstance(raw, EventData):
            return raw
        raise ProtocolError(DATA_NOT_A_DICT, self.ack_id)

    def __repr__(self) -> str:
        return f"ClientFrame(event={self.event!r}, ack_id={self.ack_id!r})"


def parse_frame(message: str | bytes, max_event_length: int | None = None) -> ClientFrame:
    """Parse a client frame, or raise ``ProtocolError`` carrying the warning to send back.

    An event name longer than ``max_event_length`` characters is refused.
    """
    try:
        if not isinstance(message, str):
            message = message.decode(json.detect_encoding(message), "surrogatepass")
        decoded = _decoder.decode(message)
    except (ValueError, RecursionError):
        # ValueError covers bad JSON (NaN, Infinity and numbers too large for a float among
        # it) and bad UTF-8 in binary frames; RecursionError, frames nested deeper than the
        # interpreter's stack.
        raise ProtocolError(INVALID_JSON) from None
    if not isinstance(decoded, EventData):
        raise ProtocolError(NOT_AN_OBJECT)

    ack_id = decoded.get("id")
    if ack_id is not None and type(ack_id) is not int:
        raise ProtocolError(ID_NOT_AN_INTEGER)

    event = decoded.get("event")
    if not event:
        raise ProtocolError(NO_EVENT, ack_id)
    if not isinstance(event, str):
        raise ProtocolError(EVENT_NOT_A_STRING, ack_id)
    if max_event_length is not None and len(event) > max_event_length:
        raise ProtocolError(EVENT_TOO_LONG, ack_id)
    return ClientFrame(event, decoded.get("data"), ack_id)


def _finite_float(text: str) -> float:
    # RFC 8259 has no NaN or Infinity: '1e999' would come back to every client as Infinity.
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of the range of a float")
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# One decoder for every frame: json.loads with hooks would build one per call (half its cost
# for a small frame). Stateless, so any thread may use it.
_decoder = json.JSONDecoder(
    object_hook=EventData, parse_float=_finite_float, parse_constant=_refuse_constant
)


def normalize_emit_data(event: Any, data: Any) -> dict[str, Any]:
    """Apply the original library's emit rules: falsy → ``{}``, str → ``{'message': str}``.

    Raises ``TypeError`` for a non-string event or data that is neither a dict nor a string.
    """
    if not isinstance(event, str):
        raise TypeError(f"The event name should be a string, got {event!r}.")
    if not data:
        return {}
    if isinstance(data, str):
        return {"message": data}
    if not isinstance(data, dict):
        raise TypeError(
            f"The data of event {event!r} should be a dictionary or a string, "
            f"got {type(data).__name__}."
        )
    return data


def encode_event(event: str, data: Any, dumps: Dumps) -> bytes:
    """Build ``{"event": event, "data": data}`` as UTF-8 bytes.

    Raises ``TypeError`` naming the event when ``data`` holds something ``dumps`` cannot encode,
    NaN and infinities included (strict JSON, RFC 8259).
    """
    try:
        text = dumps({"event": event, "data": data})
    except (TypeError, ValueError) as exc:
        raise TypeError(f"The data of event {event!r} is not JSON serializable: {exc}") from exc
    return text.encode()


def encode_ack(ack_id: int, data: Any, dumps: Dumps) -> bytes:
    """Build the ack answering request ``ack_id``; ``TypeError`` if ``data`` is not encodable
    (NaN and infinities included)."""
    try:
        text = dumps({"ack": ack_id, "data": data})
    except (TypeError, ValueError) as exc:
        raise TypeError(f"The data of ack {ack_id} is not JSON serializable: {exc}") from exc
    return text.encode()


def encode_ack_error(ack_id: int, message: str) -> bytes:
    """Build the ack that rejects request ``ack_id`` with ``message``."""
    return plain_dumps({"ack": ack_id, "error": {"message": message}}).encode()


def encode_warning(message: str) -> bytes:
    """Build a ``warning`` event frame."""
    return plain_dumps({"event": WARNING_EVENT, "data": {"message": message}}).encode()


# ensure_ascii keeps every frame valid UTF-8 even when a payload echoes lone surrogates that a
# client sent as JSON escapes; compact separators keep frames small; allow_nan=False keeps it
# strict JSON (RFC 8259), which browsers' JSON.parse requires.
plain_dumps: Dumps = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode
"""The stdlib encoder: what ``dumps`` is when Django's encoder is not wanted."""


def text_frame(payload: bytes) -> bytes:
    """Frame ``payload`` as one final, unmasked, uncompressed text frame (server → client).

    A broadcast frames its payload once and writes the same bytes to every connection.
    """
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x81, length)
    elif length <= 0xFFFF:
        header = struct.pack("!BBH", 0x81, 126, length)
    else:
        header = struct.pack("!BBQ", 0x81, 127, length)
    return header + payload
