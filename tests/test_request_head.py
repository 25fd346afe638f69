"""A request's head parsed in one pass (``requesthead.py``) parses as Tornado's parser does, and
any head it does not take is left to Tornado's parser, which accepts or refuses it as before."""

from __future__ import annotations

import socket
from typing import Any

import pytest
import tornado.web
from hypothesis import given, settings
from hypothesis import strategies as st
from tornado.http1connection import HTTP1Connection

from tornado_websockets.requesthead import PlainHeadHTTP1Connection, parse_plain_head

from .wsclient import TIMEOUT


def tornados(data: bytes) -> tuple[str, list[tuple[str, str]]] | Exception:
    """What Tornado's own parser makes of ``data``: the start line and the fields, or the
    error it raises."""
    try:
        # The method reads nothing of its connection; the test must not build one by hand.
        start_line, headers = HTTP1Connection._parse_headers(None, data)  # type: ignore[arg-type]
    except Exception as error:
        return error
    return start_line, list(headers.get_all())


def ours(data: bytes) -> tuple[str, list[tuple[str, str]]] | None:
    parsed = parse_plain_head(data)
    if parsed is None:
        return None
    start_line, headers = parsed
    return start_line, list(headers.get_all())


UPGRADE = (
    b"GET /ws/chat HTTP/1.1\r\nHost: example.com:8000\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\nOrigin: http://example.com\r\n"
    b"Cookie: sessionid=abc; csrftoken=def\r\n"
    b"User-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0 Safari/537.36\r\n\r\n"
)


def test_an_upgrade_from_a_browser_is_parsed_in_one_pass_as_tornado_parses_it() -> None:
    assert ours(UPGRADE) is not None, "a browser's upgrade must take the one-pass parser"
    assert ours(UPGRADE) == tornados(UPGRADE)


@pytest.mark.parametrize(
    "data",
    [
        # Values stripped at both ends, inner spaces and tabs kept, an empty value.
        b"GET / HTTP/1.1\r\nX-A: \t spaced \t value\t \r\nX-Empty:\r\nX-Blank:   \r\n\r\n",
        # A repeated field, in another case: both values, in order.
        b"GET / HTTP/1.1\r\nX-Twice: one\r\nx-twice: two\r\nX-TWICE: three\r\n\r\n",
        # A colon in the value; a name of every token character.
        b"GET / HTTP/1.1\r\nHost: h:80\r\n!#$%&'*+-.^_`|~09az: v:w\r\n\r\n",
        # No field at all.
        b"GET / HTTP/1.1\r\n\r\n",
    ],
)
def test_a_plain_head_parses_to_the_same_start_line_and_fields(data: bytes) -> None:
    assert ours(data) is not None
    assert ours(data) == tornados(data)


@pytest.mark.parametrize(
    "data",
    [
        b"GET / HTTP/1.1\nHost: h\n\n",  # line feeds without carriage returns
        b"\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",  # an empty line before the request
        b"GET / HTTP/1.1\r\nX-Latin: caf\xe9\r\n\r\n",  # obs-text: valid, Tornado's to parse
        b"GET / HTTP/1.1\r\nX-Bad : v\r\n\r\n",  # a space before the colon
        b"GET / HTTP/1.1\r\nX-Folded: a\r\n b\r\n\r\n",  # a folded line
        b"GET / HTTP/1.1\r\nX-Nul: a\x00b\r\n\r\n",  # a control character
        b"GET / HTTP/1.1\r\nno colon\r\n\r\n",
        b"GET / HTTP/1.1\r\n: no name\r\n\r\n",
    ],
)
def test_a_head_that_is_not_plain_is_left_to_tornados_parser(data: bytes) -> None:
    assert ours(data) is None
    connection = PlainHeadHTTP1Connection.__new__(PlainHeadHTTP1Connection)
    expected = tornados(data)
    if isinstance(expected, Exception):
        with pytest.raises(type(expected)):
            connection._parse_headers(data)
    else:
        start_line, headers = connection._parse_headers(data)
        assert (start_line, list(headers.get_all())) == expected


def test_a_field_of_sixty_thousand_spaces_parses_in_one_pass_like_any_other() -> None:
    # A value's run of one character must not make the expressions backtrack (quadratic time).
    data = b"GET / HTTP/1.1\r\nX-Spaces: a" + b" " * 60_000 + b"b \r\n\r\n"
    assert ours(data) == tornados(data)


field_names = st.text(alphabet="!#$%&'*+-.^_`|~0123456789abcXYZ", min_size=1, max_size=12)
field_values = st.text(alphabet=" \t" + "".join(map(chr, range(0x21, 0x7F))), max_size=20) | (
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=255), max_size=20)
)
line_ends = st.sampled_from(["\r\n"] * 8 + ["\n", "\r"])


@st.composite
def heads(draw: Any) -> bytes:
    """Mostly plain heads, with the characters and line ends that make one not plain."""
    lines = [draw(st.sampled_from(["GET / HTTP/1.1", "POST /x?y=1 HTTP/1.1", "GET  HTTP/1.0"]))]
    for _ in range(draw(st.integers(0, 5))):
        separator = draw(st.sampled_from([":", ":", ": ", " :", ":\t"]))
        lines.append(draw(field_names) + separator + draw(field_values))
    ends = [draw(line_ends) for _ in lines]
    text: str = "".join(line + end for line, end in zip(lines, ends, strict=True))
    text += draw(line_ends)
    return text.encode("latin1")


@settings(max_examples=500, deadline=None)
@given(heads())
def test_whatever_the_head_a_one_pass_parse_is_tornados_parse(data: bytes) -> None:
    parsed = ours(data)
    if parsed is not None:
        assert parsed == tornados(data)


class EchoHeaderHandler(tornado.web.RequestHandler):
    def get(self) -> None:
        self.write(self.request.headers.get("X-Latin", "-").encode("latin1"))


@pytest.mark.parametrize(
    "tornado_live_server_config",
    [{"handlers": [("/echo_header", EchoHeaderHandler)]}],
    indirect=True,
)
def test_the_server_answers_heads_of_both_kinds(tornado_server: Any) -> None:
    def answer(head: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", tornado_server.port), timeout=TIMEOUT) as s:
            s.sendall(head)
            received = b""
            while b"\r\n\r\n" not in received or not received.endswith((b"-", b"caf\xe9")):
                chunk = s.recv(65536)
                if not chunk:
                    break
                received += chunk
            return received

    plain = answer(b"GET /echo_header HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert plain.startswith(b"HTTP/1.1 200 ") and plain.endswith(b"\r\n\r\n-")
    latin = answer(b"GET /echo_header HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Latin: caf\xe9\r\n\r\n")
    assert latin.startswith(b"HTTP/1.1 200 ") and latin.endswith(b"caf\xe9")
    refused = answer(b"GET /echo_header HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Nul: a\x00b\r\n\r\n")
    assert refused.startswith(b"HTTP/1.1 400 ")
