"""A ``WebSocketHandler`` resets its answer as Tornado's ``RequestHandler.clear`` does, with the
``Date`` formatted once a second instead of once per handshake."""

from __future__ import annotations

import email.utils
import time
from typing import Any

import pytest
import tornado.web
from tornado import httputil
from websockets.sync.client import connect

from tornado_websockets.responseheaders import http_date
from tornado_websockets.websocket import WebSocket
from tornado_websockets.websockethandler import WebSocketHandler

from .wsclient import TIMEOUT

app = WebSocket("/t_response_headers")
compared: list[tuple[Any, Any]] = []


def answer_state(handler: tornado.web.RequestHandler) -> dict[str, Any]:
    """What ``clear`` resets, the ``Date`` apart (the two clears may fall in two seconds)."""
    lines = list(handler._headers.get_all())
    return {
        "headers": [(name, value) for name, value in lines if name != "Date"],
        "dates": [value for name, value in lines if name == "Date"],
        "status": (handler._status_code, handler._reason),
        "body": list(handler._write_buffer),
        "attributes": sorted(vars(handler)),
    }


class ComparingHandler(WebSocketHandler):
    """In ``prepare``: the answer as the handler's own ``clear`` leaves it, then as Tornado's
    does, each after a header, a status and some body were set."""

    def set_default_headers(self) -> None:
        self.set_header("X-Default", "yes")

    def dirty(self) -> None:
        self.set_header("X-Dropped", "by clear")
        self.set_status(418)
        self.write("dropped by clear")

    async def prepare(self) -> None:
        # The handler's own first: what Tornado's would set and it does not then shows as an
        # attribute only the second state has (__init__ ran the handler's own clear).
        self.dirty()
        self.clear()
        ours = answer_state(self)
        self.dirty()
        tornado.web.RequestHandler.clear(self)
        compared.append((answer_state(self), ours))
        await super().prepare()


@pytest.mark.parametrize(
    "tornado_live_server_config",
    [{"handlers": [("/comparing", ComparingHandler, {"websocket": app})]}],
    indirect=True,
)
def test_a_handlers_clear_leaves_the_answer_as_tornados_clear_does(tornado_server: Any) -> None:
    compared.clear()
    with connect(f"{tornado_server.ws_url}/comparing", open_timeout=TIMEOUT):
        pass
    assert len(compared) == 1
    tornados, ours = compared[0]
    assert ours["headers"] == tornados["headers"]
    assert [name for name, _ in ours["headers"]] == ["Server", "Content-Type", "X-Default"]
    assert ours["status"] == tornados["status"] == (200, "OK")
    assert ours["body"] == tornados["body"] == []
    assert ours["attributes"] == tornados["attributes"]
    [tornado_date], [our_date] = tornados["dates"], ours["dates"]
    seconds = [email.utils.parsedate_to_datetime(d).timestamp() for d in (our_date, tornado_date)]
    assert 0 <= seconds[1] - seconds[0] <= 1


def test_the_http_date_is_the_current_second_formatted_as_tornado_formats_it() -> None:
    deadline = time.monotonic() + TIMEOUT
    while True:  # until a second does not end between the two readings of the clock
        before = int(time.time())
        formatted = http_date()
        if int(time.time()) == before:
            break
        assert time.monotonic() < deadline
    assert formatted == httputil.format_timestamp(before)
    assert formatted.endswith(" GMT")


def test_the_http_date_follows_the_clock_from_one_second_to_the_next() -> None:
    first = http_date()
    deadline = time.monotonic() + TIMEOUT
    while http_date() == first:  # the cached string must not outlive its second
        assert time.monotonic() < deadline, "the date did not change after its second"
        time.sleep(0.05)
    later = email.utils.parsedate_to_datetime(http_date()).timestamp()
    assert later - email.utils.parsedate_to_datetime(first).timestamp() >= 1
