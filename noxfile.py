"""The supported Python × Django pairs, each in its own virtualenv (``nox``).

``nox -l`` lists the sessions. ``make test`` runs ``nox`` (session ``ci``): the whole suite on
the newest pair (Python 3.13 + Django 6.1) and on the oldest (3.10 + 4.2) side by side, and
beside them the version-sensitive subset (``QUICK``: Django integration, runtornado, the
connection, the testing helpers, the 0.2.x compatibility module, the worker lane, the
whole-message read) on every other pair; then the tests that bound a server's memory, alone.
``nox -s full`` runs the whole suite on every pair.

Interpreters are looked up on ``PATH`` and in pyenv (``$(pyenv root)/versions/3.X.*/bin``), so
that a pyenv installation works without ``pyenv global``/``pyenv local``.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.error_on_missing_interpreters = True
nox.options.sessions = ["ci"]

LOGS = Path(__file__).resolve().parent / ".nox" / "logs"

# Django's own supported Pythons (https://docs.djangoproject.com/en/dev/faq/install/):
# 4.2 LTS: 3.8 to 3.12; 5.2 LTS: 3.10 to 3.14; 6.1: 3.12 to 3.14. Ours start at 3.10.
SUPPORTED: dict[str, tuple[str, ...]] = {
    "4.2": ("3.10", "3.11", "3.12"),
    "5.2": ("3.10", "3.11", "3.12", "3.13"),
    "6.1": ("3.12", "3.13"),
}
PAIRS = [(python, django) for django, pythons in SUPPORTED.items() for python in pythons]
# Where a new release of Python or Django breaks us first, and where old ones linger longest.
NEWEST = ("3.13", "6.1")
OLDEST = ("3.10", "4.2")

# The version-sensitive part of the suite, for the pairs in between: everything that touches
# Django (settings, ORM, management commands, test runner), asyncio and the server's threads.
QUICK = [
    "tests/test_compat_02x.py",
    "tests/test_conf.py",
    "tests/test_connection.py",
    "tests/test_django.py",
    "tests/test_eager.py",
    "tests/test_protocol.py",
    "tests/test_runtornado.py",
    "tests/test_runtornado_startup.py",
    "tests/test_testing_helpers.py",
    "tests/test_tornadowrapper.py",
    "tests/test_versions.py",
    "tests/test_websocket_api.py",
    "tests/test_whole_messages.py",
    "tests/test_workerlane.py",
]


def _pyenv_bin_folders() -> list[str]:
    root = os.environ.get("PYENV_ROOT")
    if root is None and shutil.which("pyenv"):
        found = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=False)
        root = found.stdout.strip() or None
    root = root or str(Path.home() / ".pyenv")
    folders = []
    for python in sorted({python for python, _ in PAIRS}):
        # The newest patch release of each minor version pyenv has.
        matches = sorted(
            glob.glob(os.path.join(root, "versions", f"{python}.*", "bin", f"python{python}")),
            key=lambda path: [int(p) for p in Path(path).parts[-3].split(".") if p.isdigit()],
        )
        if matches:
            folders.append(os.path.dirname(matches[-1]))
    return folders


# pyenv's shims answer `python3.X` only for the versions selected with `pyenv global`: put the
# interpreters themselves first on PATH, where nox looks for them.
os.environ["PATH"] = os.pathsep.join([*_pyenv_bin_folders(), os.environ.get("PATH", "")])


@contextlib.contextmanager
def _install_lock() -> Iterator[None]:
    """One install at a time: ``ci`` runs sessions side by side, and an editable install
    writes the package's metadata into ``src/``."""
    LOGS.mkdir(parents=True, exist_ok=True)
    with open(LOGS / "install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _install(session: nox.Session, django: str, extra: str, *more: str) -> None:
    with _install_lock():
        session.install("-e", f".[{extra}]", f"django~={django}.0", *more)
    versions = "import django, sys; print('Django', django.get_version(), 'Python', sys.version)"
    session.run("python", "-c", versions)


# The documentation's toolchain (mkdocs-material 9.8, pymdown-extensions 13) needs Python 3.11:
# on older Pythons the site build is left to the other sessions (NEWEST builds it).
DOCS_BUILD = "tests/test_docs.py::test_the_site_builds_with_strict_and_without_warnings"


def _pytest(session: nox.Session, *args: str) -> None:
    session.run("python", "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, *session.posargs)


@nox.session
@nox.parametrize(
    "python,django",
    [nox.param(python, django, id=f"{python}-django{django}") for python, django in PAIRS],
)
def full(session: nox.Session, django: str) -> None:
    """The whole suite (browser, Redis, docs, packaging included) on one pair."""
    # tests/test_bench_loadgen.py drives the benchmark's load generator against real servers.
    _install(session, django, "dev", "-r", "bench/requirements.txt")
    if session.python == "3.10":
        _pytest(session, "--deselect", DOCS_BUILD)
    else:
        _pytest(session)


@nox.session
@nox.parametrize(
    "python,django",
    [nox.param(python, django, id=f"{python}-django{django}") for python, django in PAIRS],
)
def quick(session: nox.Session, django: str) -> None:
    """The version-sensitive subset (``QUICK``) on one pair."""
    _install(session, django, "test")
    _pytest(session, *QUICK)


@nox.session(python=False)
def ci(session: nox.Session) -> None:
    """What ``make test`` runs: ``full`` on the newest and the oldest pair and ``quick`` on
    every other pair, ``NOX_JOBS`` sessions at a time (3 by default: the two whole suites side
    by side, the quick sessions one after the other in the third lane), then the ``memory``
    tests of both whole suites, alone. Each session's output goes to
    ``.nox/logs/<session>.log``, printed when the session fails.

    The two whole suites run side by side because they spend most of their time waiting
    (servers, browsers, timeouts), not computing: on two cores, each took as long beside the
    other as alone. Tests must pass on a loaded machine anyway, except those marked
    ``memory``: they bound a server's peak RSS, and with the other suite running (or two
    busy loops on the cores) the peak of one test's server moved by up to 18 MiB from run to
    run, against a 8 MiB margin. They run afterwards, one pair at a time, nothing beside them.
    """
    command = [sys.executable, "-m", "nox", "--reuse-existing-virtualenvs", "--no-color", "-s"]
    LOGS.mkdir(parents=True, exist_ok=True)

    def run_logged(name: str) -> tuple[str, int, float]:
        started = time.monotonic()
        session_name, _, pytest_args = name.partition(" -- ")
        arguments = ["--", *shlex.split(pytest_args)] if pytest_args else []
        with open(log_of(name), "w") as log:
            code = subprocess.run(
                [*command, session_name, *arguments],
                stdout=log,
                stderr=subprocess.STDOUT,
                check=False,
            ).returncode
        return name, code, time.monotonic() - started

    def log_of(name: str) -> Path:
        return LOGS / (re.sub(r"[^\w().-]+", "_", name).strip("_") + ".log")

    def run_all(names: list[str], jobs: int) -> list[str]:
        session.log(f"{len(names)} sessions, {jobs} at a time; logs in {LOGS}")
        failed = []
        with ThreadPoolExecutor(jobs) as pool:
            for name, code, seconds in pool.map(run_logged, names):
                log = log_of(name).read_text()
                summary = [
                    line for line in log.splitlines() if " passed" in line or " failed" in line
                ]
                outcome = "ok" if code == 0 else "FAILED"
                session.log(
                    f"{name}: {outcome} in {seconds:.0f}s; {summary[-1] if summary else ''}"
                )
                if code != 0:
                    print(log, flush=True)
                    failed.append(name)
        return failed

    full_names = [f"full({p}-django{d})" for p, d in (NEWEST, OLDEST)]
    quick_names = [f"quick({p}-django{d})" for p, d in PAIRS if (p, d) not in (NEWEST, OLDEST)]
    jobs = int(os.environ.get("NOX_JOBS", 3))
    failed = run_all([f"{name} -- -m 'not memory'" for name in full_names] + quick_names, jobs)
    failed += run_all([f"{name} -- -m memory" for name in full_names], 1)
    if failed:
        session.error("failed: " + ", ".join(failed))


@nox.session(python=sorted({python for python, _ in PAIRS}))
def bench(session: nox.Session) -> None:
    """``bench/run.py`` on this Python (arguments after ``--``, e.g. ``-- --quick``), with the
    pinned load generator, peer servers and chart of ``bench/requirements*.txt``."""
    session.install(
        "-e", ".[redis]", "-r", "bench/requirements.txt", "-r", "bench/requirements-peers.txt"
    )
    session.run("python", "bench/run.py", *session.posargs)
