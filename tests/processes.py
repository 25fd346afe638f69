"""Helpers of the end-to-end tests: real `manage.py` processes, real sockets, real clients.

Servers bind 127.0.0.1, their output is read line by line by a thread (so that tests wait on
lines with a deadline, never on fixed sleeps), and they are stopped by PID: SIGTERM, then
SIGKILL after a timeout.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

REPOSITORY = Path(__file__).resolve().parent.parent
TESTS = REPOSITORY / "tests"
EXAMPLE = REPOSITORY / "example"
STATIC_SOURCE = REPOSITORY / "src" / "tornado_websockets" / "static" / "tornado_websockets"

PYTHON = sys.executable
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0
RECV_TIMEOUT = 15.0
SERVING_AT = re.compile(r"serving at https?://(?P<host>[^/\s]+):(?P<port>\d+)/")
BANNER_END = re.compile(r"^Quit the server with CONTROL-C\.$")


def free_port() -> int:
    """A port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(
    settings_module: str, pythonpath: Sequence[Path] = (), **extra: str
) -> dict[str, str]:
    """The environment of a child process using ``settings_module``.

    The test process itself runs with the test suite's DJANGO_SETTINGS_MODULE: every child is
    given its own explicitly.
    """
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = settings_module
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("PYTHONPATH", None)
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(str(path) for path in pythonpath)
    env.update(extra)
    return env


def manage(
    args: Sequence[str], cwd: Path, env: dict[str, str], timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Run ``python manage.py <args>`` to completion; stdout and stderr are captured."""
    return subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def succeeded(done: subprocess.CompletedProcess[str]) -> str:
    """The stdout of a finished child process; fails with its stderr unless it exited 0."""
    assert done.returncode == 0, done.stderr
    return done.stdout


def run_python(code: str, cwd: Path, env: dict[str, str], timeout: float = 60.0) -> str:
    """Run ``python -c code`` to completion; returns its stdout, fails unless it exits 0."""
    done = subprocess.run(
        [PYTHON, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    return succeeded(done)


def django_admin(args: Sequence[str], cwd: Path, timeout: float = 60.0) -> None:
    """Run ``django-admin <args>`` (the script installed next to this Python)."""
    script = Path(PYTHON).parent / "django-admin"
    command = [str(script)] if script.exists() else [PYTHON, "-m", "django"]
    env = dict(os.environ)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(
        [*command, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"django-admin {' '.join(args)} failed:\n{done.stderr}"


class Server:
    """``python manage.py runtornado <args>`` as a child process, its output read by a thread.

    stderr is merged into stdout: ``lines`` holds everything the process printed, in order.
    """

    def __init__(
        self,
        args: Sequence[str],
        cwd: Path,
        env: dict[str, str],
        preexec_fn: Callable[[], None] | None = None,
    ) -> None:
        self.args = list(args)
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._eof = False
        self.process = subprocess.Popen(
            [PYTHON, "manage.py", "runtornado", *self.args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            preexec_fn=preexec_fn,
        )
        self.pid = self.process.pid
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.port: int | None = None

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._eof = True
            self._changed.notify_all()

    @property
    def output(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def wait_for_line(
        self, pattern: str | re.Pattern[str], timeout: float = START_TIMEOUT, start: int = 0
    ) -> tuple[int, re.Match[str]]:
        """The index and match of the first line from ``start`` on that matches ``pattern``.

        Fails with the output so far when the deadline passes or the process ends first.
        """
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        index = start
        with self._changed:
            while True:
                while index < len(self.lines):
                    match = regex.search(self.lines[index])
                    if match:
                        return index, match
                    index += 1
                remaining = deadline - time.monotonic()
                if self._eof or remaining <= 0:
                    state = "exited" if self._eof else f"still running after {timeout}s"
                    raise AssertionError(
                        f"runtornado {' '.join(self.args)} {state} without printing a line "
                        f"matching {regex.pattern!r}; its output:\n" + "\n".join(self.lines)
                    )
                self._changed.wait(remaining)

    def wait_for_lines(
        self, pattern: str | re.Pattern[str], count: int, timeout: float = START_TIMEOUT
    ) -> list[str]:
        """Wait until ``pattern`` matched ``count`` times; returns the lines it matched.

        Counts every match, not matching lines: prints from several threads may share a line.
        """
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [line for line in self.lines for _ in regex.finditer(line)]
                remaining = deadline - time.monotonic()
                if len(found) >= count:
                    return found
                if self._eof or remaining <= 0:
                    raise AssertionError(
                        f"{len(found)} of {count} lines matching {regex.pattern!r}; output:\n"
                        + "\n".join(self.lines[-50:])
                    )
                self._changed.wait(remaining)

    def wait_until_serving(self, timeout: float = START_TIMEOUT, start: int = 0) -> int:
        """Wait for the whole banner; returns (and remembers) the port of its ``serving at``."""
        index, match = self.wait_for_line(SERVING_AT, timeout, start)
        self.wait_for_line(BANNER_END, timeout, index)
        self.port = int(match["port"])
        return self.port

    def wait_for_exit(self, timeout: float = STOP_TIMEOUT) -> int:
        code = self.process.wait(timeout)
        self._reader.join(timeout)
        return code

    def signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it is still running after ``STOP_TIMEOUT``."""
        if self.process.poll() is None:
            try:
                os.kill(self.pid, signal.SIGTERM)
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.process.wait(STOP_TIMEOUT)
            except ProcessLookupError:
                pass
        self._reader.join(STOP_TIMEOUT)
        if self.process.stdout is not None:
            self.process.stdout.close()


@contextmanager
def running_server(
    args: Sequence[str], cwd: Path, env: dict[str, str], wait: bool = True
) -> Iterator[Server]:
    """A started ``runtornado`` (waited for unless ``wait`` is false), stopped on exit."""
    server = Server(args, cwd, env)
    try:
        if wait:
            server.wait_until_serving()
        yield server
    finally:
        server.stop()


class Nodes:
    """Servers of the test project (``tests/``) sharing a database file and a broker setting,
    and processes of the project without a server; every server stops when ``stack`` closes.
    """

    def __init__(self, tmp_path: Path, broker: Any, stack: ExitStack) -> None:
        self.database = tmp_path / "db.sqlite3"
        self.broker = broker
        self.stack = stack
        self.env = environment(
            "tests.django_settings",
            [REPOSITORY],
            TEST_TORNADO=json.dumps({"broker": broker}),
            TEST_DB_PATH=str(self.database),
        )

    def manage(self, *args: str) -> str:
        """``manage.py <args>``, which must succeed; its stdout."""
        return succeeded(manage(args, TESTS, self.env))

    def start(self, *extra: str, wait: bool = True) -> Server:
        server = Server(["127.0.0.1:0", "--noreload", "--skip-checks", *extra], TESTS, self.env)
        self.stack.callback(server.stop)
        if wait:
            server.wait_until_serving()
        return server

    def run_python(self, code: str) -> str:
        """Run ``code`` in a separate process with Django set up and no server; its stdout."""
        return run_python("import django; django.setup()\n" + code, TESTS, self.env)


# -- clients -----------------------------------------------------------------------------------


def ws_connect(port: int, path: str) -> ClientConnection:
    return connect(f"ws://127.0.0.1:{port}{path}", open_timeout=RECV_TIMEOUT, proxy=None)


def send_event(ws: ClientConnection, event: str, data: Any = None, ack: int | None = None) -> None:
    frame: dict[str, Any] = {"event": event, "data": {} if data is None else data}
    if ack is not None:
        frame["id"] = ack
    ws.send(json.dumps(frame))


def recv_json(ws: ClientConnection, timeout: float = RECV_TIMEOUT) -> dict[str, Any]:
    return json.loads(ws.recv(timeout=timeout))


def recv_event(ws: ClientConnection, event: str, timeout: float = RECV_TIMEOUT) -> dict[str, Any]:
    """Read frames until one carries ``event``; returns that frame."""
    deadline = time.monotonic() + timeout
    while True:
        frame = recv_json(ws, max(deadline - time.monotonic(), 0.01))
        if frame.get("event") == event:
            return frame


_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Response:
    def __init__(self, status: int, headers: Any, body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def http_get(port: int, path: str, timeout: float = RECV_TIMEOUT) -> Response:
    """GET ``path``; an HTTP error status is returned, not raised."""
    url = f"http://127.0.0.1:{port}{path}"
    try:
        with _opener.open(url, timeout=timeout) as answer:
            return Response(answer.status, answer.headers, answer.read())
    except urllib.error.HTTPError as error:
        with error:
            return Response(error.code, error.headers, error.read())


# -- a project made by the documentation's steps -----------------------------------------------

DOCUMENTED_SETTINGS = """

# django-tornado-websockets, configured as its documentation (section 2.2) says.
import os

import tornado.web

import tornado_websockets

# Django specific configuration about static files
STATIC_URL = '/static/'
STATIC_ROOT = os.path.join(BASE_DIR, 'static')

TORNADO = {
    'port': 1337,    # 8000 by default
    'handlers': [
        (r'%s(.*)' % STATIC_URL, tornado.web.StaticFileHandler, {'path': STATIC_ROOT}),
        tornado_websockets.django_app(),  # django_app is using a "wildcard" route, so it should be the last element
    ],
    'settings': {
        'debug': True,
    },
}
"""  # noqa: E501 (the documentation's lines, as they are)


class Project:
    """``django-admin startproject mysite`` + ``manage.py startapp myapp`` in a directory.

    ``base_settings`` is startproject's settings.py with ``tornado_websockets`` and ``myapp``
    added to INSTALLED_APPS (documentation, section 2.1); ``settings.py`` gets
    ``DOCUMENTED_SETTINGS`` appended.
    """

    def __init__(self, parent: Path) -> None:
        django_admin(["startproject", "mysite"], cwd=parent)
        self.root = parent / "mysite"
        self.package = self.root / "mysite"
        self.app = self.root / "myapp"
        done = manage(["startapp", "myapp"], self.root, self.env("mysite.settings"))
        assert done.returncode == 0, done.stderr
        settings = (self.package / "settings.py").read_text()
        anchor = "'django.contrib.staticfiles',"
        assert anchor in settings, "startproject's INSTALLED_APPS changed shape"
        self.base_settings = settings.replace(
            anchor, anchor + "\n    'tornado_websockets',\n    'myapp',", 1
        )
        self.write_settings("settings", DOCUMENTED_SETTINGS)

    def copy(self, parent: Path) -> Project:
        """The same project, copied into ``parent``."""
        clone = copy.copy(self)
        clone.root = parent / "mysite"
        shutil.copytree(self.root, clone.root)
        clone.package = clone.root / "mysite"
        clone.app = clone.root / "myapp"
        return clone

    def write_settings(self, name: str, tail: str) -> str:
        """Write ``mysite/<name>.py`` = base settings + ``tail``; returns the module name."""
        (self.package / f"{name}.py").write_text(self.base_settings + tail)
        return f"mysite.{name}"

    def write_views(self, source: str) -> None:
        (self.app / "views.py").write_text(source)

    def add_url(self, route: str, view: str) -> None:
        """Route ``route`` to ``myapp.views.<view>`` in startproject's urls.py."""
        urls = self.package / "urls.py"
        urls.write_text(
            urls.read_text() + f"\nfrom myapp import views as myapp_views  # noqa: E402\n"
            f"urlpatterns.append(path({route!r}, myapp_views.{view}))\n"
        )

    def env(self, settings_module: str = "mysite.settings", **extra: str) -> dict[str, str]:
        return environment(settings_module, **extra)

    def manage(self, args: Sequence[str], settings_module: str = "mysite.settings") -> str:
        done = manage(args, self.root, self.env(settings_module))
        assert done.returncode == 0, f"manage.py {' '.join(args)} failed:\n{done.stderr}"
        return done.stdout

    def server(self, args: Sequence[str], settings_module: str = "mysite.settings") -> Any:
        return running_server(args, self.root, self.env(settings_module))
