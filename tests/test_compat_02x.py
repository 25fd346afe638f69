"""A test suite written the 0.2.x way: ``unittest.TestCase``, a ``WebSocket('/test')`` per
``setUp``, the 0.2.x exception names. Then what re-declaring a path does to a running server.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import unittest
import warnings
from pathlib import Path

import pytest
from websockets.sync.client import connect

from tornado_websockets.exceptions import (
    InvalidInstanceError,
    NotCallableError,
    PathRedeclaredWarning,
    TornadoWebSocketsError,
    WebSocketEventAlreadyBinded,
)
from tornado_websockets.modules import ProgressBar
from tornado_websockets.testing import isolate_websockets, isolated_websockets
from tornado_websockets.testing.client import WebSocketTestClient
from tornado_websockets.tornadowrapper import TornadoWrapper
from tornado_websockets.websocket import WebSocket, get_websocket, serving_websockets

HERE = os.path.abspath(__file__)


def line_of(marker: str) -> int:
    """The line of this file that holds ``marker`` (a comment on a declaration)."""
    lines = Path(HERE).read_text().splitlines()
    found = [n for n, line in enumerate(lines, 1) if line.rstrip().endswith(f"# {marker}")]
    assert len(found) == 1, marker
    return found[0]


class WebSocketTest(unittest.TestCase):
    """As the 0.2.x suite: every test starts from a fresh ``WebSocket('/test')``."""

    def setUp(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PathRedeclaredWarning)
            self.ws = WebSocket("/test")

    def test_constructor(self) -> None:
        self.assertEqual(self.ws.path, "/test")
        self.assertEqual(self.ws.handlers, [])
        self.assertEqual(self.ws.modules, [])
        self.assertIsNone(self.ws.context)
        self.assertIs(get_websocket("/ws/test"), self.ws)

    def test_on(self) -> None:
        @self.ws.on
        def func(socket, data):
            pass

        self.assertIs(self.ws.events["func"].function, func)

    def test_on_not_callable(self) -> None:
        with self.assertRaises(NotCallableError):
            self.ws.on("string")  # type: ignore[arg-type]

    def test_emit_with_a_bad_event(self) -> None:
        with self.assertRaises(TypeError):
            self.ws.emit(123)  # type: ignore[arg-type]

    def test_emit_with_bad_data(self) -> None:
        with self.assertRaises(TypeError):
            self.ws.emit("event", 123)

    def test_bind_a_module(self) -> None:
        progressbar = ProgressBar("foo", min=0, max=10)
        self.ws.bind(progressbar)
        self.assertEqual(self.ws.modules, [progressbar])

    def test_bind_something_that_is_not_a_module(self) -> None:
        with self.assertRaises(InvalidInstanceError) as caught:
            self.ws.bind("not a module")  # type: ignore[arg-type]
        self.assertIsInstance(caught.exception, TypeError)
        self.assertIn("Module", str(caught.exception))

    def test_the_02x_exception_names_import_under_the_root(self) -> None:
        for cls in (WebSocketEventAlreadyBinded, InvalidInstanceError):
            self.assertTrue(issubclass(cls, TornadoWebSocketsError))

    def test_add_handler_refuses_a_string(self) -> None:
        before = list(TornadoWrapper.handlers)
        with self.assertRaises(TypeError):
            TornadoWrapper.add_handler("/a-string")
        self.assertEqual(TornadoWrapper.handlers, before)


@pytest.mark.usefixtures("served")
class ServedWebSocketTest(unittest.TestCase):
    """A ``WebSocket('/test')`` per ``setUp`` with a live server: each test talks to its own."""

    server: object

    def setUp(self) -> None:
        isolate_websockets(self)
        self.ws = WebSocket("/test")
        name = self._testMethodName

        @self.ws.on
        def whoami(socket, data):
            return name

        self.client = WebSocketTestClient(self.server)  # type: ignore[arg-type]
        self.addCleanup(self.client.close)

    def ask(self) -> str:
        connection = self.client.connect("/test")
        answer: str = connection.request("whoami")
        return answer

    def test_first_declaration_answers(self) -> None:
        self.assertEqual(self.ask(), "test_first_declaration_answers")

    def test_second_declaration_answers(self) -> None:
        self.assertEqual(self.ask(), "test_second_declaration_answers")

    def test_third_declaration_answers(self) -> None:
        self.assertEqual(self.ask(), "test_third_declaration_answers")


@pytest.fixture
def served(request: pytest.FixtureRequest, tornado_server) -> None:
    request.cls.server = tornado_server


# -- declaring a path again ------------------------------------------------------------------


def test_a_second_declaration_replaces_the_first_with_a_warning_naming_both_places() -> None:
    with isolated_websockets(), pytest.warns(PathRedeclaredWarning) as caught:
        first = WebSocket("/compat_twice")  # first declaration
        second = WebSocket("compat_twice")  # second declaration
        assert get_websocket("/ws/compat_twice") is second
    assert first is not second
    [warning] = caught.list
    message = str(warning.message)
    assert f"{HERE}:{line_of('first declaration')}" in message
    assert f"{HERE}:{line_of('second declaration')}" in message
    assert "'/ws/compat_twice'" in message
    assert (warning.filename, warning.lineno) == (HERE, line_of("second declaration"))


def test_the_isolation_helpers_restore_the_replaced_declaration_without_a_warning() -> None:
    with isolated_websockets():
        outer = WebSocket("/compat_restored")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with isolated_websockets(), pytest.warns(PathRedeclaredWarning):
                inner = WebSocket("/compat_restored")
                added = WebSocket("/compat_added")
                assert get_websocket("/ws/compat_restored") is inner
            assert get_websocket("/ws/compat_restored") is outer
            assert get_websocket("/ws/compat_added") is None
        del added
    assert get_websocket("/ws/compat_restored") is None


def test_with_the_pytest_fixture_a_test_declares_what_it_needs(isolated_websockets) -> None:
    WebSocket("/compat_fixture")
    assert get_websocket("/ws/compat_fixture") is not None


def test_the_pytest_fixture_undid_the_declaration_of_the_test_before() -> None:
    # Runs after the test above (pytest keeps the order of the file).
    assert get_websocket("/ws/compat_fixture") is None


def test_undeclare_stops_routing_new_handshakes_and_declare_brings_it_back(tornado_server) -> None:
    with isolated_websockets():
        ws = WebSocket("/compat_undeclared")

        @ws.on
        def ping():
            return "pong"

        client = WebSocketTestClient(tornado_server)
        try:
            assert client.connect("/compat_undeclared").request("ping") == "pong"
            ws.undeclare()
            assert get_websocket("/ws/compat_undeclared") is None
            with pytest.raises(Exception, match="404"):
                client.connect("/compat_undeclared")
            ws.declare()
            assert client.connect("/compat_undeclared").request("ping") == "pong"
        finally:
            client.close()


def test_connections_of_a_replaced_declaration_stay_with_it_until_they_close(
    tornado_server,
) -> None:
    client = WebSocketTestClient(tornado_server)
    with isolated_websockets(), warnings.catch_warnings():
        warnings.simplefilter("ignore", PathRedeclaredWarning)
        try:
            old = WebSocket("/compat_live")

            @old.on
            def version():
                return "old"

            before = client.connect("/compat_live")
            assert before.request("version") == "old"

            new = WebSocket("/compat_live")

            @new.on
            def version():  # noqa: F811 (the newer declaration's handler)
                return "new"

            after = client.connect("/compat_live")
            assert after.request("version") == "new"
            assert before.request("version") == "old"
            assert old in serving_websockets() and new in serving_websockets()

            old.emit("news", {"from": "old"})
            new.emit("news", {"from": "new"})
            assert before.receive("news") == {"from": "old"}
            assert after.receive("news") == {"from": "new"}
            before.receive_nothing(timeout=0.3)

            before.close()
            assert_eventually(lambda: old not in serving_websockets())
            assert new in serving_websockets()
        finally:
            client.close()


def assert_eventually(condition, timeout: float = 10.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


STOPPING_SCRIPT = textwrap.dedent(
    """
    import warnings
    from tornado_websockets.tornadowrapper import TornadoWrapper
    from tornado_websockets.websocket import WebSocket

    warnings.simplefilter('ignore')
    old = WebSocket('/replaced')

    @old.on
    def replace():
        new = WebSocket('/replaced')
        return new is not old

    TornadoWrapper.start_app([], {})
    print('port', TornadoWrapper.listen(0), flush=True)
    TornadoWrapper.loop()
    print('stopped cleanly', flush=True)
    """
)


def test_stopping_the_server_closes_connections_of_a_replaced_declaration_as_going_away(
    tmp_path: Path,
) -> None:
    script = tmp_path / "serve.py"
    script.write_text(STOPPING_SCRIPT)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    process = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        assert line.startswith("port "), line + process.stderr.read().decode()
        port = int(line.split()[1])
        with connect(f"ws://127.0.0.1:{port}/ws/replaced", open_timeout=10, proxy=None) as conn:
            conn.send(json.dumps({"event": "replace", "id": 1}))
            assert json.loads(conn.recv(timeout=10)) == {"ack": 1, "data": True}
            process.send_signal(signal.SIGTERM)
            with pytest.raises(Exception):  # noqa: B017 (the close, whatever its class)
                while True:
                    conn.recv(timeout=10)
            assert conn.close_code == 1001
        assert process.wait(timeout=20) == 0
        assert process.stdout.read().decode().strip() == "stopped cleanly"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
