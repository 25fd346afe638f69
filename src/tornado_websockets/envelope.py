"""Envelopes: what one node publishes through the broker for the others to deliver.

An envelope is one header line of JSON, a newline, then the frame's payload exactly as the
local connections received it (so a receiving node frames it without re-encoding)::

    {"k": "emit", "n": "<node>", "e": "<event>", "r": [rooms], "u": [users],
     "s": ["<node>:<socket id>"], "x": ["<node>:<socket id>"], "a": 1}\\n<payload>

``a`` (all) marks a broadcast to every connection of the path. A message kept in history also
carries ``"h"`` (its stream: ``""`` for the broadcast stream, else the room), ``"o"`` (its
offset in the stream) and ``"p"`` (the stream's epoch); the history store adds ``o`` and ``p``
once the message is stored. ``k`` is ``"emit"``, ``"logout"`` (close the sockets of the
users in ``u``: no payload), or ``"session_ended"`` (close the logged-in sockets opened with
the session whose key's digest, ``auth.session_digest``, is ``d``: no payload; the key itself
never goes through the broker). The channel of an envelope is the application's URL path.

Stdlib only; stateless; safe from any thread.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

__all__ = ["Envelope", "decode", "EMIT", "LOGOUT", "SESSION_ENDED"]

EMIT = "emit"
LOGOUT = "logout"
SESSION_ENDED = "session_ended"

_encoder = json.JSONEncoder(separators=(",", ":"))


@dataclass(frozen=True)
class Envelope:
    kind: str
    node: str
    event: str = ""
    payload: bytes = b""
    broadcast: bool = False
    rooms: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    sockets: tuple[str, ...] = field(default=())
    exclude: tuple[str, ...] = ()
    stream: str | None = None
    offset: int | None = None
    epoch: str | None = None
    session: str = ""

    def encode(self) -> bytes:
        return self.head() + b"\n" + self.payload

    def head(self) -> bytes:
        """The header line alone (a JSON object), without the newline."""
        header: dict[str, object] = {"k": self.kind, "n": self.node}
        if self.event:
            header["e"] = self.event
        if self.broadcast:
            header["a"] = 1
        for key, values in (("r", self.rooms), ("u", self.users), ("s", self.sockets)):
            if values:
                header[key] = list(values)
        if self.exclude:
            header["x"] = list(self.exclude)
        if self.stream is not None:
            header["h"] = self.stream
        if self.offset is not None:
            header["o"], header["p"] = self.offset, self.epoch
        if self.session:
            header["d"] = self.session
        return _encoder.encode(header).encode()


def decode(data: bytes) -> Envelope:
    """Parse an envelope; ``ValueError`` for anything that is not one."""
    head, separator, payload = data.partition(b"\n")
    if not separator:
        raise ValueError("An envelope needs a header line.")
    header = json.loads(head)
    if not isinstance(header, dict) or not isinstance(header.get("n"), str):
        raise ValueError("An envelope header is a JSON object with a node id.")
    return Envelope(
        kind=str(header.get("k", EMIT)),
        node=header["n"],
        event=str(header.get("e", "")),
        payload=payload,
        broadcast=bool(header.get("a")),
        rooms=tuple(map(str, header.get("r", ()))),
        users=tuple(map(str, header.get("u", ()))),
        sockets=tuple(map(str, header.get("s", ()))),
        exclude=tuple(map(str, header.get("x", ()))),
        stream=None if header.get("h") is None else str(header["h"]),
        offset=_offset(header.get("o")),
        epoch=None if header.get("p") is None else str(header["p"]),
        session=str(header.get("d", "")),
    )


def _offset(value: object) -> int | None:
    if value is None:
        return None
    if type(value) is not int or value < 1:
        raise ValueError("An envelope offset is a positive integer.")
    return value
