"""The results of a run as markdown: its header, a table per suite, the targets, the notes."""

from __future__ import annotations

from typing import Any

from plan import NOISY_BACKGROUND_PCT, SUITES, Cell, Timing
from report import Table, loadgen_capacity, markdown_table, note_lines, number
from targets import target_lines

# Speed probes at the start and the end of a run further apart than this fraction are noted.
SPEED_DRIFT = 0.2


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
    if "frame_counting" in info:  # results from before it was recorded have none
        load += f", its frame counting {info['frame_counting']}"
    peers = ", ".join(
        f"{name} {versions[name]}"
        for name in ("channels", "channels-redis", "redis", "uvicorn", "websockets",
                     "python-socketio", "aiohttp", "gunicorn")
    )  # fmt: skip
    lines = [
        "# Benchmark results",
        "",
        f"`{command}` on {info['started_at']}, {plural(timing.repeats, 'repeat')} per cell, "
        f"{timing.duration_s:g} s measured after {timing.warmup_s:g} s of warm-up; "
        f"took {info['duration_s'] / 60:.1f} min.",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB, "
        f"Linux {info['kernel']}, idle cores: {info.get('cpu_idle', 'unknown')}; servers "
        f"pinned to core {info['server_cpu']}, load generator to core {info['load_cpu']}, "
        f"Redis unpinned. Python {versions['python']}, tornado "
        f"{versions['tornado']}, Django {versions['Django']}, django-tornado-websockets "
        f"{versions['django-tornado-websockets']} at {info['library_revision']}; load "
        f"generator: {load}; peers: {peers}. Speed probe (10⁷ Python additions, lower is "
        f"faster): {info['speed_probe_s'][0]:.2f} s at the start, "
        f"{info['speed_probe_s'][1]:.2f} s at the end.",
    ]
    for suite in SUITES.values():
        mine = [cell for cell in cells if cell.suite is suite]
        if mine and any(cell.runs_on(server) for cell in mine for server in servers):
            lines += [
                "",
                f"### {suite.title}: ratios to {suite.baseline}",
                "",
                markdown_table(table, mine, servers),
            ]
    lines += [
        "",
        f"Each cell: median of {plural(timing.repeats, 'repeat')} ±half their max − min range "
        "in % of the median · ratio of medians to the table's baseline, from the same run. "
        "↑ higher is better, ↓ lower is better.",
    ]
    capacity = loadgen_capacity(table, cells)
    if capacity:
        lines += [
            "",
            f"Load generator: {number(capacity[0])} to {number(capacity[1])} deliveries a second "
            "at 100 % of its core in this run's broadcast cells (deliveries over its CPU time; "
            "more when copies arrive several at a time); a step where it used over 90 % of its "
            "core is flagged under the tables.",
        ]
    lines += ["", "### Targets", "", *target_lines(table, cells)]
    notes = note_lines(table, cells, servers)
    if info["steps_run_again"]:
        notes.append(
            f"- {plural(info['steps_run_again'], 'step')} run again: other processes used over "
            f"{NOISY_BACKGROUND_PCT:.0f}% of a core during the first try (kept in latest.raw.json)"
        )
    first, last = info["speed_probe_s"]
    if abs(last - first) > SPEED_DRIFT * min(first, last):
        notes.append(
            f"- the machine's speed changed during the run (speed probe {first:.2f} s, then "
            f"{last:.2f} s): the host's other tenants, invisible from here; compare ratios only"
        )
    if notes:
        lines += ["", "### Notes", "", *notes]
    return "\n".join(lines) + "\n"
