"""The test helpers users get: clients, fixtures, the TransactionTestCase, in a real suite."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from tornado_websockets.testing import RequestFailed, WebSocketTestClient
from tornado_websockets.testing.server import LiveServerThread
from tornado_websockets.websocket import WebSocket

from .processes import environment

EXAMPLE = Path(__file__).resolve().parent.parent / "example"

ws_helpers = WebSocket("/t_helpers")


@ws_helpers.on
def burst(socket):
    socket.emit("first", {"n": 1})
    socket.emit("second", {"n": 2})
    socket.emit("third", {"n": 3})


@ws_helpers.on
def who(socket):
    return socket.user.get_username()


@ws_helpers.on
def refuse():
    raise ValueError("no")


def test_receive_of_one_event_keeps_the_others_for_later(ws_client) -> None:
    socket = ws_client.connect("/t_helpers")
    socket.emit("burst")
    assert socket.receive("third") == {"n": 3}
    assert socket.receive() == {"n": 1}
    assert socket.receive("second") == {"n": 2}
    socket.receive_nothing()


def test_receive_nothing_fails_when_something_arrives(ws_client) -> None:
    socket = ws_client.connect("/t_helpers")
    socket.emit("burst")
    with pytest.raises(AssertionError, match="Expected nothing"):
        socket.receive_nothing(timeout=5)


def test_receive_times_out_with_a_clear_error(ws_client) -> None:
    socket = ws_client.connect("/t_helpers")
    with pytest.raises(TimeoutError, match="'never'"):
        socket.receive("never", timeout=0.2)


def test_request_returns_the_answer_or_raises_request_failed(ws_client) -> None:
    socket = ws_client.connect("/t_helpers")
    assert socket.request("who") == ""
    with pytest.raises(RequestFailed, match="refuse"):
        socket.request("refuse")


def test_connect_with_a_user_logs_that_user_in(ws_client) -> None:
    grace = User.objects.create_user("grace")
    assert ws_client.connect("/t_helpers", user=grace).request("who") == "grace"


def test_a_client_closes_its_connections(tornado_server) -> None:
    client = WebSocketTestClient(tornado_server)
    socket = client.connect("/t_helpers")
    client.close()
    assert socket.connection.close_code is not None


def run_in_example(*command: str) -> subprocess.CompletedProcess[str]:
    env = environment("example_site.settings", [EXAMPLE])
    env.pop("DEMO_DB_PATH", None)
    return subprocess.run(
        [sys.executable, *command], cwd=EXAMPLE, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip


def test_a_second_live_server_is_refused_while_one_runs(tornado_server) -> None:
    # The connections of the first would run their handlers on the second's loop, from their
    # own thread: rare hangs of either server instead of an error.
    second = LiveServerThread(handlers=[])
    with pytest.raises(RuntimeError, match="Another live server runs in this process"):
        second.start_and_wait()
    assert not second.is_alive()
    assert LiveServerThread.running is tornado_server


def test_the_example_sites_django_test_suite_passes_with_the_helpers() -> None:
    done = run_in_example("manage.py", "test", "demo", "--noinput")
    assert done.returncode == 0, done.stderr
    assert re.search(r"Ran 6 tests", done.stderr) and "OK" in done.stderr


def test_the_example_sites_pytest_suite_passes_with_the_fixtures() -> None:
    done = run_in_example("-m", "pytest", "-q", "demo/test_sockets.py")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 passed" in done.stdout
