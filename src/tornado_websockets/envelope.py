"""Envelopes: what one node publishes through the broker for the others to deliver.

An envelope is one header line of JSON, a newline, then the frame's payload exactly as the
local connections received it (so a receiving node frames it without re-encoding)::

    {"k": "emit", "n": "<node>", "e": "<event>", "r": [rooms], "u": [users],
     "s": ["<node>:<socket id>"], "x": ["<node>:<socket id>"], "a": 1}\\n<payload>

``a`` (all) marks a broadcast to every connection of the path. ``k`` is ``"emit"``, or
``"logout"`` (close the sockets of the users in ``u``: no payload). The channel of an envelope
is the application's URL path.

Stdlib only; stateless; safe from any thread.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

__all__ = ["Envelope", "decode", "EMIT", "LOGOUT"]

EMIT = "emit"
LOGOUT = "logout"

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

    def encode(self) -> bytes:
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
        return _encoder.encode(header).encode() + b"\n" + self.payload


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
    )
