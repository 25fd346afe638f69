"""The load generator's frame counting (frame_counter.py), compiled by Cython when it can be.

frame_counter.py is plain Python; frame_counter.pxd declares the types that make Cython turn it
into a C extension: ``FrameCounter`` becomes an aiofastnet protocol, which the transport calls
without a Python method lookup, and the walk over a read's frame headers runs on C integers.
The extension is built into ``bench/.build/<interpreter>/`` (``$DTW_BENCH_BUILD/<interpreter>/``
when set), outside the sources, one directory per interpreter. The load generator imports it
from there when it is newer than both files, and the plain module otherwise, so it runs
either way; the results' machine line says which.

    python bench/compiled.py       # build (run.py does it before its first step)

Why: in the broadcast cells the load generator's core is the limit that comes next after the
server's, and a third of its time went to Python (the header walk, the run's bookkeeping);
the kernel's part (the receive, the ACK it sends, which the loopback delivers on the same
core) stays. Measured in bench/README.md, *Load generator*.
"""

from __future__ import annotations

import importlib.machinery
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
# DTW_BENCH_BUILD moves it (the tests build into a directory of their own).
BUILD_ROOT = Path(os.environ.get("DTW_BENCH_BUILD") or BENCH_DIR / ".build")
MODULE = "frame_counter"
SOURCES = (BENCH_DIR / f"{MODULE}.py", BENCH_DIR / f"{MODULE}.pxd")


def build_dir() -> Path:
    return BUILD_ROOT / sys.implementation.cache_tag


def built_extension(directory: Path) -> Path | None:
    """The extension built in ``directory``, if it is there and newer than its sources."""
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        candidate = directory / f"{MODULE}{suffix}"
        if candidate.exists():
            newest_source = max(source.stat().st_mtime for source in SOURCES)
            return candidate if candidate.stat().st_mtime >= newest_source else None
    return None


def build(directory: Path) -> Path:
    """Compile frame_counter.py into ``directory``; raises on any failure (no Cython, no C
    compiler, an error in the sources)."""
    from Cython.Build import cythonize
    from setuptools import Distribution, Extension

    directory.mkdir(parents=True, exist_ok=True)
    extension = Extension(MODULE, [str(SOURCES[0])], include_dirs=[str(BENCH_DIR)])
    modules = cythonize(
        [extension],
        build_dir=str(directory / "c"),
        compiler_directives={"language_level": 3, "annotation_typing": False},
        quiet=True,
    )
    distribution = Distribution({"ext_modules": modules, "script_args": ["-q"]})
    command = distribution.get_command_obj("build_ext")
    command.build_lib = str(directory)
    command.build_temp = str(directory / "tmp")
    command.force = True
    command.ensure_finalized()
    command.run()
    built = built_extension(directory)
    if built is None:
        raise RuntimeError(f"Cython built nothing in {directory}")
    return built


def ensure_built() -> str:
    """Build unless a fresh extension is there, in a process of its own (the compiler's output
    is shown only when it fails). Returns how the load generator will count frames, for the
    results' machine line: "compiled by Cython X", or "interpreted" and why."""
    if built_extension(build_dir()) is None:
        done = subprocess.run(
            [sys.executable, str(Path(__file__))], capture_output=True, text=True, check=False
        )
        if done.returncode != 0 or built_extension(build_dir()) is None:
            tail = (done.stderr or done.stdout).strip().splitlines()[-12:]
            print("The frame counter could not be compiled:", *tail, sep="\n  ", file=sys.stderr)
            last = tail[-1] if tail else f"exit status {done.returncode}"
            # The machine line names the error, not the whole compiler command.
            last = last if len(last) <= 100 else last[:97] + "..."
            return f"interpreted (its build failed: {last})"
    return f"compiled by Cython {metadata.version('Cython')}"


def use_built() -> None:
    """Put the build directory first on ``sys.path`` when it holds a fresh extension: call
    before anything imports frame_counter."""
    if built_extension(build_dir()) is not None:
        sys.path.insert(0, str(build_dir()))


if __name__ == "__main__":
    print(build(build_dir()))
