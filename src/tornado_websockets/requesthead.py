"""A request's head (start line and header fields) parsed in one pass when it is plain.

Tornado's ``HTTP1Connection._parse_headers`` checks and splits the head line by line: a
regular expression for the line ending, one for the field name, one for the value, the name
normalised three times. For the head of a WebSocket upgrade that was about 22 µs of the
server's 280 µs a handshake (``docs/topics/performance.md``, Handshakes). A plain head is
checked here by one regular expression and split by another: the start line, then fields of a
token name, a colon and a value of printable ASCII, tabs and spaces, each line ended by CRLF,
the head by an empty line. Such a head parses to the same start line and the same
``HTTPHeaders`` under Tornado's rules (those of 6.4 as of 6.6: the value stripped of spaces
and tabs, repeated fields kept in order). Any other head, valid or not, is Tornado's to parse
or refuse, as before.

Loop thread (``PlainHeadHTTP1Connection`` is made by the server for each request).
"""

from __future__ import annotations

import re

from tornado import httputil
from tornado.http1connection import HTTP1Connection

__all__ = ["parse_plain_head", "PlainHeadHTTP1Connection"]

_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"  # RFC 9110's token, Tornado's field name
# No quantifier here can backtrack over a long run of one character class: a value's class
# excludes CR, so each line has one way to match, and stripping is done after the match.
_PLAIN_HEAD = re.compile(rf"[^\r\n]+\r\n(?:{_TOKEN}:[\t\x20-\x7e]*\r\n)*\r\n")
_FIELD = re.compile(rf"({_TOKEN}):([\t\x20-\x7e]*)\r\n")


def parse_plain_head(data: bytes) -> tuple[str, httputil.HTTPHeaders] | None:
    """The start line and the fields of ``data`` (a head as read, ending with the empty
    line), or ``None`` when the head is not plain: Tornado's parser then decides. Any
    thread."""
    text = data.decode("latin1")
    if _PLAIN_HEAD.fullmatch(text) is None:
        return None
    end_of_start_line = text.index("\r\n")
    headers = httputil.HTTPHeaders()
    for name, value in _FIELD.findall(text, end_of_start_line + 2):
        value = value.strip(" \t")
        if name in headers:
            headers.add(name, value)  # a repeated field: Tornado's own path keeps both
        else:
            headers[name] = value
    return text[:end_of_start_line], headers


class PlainHeadHTTP1Connection(HTTP1Connection):
    """Tornado's HTTP/1 connection, parsing a plain head with ``parse_plain_head``.

    The server gives each request's connection this class (``LimitedHTTPServer.start_request``)
    before its head is read. Loop thread."""

    def _parse_headers(self, data: bytes) -> tuple[str, httputil.HTTPHeaders]:
        parsed = parse_plain_head(data)
        if parsed is None:
            return super()._parse_headers(data)
        return parsed
