"""Benchmark django-tornado-websockets against raw Tornado and its peers, in one command.

    python bench/run.py            # every cell, every server, 3 repeats (about 30 minutes)
    python bench/run.py --goals    # the goals' table alone (about 13 minutes)
    python bench/run.py --quick    # the library and its baselines, short cells (under 2 min)

Each step starts fresh server processes (one, or two sharing Redis) pinned to one core, runs
one load generator process pinned to another, then stops the servers by PID. Steps go
round-robin over the servers inside each repeat, so that background noise and drift hit every
server alike. Prints the markdown tables and writes them to bench/results/latest.md, with a
chart (latest.png), latest.json (aggregated) and latest.raw.json (every sample) beside it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import redis_service
from chart import write_chart
from compiled import ensure_built
from plan import (
    BENCH_DIR,
    DEFAULT_SERVERS,
    GOALS_CELLS,
    GOALS_SERVERS,
    NOISY_BACKGROUND_PCT,
    OPT_IN_SERVERS,
    QUICK_SERVERS,
    SERVER_KINDS,
    Cell,
    Timing,
    build_plan,
)
from procstats import speed_probe_s
from render import render
from report import METRICS, aggregate, machine
from serverproc import BenchError, ServerProcess, ServerStartError, run_loadgen

REQUIREMENTS = (BENCH_DIR / "requirements.txt", BENCH_DIR / "requirements-peers.txt")

RESULTS_DIR = BENCH_DIR / "results"
# A step disturbed by other processes (plan.NOISY_BACKGROUND_PCT) is tried this many times.
MAX_ATTEMPTS_PER_STEP = 3


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter cells")
    parser.add_argument(
        "--servers",
        help=f"comma-separated, among {', '.join(SERVER_KINDS)} (default: all but "
        f"{', '.join(OPT_IN_SERVERS)}; with --quick: {', '.join(QUICK_SERVERS)})",
    )
    parser.add_argument("--cells", help="comma-separated cell keys to run, e.g. echo-100")
    parser.add_argument(
        "--goals",
        action="store_true",
        help=f"the goals' table only: servers {','.join(GOALS_SERVERS)}, cells "
        f"{','.join(GOALS_CELLS)} (about 13 minutes on 2 cores)",
    )
    parser.add_argument("--repeats", type=int, help="repeats per cell (default 3)")
    parser.add_argument("--server-cpu", type=int, default=0, help="core for the servers")
    parser.add_argument("--load-cpu", type=int, default=1, help="core for the load generator")
    parser.add_argument("--output-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args()
    if args.goals:
        if args.quick or args.servers or args.cells:
            parser.error("--goals chooses the servers and cells itself")
        args.servers, args.cells = ",".join(GOALS_SERVERS), ",".join(GOALS_CELLS)
    if args.servers is None:
        args.servers = ",".join(QUICK_SERVERS if args.quick else DEFAULT_SERVERS)
    unknown = set(args.servers.split(",")) - set(SERVER_KINDS)
    if unknown:
        parser.error(f"unknown servers: {', '.join(sorted(unknown))}")
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def missing_requirements() -> list[str]:
    """Pinned requirements (``name==version``) of the bench not installed at that version."""
    missing = []
    for path in REQUIREMENTS:
        for line in path.read_text().splitlines():
            requirement = line.split("#", 1)[0].strip()
            if not requirement:
                continue
            name, _, version = requirement.partition("==")
            try:
                installed = metadata.version(name.split("[", 1)[0])
            except metadata.PackageNotFoundError:
                installed = None
            if installed != version:
                missing.append(f"{requirement} (installed: {installed or 'none'})")
    return missing


def ensure_requirements_installed() -> None:
    """Install bench/requirements*.txt (the load generator, the peer servers, the chart) into
    this virtualenv when a pin is missing, so that the suite stays one command; never into a
    system Python."""
    missing = missing_requirements()
    if not missing:
        return
    files = " ".join(f"-r {path}" for path in REQUIREMENTS)
    if sys.prefix == sys.base_prefix:
        sys.exit(f"missing {', '.join(missing)}: pip install {files}")
    print(f"missing {', '.join(missing)}: installing into {sys.prefix}", file=sys.stderr)
    pip = [sys.executable, "-m", "pip", "install", "-q"]
    for path in REQUIREMENTS:
        pip += ["-r", str(path)]
    if subprocess.run(pip, check=False).returncode != 0:
        sys.exit(f"could not install {files}")


def choose_cpus(server_cpu: int, load_cpu: int) -> tuple[int | None, int | None]:
    available = os.sched_getaffinity(0)
    if {server_cpu, load_cpu} <= available and server_cpu != load_cpu:
        return server_cpu, load_cpu
    print(
        f"warning: cores {server_cpu} and {load_cpu} are not two available cores "
        f"({sorted(available)}): nothing is pinned, figures will be noisier",
        file=sys.stderr,
    )
    return None, None


def raise_open_files_limit() -> None:
    # Children inherit it: 5,000 connections need 5,000 descriptors on each side.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def select_cells(cells: list[Cell], wanted: str | None) -> list[Cell]:
    if not wanted:
        return cells
    keys = wanted.split(",")
    unknown = set(keys) - {cell.key for cell in cells}
    if unknown:
        sys.exit(f"unknown cells {sorted(unknown)}; this plan has {[c.key for c in cells]}")
    return [cell for cell in cells if cell.key in keys]


def headline(cell: Cell, result: dict[str, Any]) -> str:
    metric = METRICS[cell.workload][0]
    cpu = result.get("server_cpu_pct")
    return f"{result[metric.key]:,.1f} {metric.label}" + (
        f" (server {cpu:.0f}% CPU)" if cpu is not None else ""
    )


def uses_redis(cell: Cell, server: str) -> bool:
    return SERVER_KINDS[server].uses_redis or cell.workload == "redis"


def run_step(
    cell: Cell,
    server: str,
    timing: Timing,
    cpus: tuple[int | None, int | None],
    log: Path,
    redis_prefix: str | None,
    redis_pid: int | None,
) -> dict[str, Any]:
    """Fresh server processes (``cell.processes`` of them), one load generator run:
    ``result`` and/or ``error``. Raises ServerStartError when a server never got ready."""
    server_cpu, load_cpu = cpus
    kind = SERVER_KINDS[server]
    extra_args = ["--redis-prefix", redis_prefix] if redis_prefix else []
    outcome: dict[str, Any] = {}
    processes: list[ServerProcess] = []
    try:
        with contextlib.ExitStack() as running:
            for _ in range(cell.processes):
                process = ServerProcess(kind, server_cpu, log, timing.quiet_wait_s, extra_args)
                processes.append(running.enter_context(process))
            args = cell.loadgen_args(timing)
            timeout = cell.timeout_s(timing)
            outcome["result"] = run_loadgen(processes, args, load_cpu, timeout, redis_pid)
            for process in processes:
                process.wait_idle()
        for process in processes:
            process.check_clean_exit()
    except ServerStartError:
        raise
    except BenchError as error:
        outcome["error"] = str(error)
    finally:
        if redis_prefix:
            redis_service.delete_keys(redis_prefix)
    return outcome


def plan_steps(cells: list[Cell], servers: list[str], repeats: int) -> list[tuple[int, Cell, str]]:
    return [
        (repeat, cell, server)
        for repeat in range(repeats)
        for cell in cells
        for server in servers
        if cell.runs_on(server)
    ]


def find_redis(steps: list[tuple[int, Cell, str]]) -> tuple[int | None, str | None]:
    """Redis's PID when a step needs it, or the reason those steps cannot run."""
    if not any(uses_redis(cell, server) for _, cell, server in steps):
        return None, None
    try:
        return redis_service.redis_pid(), None
    except redis_service.RedisUnavailableError as error:
        return None, str(error)


def run_steps(
    steps: list[tuple[int, Cell, str]], timing: Timing, cpus: tuple[int | None, int | None]
) -> list[dict[str, Any]]:
    """Every step of the plan; a step disturbed by other processes is run again, within a
    budget that bounds the whole run to 1.1 times its length."""
    retries_left = max(2, len(steps) // 10)
    samples: list[dict[str, Any]] = []
    unstartable: dict[str, str] = {}
    redis_pid, redis_error = find_redis(steps)
    log_dir = Path(tempfile.mkdtemp(prefix="dtw-bench-"))
    print(f"server logs: {log_dir}", file=sys.stderr)
    for number, (repeat, cell, server) in enumerate(steps, 1):
        where = f"[{number:>3}/{len(steps)}] {cell.key} · {server} · repeat {repeat + 1}"
        needs_redis = uses_redis(cell, server)
        for attempt in range(MAX_ATTEMPTS_PER_STEP):
            sample: dict[str, Any] = {"server": server, "cell": cell.key, "repeat": repeat}
            samples.append(sample)
            if server in unstartable or (needs_redis and redis_error):
                sample["error"] = unstartable.get(server) or redis_error
                break
            prefix = redis_service.step_prefix(number) if needs_redis else None
            step_started = time.monotonic()
            try:
                log = log_dir / f"{server}.log"
                pid = redis_pid if needs_redis else None
                sample.update(run_step(cell, server, timing, cpus, log, prefix, pid))
            except ServerStartError as error:
                unstartable[server] = sample["error"] = str(error)
            sample["step_s"] = round(time.monotonic() - step_started, 1)
            if "error" in sample:
                print(f"{where}: ERROR {sample['error']}", file=sys.stderr)
                break
            figures = headline(cell, sample["result"])
            noise = sample["result"].get("background_cpu_pct", 0.0)
            if noise <= NOISY_BACKGROUND_PCT or not retries_left:
                print(f"{where}: {figures}", file=sys.stderr)
                break
            if attempt + 1 < MAX_ATTEMPTS_PER_STEP:
                retries_left -= 1
                sample["discarded"] = f"other processes used {noise:.0f}% of a core"
                print(f"{where}: {figures}; {sample['discarded']}: again", file=sys.stderr)
            else:
                print(f"{where}: {figures}; kept, noisy ({noise:.0f}%)", file=sys.stderr)
    return samples


def main() -> None:
    args = parse_args()
    ensure_requirements_installed()
    raise_open_files_limit()
    cpus = choose_cpus(args.server_cpu, args.load_cpu)
    if cpus[1] is not None:
        # This process mostly waits; keep it off the servers' core all the same.
        os.sched_setaffinity(0, {cpus[1]})
    cells, timing = build_plan(args.quick, args.repeats)
    cells = select_cells(cells, args.cells)
    servers = args.servers.split(",")
    command = (
        "python bench/run.py"
        + (" --quick" if args.quick else "")
        + (" --goals" if args.goals else "")
    )
    steps = plan_steps(cells, servers, timing.repeats)
    if not steps:
        sys.exit("nothing to run: none of these servers runs any of these cells")
    cells = [cell for cell in cells if any(cell.runs_on(server) for server in servers)]

    started = time.monotonic()
    info = machine()
    info["frame_counting"] = ensure_built()
    info["started_at"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    info["server_cpu"], info["load_cpu"] = cpus
    info["speed_probe_s"] = [round(speed_probe_s(), 3)]
    samples = run_steps(steps, timing, cpus)
    info["speed_probe_s"].append(round(speed_probe_s(), 3))
    info["duration_s"] = time.monotonic() - started
    info["steps_run_again"] = sum("discarded" in sample for sample in samples)

    table = aggregate(samples, cells, servers)
    markdown = render(command, info, table, cells, servers, timing)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "latest.md").write_text(markdown)
    summary = {
        "command": command,
        "machine": info,
        "timing": vars(timing),
        "cells": [cell.key for cell in cells],
        "servers": servers,
        "results": table,
    }
    (args.output_dir / "latest.json").write_text(json.dumps(summary, indent=2) + "\n")
    (args.output_dir / "latest.raw.json").write_text(json.dumps(samples, indent=1) + "\n")
    write_chart(
        table, cells, servers, args.output_dir / "latest.png", f"{command}, {info['started_at']}"
    )
    print(markdown)
    print(f"took {info['duration_s'] / 60:.1f} min ({len(steps)} steps)", file=sys.stderr)
    if any("error" in sample for sample in samples):
        sys.exit(1)


if __name__ == "__main__":
    main()
