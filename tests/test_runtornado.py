"""``manage.py runtornado``, end to end: the example site served by a real process.

Each server is a child process bound to 127.0.0.1, on an ephemeral port unless a test says
otherwise, stopped by PID when the test ends.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import threading
import time
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from .processes import (
    EXAMPLE,
    SERVING_AT,
    STATIC_SOURCE,
    Project,
    Server,
    environment,
    free_port,
    http_get,
    manage,
    recv_event,
    recv_json,
    running_server,
    send_event,
    ws_connect,
)

EXAMPLE_WEBSOCKETS = ("/ws/echo", "/ws/chat", "/ws/module_progressbar")


@pytest.fixture(scope="module")
def example_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The example site's environment, on a throw-away database and static root, migrated and
    with its static files collected."""
    storage = tmp_path_factory.mktemp("example")
    env = environment(
        "example_site.settings",
        DEMO_DB_PATH=str(storage / "db.sqlite3"),
        DEMO_STATIC_ROOT=str(storage / "static"),
    )
    for command in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
        done = manage(command, EXAMPLE, env)
        assert done.returncode == 0, f"manage.py {' '.join(command)} failed:\n{done.stderr}"
    return env


@pytest.fixture(scope="module")
def example_server(example_env: dict[str, str]):
    with running_server(["127.0.0.1:0", "--noreload"], EXAMPLE, example_env) as server:
        yield server


def settings_module(directory: Path, name: str, body: str) -> str:
    """Write ``<directory>/<name>.py``: the example settings, then ``body``."""
    (directory / f"{name}.py").write_text(
        "from example_site.settings import *  # noqa: F401,F403\n"
        "from example_site.settings import TORNADO\n\n" + body
    )
    return name


def example_env_with(example_env: dict[str, str], directory: Path, module: str) -> dict[str, str]:
    env = dict(example_env)
    env["DJANGO_SETTINGS_MODULE"] = module
    env["PYTHONPATH"] = str(directory)
    return env


def page_title(html: str) -> str:
    """The <title> of a page: Django's error pages put the exception there."""
    match = re.search(r"<title>(.*?)</title>", html, re.S)
    return " ".join(match[1].split()) if match else html[:200]


def echo_round_trip(ws, message: str) -> None:
    send_event(ws, "message", {"message": message})
    assert recv_event(ws, "message") == {"event": "message", "data": {"message": message}}


# -- the address and port -------------------------------------------------------------------


def test_runtornado_takes_the_address_and_port_from_the_command_line(example_server: Server):
    assert "serving at http://127.0.0.1:" in example_server.output
    assert example_server.port != 0, "port 0 should be reported as the port actually bound"
    with ws_connect(example_server.port, "/ws/echo") as ws:
        assert recv_json(ws) == {"event": "new_connection", "data": {}}


def test_runtornado_takes_a_bare_port_from_the_command_line(example_env):
    port = free_port()
    with running_server([str(port), "--noreload"], EXAMPLE, example_env) as server:
        assert server.port == port
        assert f"serving at http://127.0.0.1:{port}/" in server.output
        assert http_get(port, "/no-such-page/").status == 404


@pytest.fixture(scope="module")
def configured_port_server(example_env, tmp_path_factory):
    """The example site with TORNADO['port'] set to a free port and an object() among the
    Tornado settings, run without a port on the command line."""
    directory = tmp_path_factory.mktemp("configured_port")
    port = free_port()
    module = settings_module(
        directory,
        "configured_port_settings",
        f"TORNADO = {{\n"
        f"    **TORNADO,\n"
        f"    'port': {port},\n"
        f"    'settings': {{**TORNADO['settings'], 'not_json': object()}},\n"
        f"}}\n",
    )
    env = example_env_with(example_env, directory, module)
    with running_server(["--noreload"], EXAMPLE, env) as server:
        server.configured_port = port
        yield server


def test_runtornado_takes_the_port_from_the_tornado_setting_without_one_on_the_command_line(
    configured_port_server,
):
    port = configured_port_server.configured_port
    assert configured_port_server.port == port
    with ws_connect(port, "/ws/echo") as ws:
        assert recv_json(ws)["event"] == "new_connection"
        echo_round_trip(ws, "hi")


def test_the_banner_survives_a_tornado_setting_that_is_not_json(configured_port_server):
    output = configured_port_server.output
    assert "Tornado settings:" in output
    assert "'not_json': <object object at" in output
    assert "Traceback" not in output


# -- the banner -----------------------------------------------------------------------------


def test_the_banner_names_the_address_the_websockets_the_handlers_and_the_tornado_settings(
    example_server: Server,
):
    output = example_server.output
    assert f"serving at http://127.0.0.1:{example_server.port}/" in output
    _, websockets_line = example_server.wait_for_line(r"^WebSockets: ")
    for path in EXAMPLE_WEBSOCKETS:
        assert path in websockets_line.string
    _, handlers_line = example_server.wait_for_line(r"^Handlers: ")
    assert handlers_line.string.startswith("Handlers: 2 ")
    _, settings_line = example_server.wait_for_line(r"^Tornado settings: ")
    assert "'debug': True" in settings_line.string
    assert "'autoreload': False" in settings_line.string


# -- invalid command lines and settings -----------------------------------------------------


def test_runtornado_rejects_an_addrport_that_is_not_one_and_names_it(example_env):
    done = manage(["runtornado", "abc", "--noreload"], EXAMPLE, example_env, timeout=30)
    assert done.returncode != 0
    assert "'abc'" in done.stderr
    assert "serving at" not in done.stdout


INVALID_TORNADO_SETTINGS = {
    "unknown key": ("TORNADO = {**TORNADO, 'prot': 8000}\n", "'prot'"),
    "port as a string": ("TORNADO = {**TORNADO, 'port': '8000'}\n", "TORNADO['port']"),
    "settings not a dict": (
        "TORNADO = {**TORNADO, 'settings': [('debug', True)]}\n",
        "TORNADO['settings']",
    ),
}


@pytest.mark.parametrize("mistake", INVALID_TORNADO_SETTINGS, ids=list(INVALID_TORNADO_SETTINGS))
def test_an_invalid_tornado_setting_stops_runtornado_and_fails_the_system_check_naming_the_key(
    example_env, tmp_path, mistake
):
    body, named = INVALID_TORNADO_SETTINGS[mistake]
    module = settings_module(tmp_path, "invalid_settings", body)
    env = example_env_with(example_env, tmp_path, module)

    served = manage(["runtornado", "127.0.0.1:0", "--noreload"], EXAMPLE, env, timeout=30)
    assert served.returncode != 0
    assert "serving at" not in served.stdout
    assert named in served.stderr
    assert "tornado_websockets.E001" in served.stderr
    assert "Traceback" not in served.stderr  # a clean command error, not a crash

    checked = manage(["check"], EXAMPLE, env, timeout=30)
    assert checked.returncode != 0
    assert "tornado_websockets.E001" in checked.stderr
    assert named in checked.stderr


# -- WebSockets and Django pages ------------------------------------------------------------


@pytest.mark.parametrize("options", [[], ["--skip-checks"]], ids=["with checks", "--skip-checks"])
def test_websockets_declared_in_views_answer_the_first_connection_before_any_http_request(
    example_env, options
):
    with running_server(["127.0.0.1:0", "--noreload", *options], EXAMPLE, example_env) as server:
        with ws_connect(server.port, "/ws/echo") as ws:
            assert recv_json(ws) == {"event": "new_connection", "data": {}}
            send_event(ws, "message", {"message": "hi"})
            assert recv_json(ws) == {"event": "message", "data": {"message": "hi"}}
    checks_ran = "System check identified no issues" in server.output
    assert checks_ran is not bool(options)


def test_django_pages_are_served_by_the_same_process(example_server: Server):
    missing = http_get(example_server.port, "/no-such-page/")
    assert missing.status == 404
    # Django's technical 404 page (the example runs with DEBUG): it names the URLconf it tried.
    assert "example_site.urls" in missing.text
    assert missing.headers["X-Content-Type-Options"] == "nosniff"  # Django's SecurityMiddleware

    home = http_get(example_server.port, "/")
    assert home.status == 200, page_title(home.text)
    assert home.headers["Content-Type"].startswith("text/html")


def test_the_documented_static_route_serves_the_javascript_client(example_server: Server):
    source = STATIC_SOURCE / "client.js"
    assert source.is_file(), f"the JavaScript client is missing: {source}"
    answer = http_get(example_server.port, "/static/tornado_websockets/client.js")
    assert answer.status == 200
    assert answer.body == source.read_bytes()
    assert "javascript" in answer.headers["Content-Type"]


@pytest.mark.parametrize(
    "path",
    [
        "/static/tornado_websockets/client.js%00",
        "/static/tornado_websockets/client%00.js",
        "/static/%00",
        "/no-such-page/%00/",
    ],
)
def test_a_nul_byte_in_a_url_is_a_404_not_a_500(example_server: Server, path: str):
    start = len(example_server.lines)
    answer = http_get(example_server.port, path)
    assert answer.status == 404
    # The request is logged (an access line) without a traceback.
    example_server.wait_for_line(r"404 GET ", start=start)
    assert not any("Traceback" in line for line in example_server.lines[start:])
    assert http_get(example_server.port, "/static/tornado_websockets/client.js").status == 200


def test_a_plain_http_get_on_a_websocket_path_is_refused_and_leaves_no_connection_behind(
    example_env,
):
    with running_server(["127.0.0.1:0", "--noreload"], EXAMPLE, example_env) as server:
        assert http_get(server.port, "/ws/echo").status == 400
        # The echo example tells ws_echo[0] about spammers: if the refused GET had left a
        # connection behind, it would be ws_echo[0] and this client would never hear of it.
        with ws_connect(server.port, "/ws/echo") as ws:
            assert recv_json(ws) == {"event": "new_connection", "data": {}}
            send_event(ws, "message", {"message": "spam"})
            assert recv_json(ws) == {"event": "message", "data": {"message": "spam"}}
            got_spam = recv_json(ws)
            assert got_spam["event"] == "got_spam"
            assert got_spam["data"]["message"] == "spam"
            assert isinstance(got_spam["data"]["socket"]["id"], int)


# -- a slow view does not hold WebSockets back ----------------------------------------------

SLOW_VIEWS = """import time

from django.http import HttpResponse

from tornado_websockets.websocket import WebSocket

ws_echo = WebSocket('/echo')


@ws_echo.on
def message(socket, data):
    socket.emit('message', data)


def slow(request):
    print('slow view started', flush=True)
    time.sleep(2)
    return HttpResponse('slow view done')
"""


def test_a_slow_django_view_does_not_delay_websocket_traffic(tmp_path):
    project = Project(tmp_path)
    project.write_views(SLOW_VIEWS)
    project.add_url("slow/", "slow")
    with project.server(["127.0.0.1:0", "--noreload"]) as server:
        with ws_connect(server.port, "/ws/echo") as ws:
            answered = threading.Event()
            answers = []

            def request_slow_view() -> None:
                answers.append(http_get(server.port, "/slow/", timeout=30))
                answered.set()

            requester = threading.Thread(target=request_slow_view, daemon=True)
            requester.start()
            server.wait_for_line(r"^slow view started$")
            for number in range(20):
                echo_round_trip(ws, f"ping {number}")
            assert not answered.is_set(), "the echoes waited for the slow view to return"
            assert answered.wait(30)
        requester.join(30)
    assert answers[0].status == 200
    assert answers[0].text == "slow view done"


# -- stopping -------------------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_the_server_cleanly_and_closes_websockets_as_going_away(example_env, signum):
    with running_server(["127.0.0.1:0", "--noreload"], EXAMPLE, example_env) as server:
        with ws_connect(server.port, "/ws/echo") as ws:
            assert recv_json(ws)["event"] == "new_connection"
            server.signal(signum)
            with pytest.raises(ConnectionClosed) as closed:
                recv_json(ws, timeout=20)
        assert closed.value.rcvd is not None, "the server closed without a close frame"
        assert closed.value.rcvd.code == 1001
        assert server.wait_for_exit(timeout=20) == 0, server.output
        assert "Server stopped." in server.output


# -- autoreload -----------------------------------------------------------------------------

RELOADING_VIEWS = """from tornado_websockets.websocket import WebSocket

ws_echo = WebSocket('/echo')


@ws_echo.on
def message(socket, data):
    socket.emit('message', data)
"""

ADDED_HANDLER = """

import os  # noqa: E402


@ws_echo.on
def added():
    return {'pid': os.getpid()}
"""


def test_with_debug_the_server_restarts_itself_when_a_views_module_changes_unless_noreload(
    tmp_path,
):
    reloading = Project(tmp_path)
    reloading.write_views(RELOADING_VIEWS)
    (tmp_path / "copy").mkdir()
    fixed = reloading.copy(tmp_path / "copy")

    port = free_port()  # the restarted process binds again: a fixed port, not port 0
    with (
        reloading.server([f"127.0.0.1:{port}"]) as server,
        fixed.server(["127.0.0.1:0", "--noreload"]) as unchanged,
    ):
        assert "autoreload: on" in server.output
        assert "autoreload: off" in unchanged.output
        with ws_connect(port, "/ws/echo") as ws:
            send_event(ws, "added", ack=1)
            assert recv_json(ws) == {"ack": 1, "error": {"message": "Unknown event 'added'."}}
        started = len(server.lines)
        edited = [project.app / "views.py" for project in (reloading, fixed)]
        for views in edited:
            with views.open("a") as source:
                source.write(ADDED_HANDLER)
        # Tornado's watcher takes its baseline of modification times at its first check, half
        # a second after start-up: an edit made before that check is part of the baseline. So
        # the edit is made newer again each time no restart shows up within a few seconds.
        deadline = time.monotonic() + 20
        for attempt in itertools.count(1):
            try:
                server.wait_for_line(SERVING_AT, timeout=3, start=started)
                break
            except AssertionError:
                if time.monotonic() > deadline:
                    raise
            for views in edited:
                modified = views.stat().st_mtime + attempt
                os.utime(views, (modified, modified))
        assert server.wait_until_serving(start=started) == port
        assert server.process.poll() is None
        with ws_connect(port, "/ws/echo") as ws:
            send_event(ws, "added", ack=1)
            assert recv_json(ws) == {"ack": 1, "data": {"pid": server.pid}}

        # By now the reloading server has noticed the change and restarted; the other did not.
        with ws_connect(unchanged.port, "/ws/echo") as ws:
            send_event(ws, "added", ack=1)
            assert recv_json(ws) == {"ack": 1, "error": {"message": "Unknown event 'added'."}}
            echo_round_trip(ws, "still the first process")
        assert unchanged.output.count("serving at") == 1
        assert unchanged.process.poll() is None
