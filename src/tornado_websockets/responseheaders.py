"""The headers every answer of a ``WebSocketHandler`` starts with, as Tornado's
``RequestHandler.clear`` makes them, with the ``Date`` formatted once a second.

A handshake makes one handler, and Tornado's ``clear`` (run by the handler's ``__init__``)
formats the current time into an HTTP date for it: in a profile of 20,000 handshakes, that
formatting was about 3 % of the server's time (``docs/topics/performance.md``, Handshakes). An
HTTP date has a resolution of one second, so the string made for a second serves every answer
of that second, as it would have been formatted for each.

Any thread.
"""

from __future__ import annotations

import time

import tornado
from tornado import httputil

__all__ = ["http_date", "default_headers"]

SERVER = f"TornadoServer/{tornado.version}"
CONTENT_TYPE = "text/html; charset=UTF-8"

_formatted: tuple[int, str] = (-1, "")  # the second and its HTTP date, replaced as a whole


def http_date() -> str:
    """The current time as ``httputil.format_timestamp(time.time())`` formats it (``Wed, 26
    Nov 2026 17:03:09 GMT``), formatted once per second. Any thread."""
    global _formatted
    second = int(time.time())
    formatted = _formatted
    if formatted[0] != second:
        formatted = _formatted = (second, httputil.format_timestamp(second))
    return formatted[1]


def default_headers() -> httputil.HTTPHeaders:
    """A new ``HTTPHeaders`` holding what ``RequestHandler.clear`` starts an answer with:
    ``Server``, ``Content-Type`` and ``Date``, in that order. Any thread."""
    headers = httputil.HTTPHeaders()
    headers["Server"] = SERVER
    headers["Content-Type"] = CONTENT_TYPE
    headers["Date"] = http_date()
    return headers
