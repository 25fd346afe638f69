"""Benchmark django-tornado-websockets against a raw Tornado WebSocketHandler, in one command.

    python bench/run.py            # every cell, 3 repeats (7 to 9 minutes on 2 cores)
    python bench/run.py --quick    # fewer, shorter cells (1.5 to 2 minutes)

Each step starts one fresh server process pinned to one core, runs one load generator
process pinned to another, then stops the server by PID. Steps go round-robin over the
servers inside each repeat, so that background noise and drift hit every server alike.
Prints one markdown table and writes it to bench/results/latest.md, with latest.json
(aggregated) and latest.raw.json (every sample) beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from plan import BENCH_DIR, NOISY_BACKGROUND_PCT, SERVER_KINDS, Cell, Timing, build_plan
from report import METRICS, Table, aggregate, machine, markdown_table, note_lines, target_lines
from serverproc import BenchError, ServerProcess, ServerStartError, run_loadgen

RESULTS_DIR = BENCH_DIR / "results"
# A step disturbed by other processes (plan.NOISY_BACKGROUND_PCT) is tried this many times.
MAX_ATTEMPTS_PER_STEP = 3


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter cells")
    parser.add_argument(
        "--servers",
        default=",".join(SERVER_KINDS),
        help=f"comma-separated, among {', '.join(SERVER_KINDS)} (default: all)",
    )
    parser.add_argument("--cells", help="comma-separated cell keys to run, e.g. echo-100")
    parser.add_argument("--repeats", type=int, help="repeats per cell (default 3)")
    parser.add_argument("--server-cpu", type=int, default=0, help="core for the servers")
    parser.add_argument("--load-cpu", type=int, default=1, help="core for the load generator")
    parser.add_argument("--output-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args()
    unknown = set(args.servers.split(",")) - set(SERVER_KINDS)
    if unknown:
        parser.error(f"unknown servers: {', '.join(sorted(unknown))}")
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def ensure_load_generator_installed() -> None:
    """Install bench/requirements.txt into this virtualenv when the load generator's packages
    are missing, so that the suite stays one command; never into a system Python."""
    try:
        import orjson  # noqa: F401
        import picows  # noqa: F401
        import uvloop  # noqa: F401
    except ImportError as missing:
        requirements = BENCH_DIR / "requirements.txt"
        if sys.prefix == sys.base_prefix:
            sys.exit(f"{missing}: install the load generator: pip install -r {requirements}")
        print(f"{missing}: installing {requirements} into {sys.prefix}", file=sys.stderr)
        pip = [sys.executable, "-m", "pip", "install", "-q", "-r", str(requirements)]
        if subprocess.run(pip, check=False).returncode != 0:
            sys.exit(f"could not install {requirements}")


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


def run_step(
    cell: Cell, server: str, timing: Timing, cpus: tuple[int | None, int | None], log: Path
) -> dict[str, Any]:
    """One fresh server process, one load generator run: ``result`` and/or ``error``.

    Raises ServerStartError when the server never got ready."""
    server_cpu, load_cpu = cpus
    outcome: dict[str, Any] = {}
    try:
        with ServerProcess(SERVER_KINDS[server], server_cpu, log, timing.quiet_wait_s) as process:
            args = cell.loadgen_args(timing)
            outcome["result"] = run_loadgen(process, args, load_cpu, cell.timeout_s(timing))
        process.check_clean_exit()
    except ServerStartError:
        raise
    except BenchError as error:
        outcome["error"] = str(error)
    return outcome


def run_steps(
    cells: list[Cell], servers: list[str], timing: Timing, cpus: tuple[int | None, int | None]
) -> list[dict[str, Any]]:
    """Every step of the plan; a step disturbed by other processes is run again, within a
    budget that bounds the whole run to 1.1 times its length."""
    steps = [
        (repeat, cell, server)
        for repeat in range(timing.repeats)
        for cell in cells
        for server in servers
    ]
    retries_left = max(2, len(steps) // 10)
    samples: list[dict[str, Any]] = []
    unstartable: dict[str, str] = {}
    log_dir = Path(tempfile.mkdtemp(prefix="dtw-bench-"))
    for number, (repeat, cell, server) in enumerate(steps, 1):
        where = f"[{number:>3}/{len(steps)}] {cell.key} · {server} · repeat {repeat + 1}"
        for attempt in range(MAX_ATTEMPTS_PER_STEP):
            sample: dict[str, Any] = {"server": server, "cell": cell.key, "repeat": repeat}
            samples.append(sample)
            if server in unstartable:
                sample["error"] = unstartable[server]
                break
            try:
                sample.update(run_step(cell, server, timing, cpus, log_dir / f"{server}.log"))
            except ServerStartError as error:
                unstartable[server] = sample["error"] = str(error)
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


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def render(
    command: str,
    info: dict[str, Any],
    table: Table,
    cells: list[Cell],
    servers: list[str],
    timing: Timing,
) -> str:
    versions = info["versions"]
    load = ", ".join(f"{name} {versions[name]}" for name in ("picows", "uvloop", "orjson"))
    lines = [
        "# Benchmark results",
        "",
        f"`{command}` on {info['started_at']}, {plural(timing.repeats, 'repeat')} per cell, "
        f"{timing.duration_s:g} s measured after {timing.warmup_s:g} s of warm-up; "
        f"took {info['duration_s'] / 60:.1f} min.",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB, "
        f"Linux {info['kernel']}; server pinned to core {info['server_cpu']}, load generator "
        f"to core {info['load_cpu']}. Python {versions['python']}, tornado "
        f"{versions['tornado']}, Django {versions['Django']}, django-tornado-websockets "
        f"{versions['django-tornado-websockets']} at {info['library_revision']}; load "
        f"generator: {load}.",
        "",
        markdown_table(table, cells, servers),
        "",
        f"Each cell: median of {plural(timing.repeats, 'repeat')} ±half their max − min range "
        "in % of the median · ratio of medians to raw, from the same run. ↑ higher is better, "
        "↓ lower is better.",
    ]
    targets = target_lines(table, cells, servers)
    if targets:
        lines += ["", "Targets of dtw-async against raw:", "", *targets]
    notes = note_lines(table, cells, servers)
    if info["steps_run_again"]:
        notes.append(
            f"- {plural(info['steps_run_again'], 'step')} run again: other processes used over "
            f"{NOISY_BACKGROUND_PCT:.0f}% of a core during the first try (kept in latest.raw.json)"
        )
    if notes:
        lines += ["", "Notes:", "", *notes]
    return "\n".join(lines) + "\n"


def main() -> None:
    args = parse_args()
    ensure_load_generator_installed()
    raise_open_files_limit()
    cpus = choose_cpus(args.server_cpu, args.load_cpu)
    if cpus[1] is not None:
        # This process mostly waits; keep it off the server's core all the same.
        os.sched_setaffinity(0, {cpus[1]})
    cells, timing = build_plan(args.quick, args.repeats)
    cells = select_cells(cells, args.cells)
    servers = args.servers.split(",")
    command = "python bench/run.py" + (" --quick" if args.quick else "")

    started = time.monotonic()
    info = machine()
    info["started_at"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    info["server_cpu"], info["load_cpu"] = cpus
    samples = run_steps(cells, servers, timing, cpus)
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
    print(markdown)
    if any("error" in sample for sample in samples):
        sys.exit(1)


if __name__ == "__main__":
    main()
