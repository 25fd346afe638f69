"""Redis for the tests: the machine's server, or a private redis-server a test starts and stops.

Locally, tests that need Redis skip with a reason when it is missing; under CI they fail.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .processes import free_port
from .skipping import require

MACHINE_REDIS = "redis://127.0.0.1:6379/0"
TIMEOUT = 30.0


def redis_answers(url: str) -> bool:
    try:
        import redis
    except ImportError:
        return False
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


@pytest.fixture(scope="session")
def machine_redis() -> str:
    require(redis_answers(MACHINE_REDIS), f"Redis does not answer on {MACHINE_REDIS}")
    return MACHINE_REDIS


class RedisServer:
    """A ``redis-server`` child process on a fixed free port, started and stopped at will."""

    def __init__(self, executable: str, port: int, directory: Path) -> None:
        self.executable, self.port, self.directory = executable, port, directory
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self.process is None, "already running"
        self.process = subprocess.Popen(
            [
                self.executable,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + TIMEOUT
        while not redis_answers(self.url):
            if self.process.poll() is not None:
                pytest.fail(f"redis-server exited with {self.process.returncode} on {self.port}")
            if time.monotonic() > deadline:
                pytest.fail(f"redis-server did not answer on port {self.port} in {TIMEOUT} s")
            time.sleep(0.02)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        process.send_signal(signal.SIGCONT)  # a paused server would never see SIGTERM
        process.terminate()
        try:
            process.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(TIMEOUT)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A private Redis, not started yet: the test starts (and stops) it."""
    executable = shutil.which("redis-server")
    require(executable is not None, "redis-server is not installed")
    require(_has_redis_py(), "redis-py is not installed")
    assert executable is not None
    server = RedisServer(executable, free_port(), tmp_path)
    yield server
    server.stop()


def _has_redis_py() -> bool:
    try:
        import redis  # noqa: F401
    except ImportError:
        return False
    return True
