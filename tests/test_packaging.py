"""Packaging: what the wheel and the sdist hold, and a wheel installed in a fresh virtualenv.

The distributions are built once for this module with ``python -m build`` (from the sdist, so
the sdist is shown to be enough to rebuild the wheel). When this interpreter already satisfies
the ``[build-system]`` requirements, the build runs without isolation (fast, offline); otherwise
``build`` makes its isolated environment, which downloads setuptools.

The install test creates a virtualenv of its own, installs the wheel and its dependencies
into it from the package index, starts a project with ``django-admin startproject``, collects
the static files and serves a WebSocket with ``runtornado``, talked to from this process.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import queue
import re
import signal
import subprocess
import sys
import tarfile
import threading
import time
import urllib.request
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest
from websockets.sync.client import connect

from .skipping import require

REPOSITORY = Path(__file__).resolve().parent.parent
PACKAGE = REPOSITORY / "src" / "tornado_websockets"
STATIC = PurePosixPath("static", "tornado_websockets")
CLIENT_FILES = ("client.js", "client.mjs", "client.d.ts", "client.d.mts")
DIST = "django_tornado_websockets"  # the distribution name as file names spell it

REQUIRED_IN_PACKAGE = {
    "__init__.py",
    "py.typed",
    "management/__init__.py",
    "management/commands/__init__.py",
    "management/commands/runtornado.py",
    "brokers/__init__.py",
    "modules/__init__.py",
    *(str(STATIC / name) for name in CLIENT_FILES),
}
# Directories that belong to the repository, never to a distribution.
STRAY_DIRECTORIES = {
    "__pycache__", "tests", "example", "bench", "client", "docs", "node_modules", ".venv",
    "test-artifacts", "results", "build", "dist", ".git", ".mypy_cache", ".pytest_cache",
    ".ruff_cache", ".hypothesis", "static_collected",
}  # fmt: skip
SDIST_TOP_LEVEL = {"PKG-INFO", "pyproject.toml", "README.md", "LICENSE", "MANIFEST.in"}
SDIST_OPTIONAL = {"setup.cfg"}  # written by setuptools' sdist command

BUILD_TIMEOUT = 240.0
INSTALL_TIMEOUT = 240.0
COMMAND_TIMEOUT = 60.0
START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
RECV_TIMEOUT = 10.0
SERVING_AT = re.compile(r"serving at http://127\.0\.0\.1:(?P<port>\d+)/")

# The module's fixture builds the distributions within the first test: each step has its own
# timeout, this one bounds the whole.
pytestmark = pytest.mark.timeout(BUILD_TIMEOUT + INSTALL_TIMEOUT)


@dataclass(frozen=True)
class Distributions:
    wheel: Path
    sdist: Path
    version: str


def package_files() -> set[str]:
    """Every file of the source package, as paths relative to it (caches left out)."""
    return {
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and path.suffix not in {".pyc", ".pyo"}
    }


def stray_parts(name: str) -> set[str]:
    """The directories of an archive member's path that have no business in a distribution."""
    return set(PurePosixPath(name).parts[:-1]) & STRAY_DIRECTORIES


def build_requirements_installed() -> bool:
    """Whether this interpreter satisfies ``[build-system] requires`` (then: no isolation)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: let build make its isolated environment
        return False
    from packaging.requirements import Requirement

    with open(REPOSITORY / "pyproject.toml", "rb") as file:
        requires = tomllib.load(file)["build-system"]["requires"]
    for text in requires:
        requirement = Requirement(text)
        try:
            installed = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            return False
        if not requirement.specifier.contains(installed, prereleases=True):
            return False
    return True


def run(
    command: Sequence[str | Path],
    timeout: float,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` to completion and fail with its output unless it exits with 0."""
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, (
        f"{' '.join(map(str, command))} exited with {done.returncode}:\n"
        f"{done.stdout}\n{done.stderr}"
    )
    return done


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Distributions:
    require(importlib.util.find_spec("build") is not None, "build is not installed")
    outdir = tmp_path_factory.mktemp("dist")
    isolation = ["--no-isolation"] if build_requirements_installed() else []
    run([sys.executable, "-m", "build", *isolation, "--outdir", outdir, REPOSITORY], BUILD_TIMEOUT)
    wheels = sorted(outdir.glob("*.whl"))
    sdists = sorted(outdir.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(p.name for p in outdir.iterdir())
    match = re.fullmatch(rf"{DIST}-(?P<version>[^-]+)-py3-none-any\.whl", wheels[0].name)
    assert match, f"unexpected wheel name {wheels[0].name}"
    version = match["version"]
    assert sdists[0].name == f"{DIST}-{version}.tar.gz"
    return Distributions(wheels[0], sdists[0], version)


def test_the_wheel_holds_the_package_and_nothing_else(dists: Distributions) -> None:
    dist_info = f"{DIST}-{dists.version}.dist-info"
    with zipfile.ZipFile(dists.wheel) as wheel:
        names = [name for name in wheel.namelist() if not name.endswith("/")]
        metadata = wheel.read(f"{dist_info}/METADATA").decode()
        top_level = wheel.read(f"{dist_info}/top_level.txt").decode().split()
        shipped_client = {
            name: wheel.read(f"tornado_websockets/{STATIC / name}") for name in CLIENT_FILES
        }

    assert {name.split("/")[0] for name in names} == {"tornado_websockets", dist_info}
    assert top_level == ["tornado_websockets"]
    assert not [name for name in names if stray_parts(name) or name.endswith((".pyc", ".pyo"))]

    in_package = {
        name.removeprefix("tornado_websockets/")
        for name in names
        if name.startswith("tornado_websockets/")
    }
    assert REQUIRED_IN_PACKAGE <= in_package, REQUIRED_IN_PACKAGE - in_package
    # Exactly the source package: every module (migrations included, if any), py.typed and
    # the built client; a file added under src/ that the wheel misses fails here.
    assert in_package == package_files()
    for name, content in shipped_client.items():
        assert content == (PACKAGE / STATIC / name).read_bytes(), name

    assert f"{dist_info}/licenses/LICENSE" in names
    assert "Name: django-tornado-websockets" in metadata
    assert f"Version: {dists.version}" in metadata
    assert "License-Expression: MIT" in metadata
    assert "Description-Content-Type: text/markdown" in metadata


def test_the_sdist_holds_what_rebuilds_the_wheel(dists: Distributions) -> None:
    root = f"{DIST}-{dists.version}/"
    with tarfile.open(dists.sdist) as sdist:
        members = [member.name for member in sdist.getmembers() if member.isfile()]
    assert all(name.startswith(root) for name in members), members
    files = {name.removeprefix(root) for name in members}
    egg_info = {name for name in files if name.startswith(f"src/{DIST}.egg-info/")}

    assert not [name for name in files if stray_parts(name) or name.endswith((".pyc", ".pyo"))]
    expected = SDIST_TOP_LEVEL | {f"src/tornado_websockets/{name}" for name in package_files()}
    if (REPOSITORY / "CHANGELOG.md").is_file():
        expected.add("CHANGELOG.md")
    assert files - egg_info - SDIST_OPTIONAL == expected


def test_twine_check_passes(dists: Distributions) -> None:
    require(importlib.util.find_spec("twine") is not None, "twine is not installed")
    run(
        [sys.executable, "-m", "twine", "check", "--strict", dists.wheel, dists.sdist],
        COMMAND_TIMEOUT,
    )


SOCKETS_MODULE = '''\
"""The WebSocket applications of this project (imported by urls.py)."""

from tornado_websockets.websocket import WebSocket

echo = WebSocket("/echo")


@echo.on
def message(socket, data):
    socket.emit("message", data)
'''


class Runtornado:
    """``manage.py runtornado`` of the fresh virtualenv, its output read line by line."""

    def __init__(self, python: Path, project: Path, env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self.process = subprocess.Popen(
            [str(python), "manage.py", "runtornado", "127.0.0.1:0", "--noreload"],
            cwd=project,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_until_serving(self) -> int:
        deadline = time.monotonic() + START_TIMEOUT
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
            if match := SERVING_AT.search(line):
                return int(match["port"])
        raise AssertionError("runtornado did not start; its output:\n" + "\n".join(self.lines))

    def terminate(self) -> int:
        """SIGTERM by PID; the exit code."""
        os.kill(self.process.pid, signal.SIGTERM)
        return self.process.wait(STOP_TIMEOUT)

    def close(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(STOP_TIMEOUT)
        self._reader.join(STOP_TIMEOUT)
        if self.process.stdout is not None:
            self.process.stdout.close()


def test_the_wheel_installed_in_a_fresh_virtualenv_serves_a_new_project(
    dists: Distributions, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv], COMMAND_TIMEOUT)
    bin_dir = venv / "bin"
    python = bin_dir / "python"
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DJANGO_SETTINGS_MODULE", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}
    }
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", PYTHONUNBUFFERED="1")
    env.update(PYTHONNOUSERSITE="1", PIP_DISABLE_PIP_VERSION_CHECK="1")

    # The wheel and its dependencies (Django, Tornado) from the package index.
    run([python, "-m", "pip", "install", "--quiet", dists.wheel], INSTALL_TIMEOUT, tmp_path, env)
    where = run(
        [python, "-c", "import tornado_websockets; print(tornado_websockets.__file__)"],
        COMMAND_TIMEOUT,
        tmp_path,
        env,
    ).stdout.strip()
    assert Path(where).resolve().is_relative_to(venv.resolve()), where

    project = tmp_path / "project"
    project.mkdir()
    run([bin_dir / "django-admin", "startproject", "mysite", project], COMMAND_TIMEOUT, env=env)
    package = project / "mysite"
    with open(package / "settings.py", "a") as settings:
        settings.write(
            '\nINSTALLED_APPS += ["tornado_websockets"]\n'
            'STATIC_ROOT = BASE_DIR / "static_collected"\n'
        )
    (package / "sockets.py").write_text(SOCKETS_MODULE)
    with open(package / "urls.py", "a") as urls:
        urls.write("\nfrom . import sockets  # noqa: E402,F401  (declares the WebSockets)\n")

    run([python, "manage.py", "collectstatic", "--noinput"], COMMAND_TIMEOUT, project, env)
    collected = project / "static_collected" / "tornado_websockets"
    assert (collected / "client.js").is_file()
    for name in CLIENT_FILES:
        assert (collected / name).read_bytes() == (PACKAGE / STATIC / name).read_bytes(), name

    server = Runtornado(python, project, env)
    try:
        port = server.wait_until_serving()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=RECV_TIMEOUT) as page:
            assert page.status == 200  # Django's page of a new project, served through Tornado
        with connect(f"ws://127.0.0.1:{port}/ws/echo", open_timeout=RECV_TIMEOUT) as client:
            client.send(json.dumps({"event": "message", "data": {"text": "hello"}}))
            deadline = time.monotonic() + RECV_TIMEOUT
            while True:
                frame = json.loads(client.recv(timeout=max(0.0, deadline - time.monotonic())))
                if frame.get("event") == "message":
                    break
            assert frame["data"] == {"text": "hello"}
        assert server.terminate() == 0, "\n".join(server.lines)
    finally:
        server.close()
