"""Server and load generator processes: started pinned to a core, bounded, stopped by PID."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from plan import BENCH_DIR, ServerKind
from procstats import machine_busy_seconds, tree_cpu_seconds

READY_TIMEOUT_S = 30.0
# After a step, how long a server may take to finish the work the load left it (thousands of
# disconnections to handle) before it is asked to stop.
SETTLE_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0
QUIET_SAMPLE_S = 0.15
# Busy CPU time allowed per second of wall time, all cores together, to call the machine quiet.
QUIET_BUSY_FRACTION = 0.08


class BenchError(Exception):
    """A server or a load generator run that failed; the message says how."""


class ServerStartError(BenchError):
    """The server never got ready: the other steps on that server are skipped."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the server binds it a moment later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def pinned(cpu: int | None, argv: list[str]) -> list[str]:
    # taskset execs the command, so the PID we get is the Python process itself.
    return argv if cpu is None else ["taskset", "--cpu-list", str(cpu), *argv]


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class ServerProcess:
    """One server process on a free port; use as a context manager so it is always stopped."""

    def __init__(
        self,
        kind: ServerKind,
        cpu: int | None,
        log_path: Path,
        quiet_wait_s: float,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.kind = kind
        self.extra_args = list(extra_args)
        self.quiet_wait_s = quiet_wait_s
        self.cpu = cpu
        self.log_path = log_path
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.exit_code: int | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def url(self) -> str:
        return f"{self.kind.scheme}://127.0.0.1:{self.port}{self.kind.path}"

    def __enter__(self) -> ServerProcess:
        with open(self.log_path, "ab") as log:
            argv = [sys.executable, str(self.kind.script), *self.kind.args, *self.extra_args]
            argv += ["--port", str(self.port)]
            self.process = subprocess.Popen(
                pinned(self.cpu, argv), stdout=log, stderr=subprocess.STDOUT, cwd=BENCH_DIR
            )
        try:
            self._wait_listening()
            self._wait_quiet()
        except BenchError as error:
            self.stop()
            raise ServerStartError(str(error)) from error
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def failure(self, what: str) -> BenchError:
        return BenchError(f"{self.kind.name} {what}; log:\n{log_tail(self.log_path)}")

    def _wait_listening(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise self.failure(f"exited with code {self.process.returncode} while starting")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise self.failure(f"not listening on port {self.port} after {READY_TIMEOUT_S:.0f} s")

    def _wait_quiet(self) -> None:
        """Wait until the machine is quiet: this server's start-up is over (imports, Django)
        and other processes leave the cores alone, within ``quiet_wait_s``. Past it the step
        runs anyway; the background CPU measured during the step tells how noisy it was."""
        deadline = time.monotonic() + self.quiet_wait_s
        while time.monotonic() < deadline:
            before = machine_busy_seconds()
            time.sleep(QUIET_SAMPLE_S)
            if machine_busy_seconds() - before < QUIET_BUSY_FRACTION * QUIET_SAMPLE_S:
                return

    def wait_idle(self) -> None:
        """Wait until the server's processes use next to no CPU, or SETTLE_TIMEOUT_S.

        The load generator closes its connections as it exits; a server may need seconds to
        process that many disconnections (Channels: a Redis command each), and a SIGTERM in
        the middle of them would be timed as its shutdown."""
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while time.monotonic() < deadline and self.process is not None:
            if self.process.poll() is not None:
                return
            before = tree_cpu_seconds(self.pid)
            time.sleep(QUIET_SAMPLE_S)
            if tree_cpu_seconds(self.pid) - before < QUIET_BUSY_FRACTION * QUIET_SAMPLE_S:
                return

    def stop(self) -> None:
        """SIGTERM by PID, SIGKILL if still alive after STOP_TIMEOUT_S; records the exit code."""
        if self.process is None or self.exit_code is not None:
            return
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.exit_code = self.process.returncode

    def check_clean_exit(self) -> None:
        """A server must exit 0 on SIGTERM (that is part of what is tested)."""
        if self.exit_code not in (0, None):
            raise self.failure(f"exited with code {self.exit_code} on SIGTERM")


def run_loadgen(
    servers: Sequence[ServerProcess],
    args: list[str],
    cpu: int | None,
    timeout_s: float,
    redis_pid: int | None = None,
) -> dict[str, Any]:
    """Run one load generator step against ``servers`` (one, or several sharing a broker);
    returns its JSON result."""
    argv = [sys.executable, str(BENCH_DIR / "loadgen.py"), *args, "--wire", servers[0].kind.wire]
    for server in servers:
        argv += ["--url", server.url, "--server-pid", str(server.pid)]
    if redis_pid is not None:
        argv += ["--redis-pid", str(redis_pid)]
    try:
        done = subprocess.run(
            pinned(cpu, argv), capture_output=True, timeout=timeout_s, cwd=BENCH_DIR, check=False
        )
    except subprocess.TimeoutExpired as timeout:
        raise BenchError(f"load generator killed after {timeout_s:.0f} s: {args}") from timeout
    for server in servers:
        if server.process is not None and server.process.poll() is not None:
            raise server.failure(f"died during the step (exit code {server.process.returncode})")
    try:
        result: dict[str, Any] = json.loads(done.stdout)
    except ValueError:
        stderr = done.stderr.decode(errors="replace").strip().splitlines()
        raise BenchError(f"load generator failed: {' | '.join(stderr[-3:])}") from None
    problems = [result["error"]] if "error" in result else []
    for key in ("dropped_connections", "unexpected_frames"):
        if result[key]:
            problems.append(f"{key}={result[key]}")
    if result["first_unexpected"] is not None:
        problems.append(f"first unexpected frame: {json.dumps(result['first_unexpected'])}")
    if problems:
        raise BenchError("; ".join(problems))
    return result
