"""Aggregation of the repeats into medians and spreads, ratios to the baseline, markdown."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from plan import NOISY_BACKGROUND_PCT, Cell


@dataclass(frozen=True)
class Metric:
    key: str  # in the load generator's result
    label: str
    higher_is_better: bool
    scale: float = 1.0


METRICS: dict[str, list[Metric]] = {
    "echo": [
        Metric("messages_per_s", "messages/s", True),
        Metric("p50_ms", "p50 round trip, ms", False),
        Metric("p99_ms", "p99 round trip, ms", False),
    ],
    "broadcast": [
        Metric("deliveries_per_s", "deliveries/s", True),
        Metric("p99_ms", "p99 delivery latency, ms", False),
    ],
    "idle": [
        Metric("kib_per_connection", "RSS per idle connection, KiB", False),
        Metric("rss_idle_kib", "RSS with no connection, MiB", False, scale=1 / 1024),
        Metric("rss_loaded_kib", "RSS with the connections open, MiB", False, scale=1 / 1024),
    ],
    "handshake": [
        Metric("handshakes_per_s", "handshakes/s", True),
        Metric("p99_ms", "p99 open time, ms", False),
    ],
    "http": [
        Metric("requests_per_s", "requests/s", True),
        Metric("p99_ms", "p99 response time, ms", False),
    ],
    "redis": [
        Metric("deliveries_per_s", "deliveries/s", True),
        Metric("p99_ms", "p99 delivery latency, ms", False),
        Metric("redis_cpu_pct", "Redis CPU, % of a core", False),
    ],
    "history": [
        Metric("deliveries_per_s", "deliveries/s", True),
        Metric("p99_ms", "p99 delivery latency, ms", False),
        Metric("server_cpu_pct", "server CPU, % of a core", False),
    ],
    "burst": [
        Metric("page_p99_ms", "p99 page time during bursts, ms", False),
        Metric("echo_p99_ms", "p99 bystander echo during bursts, ms", False),
        Metric("page_p50_ms", "p50 page time during bursts, ms", False),
        Metric("burst_drain_s", "time for a burst to reach every client, s", False),
        Metric("deliveries_per_s", "deliveries/s", True),
    ],
}
# Sanity figures kept in the JSON and used for the notes under the table.
DIAGNOSTICS = (
    "server_cpu_pct",
    "loadgen_cpu_pct",
    "background_cpu_pct",
    "redis_cpu_pct",
    "loadgen_capacity_per_s",
)
FAIRNESS = ("min", "median", "max")
# The load generator's CPU over the measured window, in % of its core, past which its own work
# may have set the pace: the server's figure is then a floor, not a figure — unless the server
# used at least SERVER_SATURATED_PCT of its own core, which makes the figure the server's.
LOADGEN_SATURATED_PCT = 90.0
SERVER_SATURATED_PCT = 95.0
# {cell key: {server: {"metrics": {key: summary}, "errors": [...], ...}}}
Table = dict[str, dict[str, dict[str, Any]]]


@dataclass
class Summary:
    median: float
    low: float
    high: float
    count: int

    @property
    def spread_pct(self) -> float:
        """Half the max − min range, in % of the median."""
        return 0.0 if not self.median else 50 * (self.high - self.low) / abs(self.median)

    def as_dict(self) -> dict[str, float]:
        return {"median": self.median, "min": self.low, "max": self.high, "repeats": self.count}


def summarize(values: list[float]) -> Summary:
    return Summary(statistics.median(values), min(values), max(values), len(values))


def aggregate(samples: list[dict[str, Any]], cells: list[Cell], servers: list[str]) -> Table:
    """Medians, extremes and errors per cell and server that ran it, from the raw samples."""
    table: Table = {}
    for cell in cells:
        table[cell.key] = {}
        for server in servers:
            if not cell.runs_on(server):
                continue
            mine = [
                s
                for s in samples
                if s["cell"] == cell.key and s["server"] == server and "discarded" not in s
            ]
            results = [s["result"] for s in mine if "result" in s]
            entry: dict[str, Any] = {"errors": [s["error"] for s in mine if "error" in s]}
            keys = [m.key for m in METRICS[cell.workload]] + list(DIAGNOSTICS)
            entry["metrics"] = {
                key: summarize([r[key] for r in results]).as_dict()
                for key in keys
                if results and key in results[0]
            }
            if cell.workload in ("broadcast", "redis", "history") and results:
                entry["sender_receives_own_broadcast"] = all(
                    r["sender_receives_own_broadcast"] for r in results
                )
            if cell.workload == "echo" and results:
                entry["round_trips_per_connection"] = {
                    stat: statistics.median(r["round_trips_per_connection"][stat] for r in results)
                    for stat in FAIRNESS
                }
            table[cell.key][server] = entry
    return table


def number(value: float) -> str:
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def ratio(entry: dict[str, Any], baseline: dict[str, Any], key: str) -> float | None:
    """Ratio of medians of one run; None when either side has no figure."""
    mine, base = entry["metrics"].get(key), baseline["metrics"].get(key)
    if not mine or not base or not base["median"]:
        return None
    return float(mine["median"] / base["median"])


def metric_cell(entry: dict[str, Any], baseline: dict[str, Any] | None, metric: Metric) -> str:
    figure = entry["metrics"].get(metric.key)
    if figure is None:
        return "error" if entry["errors"] else "—"
    summary = Summary(figure["median"], figure["min"], figure["max"], figure["repeats"])
    text = f"{number(summary.median * metric.scale)} ±{summary.spread_pct:.0f}%"
    if entry["errors"]:
        text += " (!)"
    if baseline is not None:
        factor = ratio(entry, baseline, metric.key)
        if factor is not None:
            text += f" · **{factor:.2f}×**"
    return text


def suite_servers(cells: list[Cell], servers: list[str]) -> list[str]:
    """The selected servers that run at least one of ``cells`` (one suite), in suite order."""
    return [s for s in cells[0].suite.servers if s in servers and any(c.runs_on(s) for c in cells)]


def markdown_table(table: Table, cells: list[Cell], servers: list[str]) -> str:
    """One table for ``cells``, all of one suite: a column per server, ratios to its baseline."""
    suite = cells[0].suite
    columns = suite_servers(cells, servers)
    lines = [
        "| Workload | Metric | " + " | ".join(columns) + " |",
        "|---|---|" + "---:|" * len(columns),
    ]
    for cell in cells:
        entries = table[cell.key]
        baseline = entries.get(suite.baseline)
        for metric in METRICS[cell.workload]:
            row = []
            for server in columns:
                if server not in entries:
                    row.append("")
                    continue
                compare_to = baseline if server != suite.baseline else None
                row.append(metric_cell(entries[server], compare_to, metric))
            if all(not text or text == "—" for text in row):
                continue  # a diagnostic no server of this run has (Redis CPU without Redis)
            arrow = "↑" if metric.higher_is_better else "↓"
            lines.append(f"| {cell.label} | {metric.label} {arrow} | " + " | ".join(row) + " |")
        if cell.workload == "echo" and cell.size > 1:
            row = []
            for server in columns:
                trips = entries.get(server, {}).get("round_trips_per_connection")
                row.append("/".join(f"{trips[s]:.0f}" for s in FAIRNESS) if trips else "")
            label = "round trips per connection, min/median/max"
            lines.append(f"| {cell.label} | {label} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def loadgen_saturated(entry: dict[str, Any]) -> bool:
    """Whether the load generator was busy enough to have set this entry's pace."""
    cpu = entry["metrics"].get("loadgen_cpu_pct", {}).get("median", 0.0)
    return bool(cpu > LOADGEN_SATURATED_PCT)


def server_saturated(entry: dict[str, Any]) -> bool:
    """Whether the server used its whole core (its figure is then its own limit)."""
    cpu = entry["metrics"].get("server_cpu_pct", {}).get("median", 0.0)
    return bool(cpu >= SERVER_SATURATED_PCT)


def is_floor(entry: dict[str, Any]) -> bool:
    """Whether this entry's figure may be a floor: the load generator saturated before the
    server did.

    With both saturated, the figure is the server's: it had no time left for more work, and a
    client that reads more slowly makes a server cheaper per message, not dearer (its writes
    wait in the transport and leave in fewer, larger system calls), so a faster load generator
    would not raise it."""
    return loadgen_saturated(entry) and not server_saturated(entry)


def loadgen_capacity(table: Table, cells: list[Cell]) -> tuple[float, float] | None:
    """The lowest and highest deliveries a second the load generator could take at 100 % of
    its core (its CPU time per delivery) over this run's broadcast steps, or None."""
    figures = [
        entry["metrics"]["loadgen_capacity_per_s"]["median"]
        for cell in cells
        if cell.workload == "broadcast"
        for entry in table[cell.key].values()
        if "loadgen_capacity_per_s" in entry["metrics"]
    ]
    return (min(figures), max(figures)) if figures else None


def note_lines(table: Table, cells: list[Cell], servers: list[str]) -> list[str]:
    """Figures to distrust: errors, an unsaturated server, a saturated load generator, noise."""
    notes = []
    for cell in cells:
        for server in servers:
            entry = table[cell.key].get(server)
            if entry is None:
                continue
            where = f"{cell.key} on {server}"
            for error in entry["errors"]:
                notes.append(f"- {where}: error: {error.splitlines()[0]}")
            metrics = entry["metrics"]
            if "server_cpu_pct" in metrics and cell.key != "echo-1" and cell.workload != "redis":
                if metrics["server_cpu_pct"]["median"] < 85:
                    cpu = metrics["server_cpu_pct"]["median"]
                    notes.append(f"- {where}: the server used only {cpu:.0f}% of its core")
            if is_floor(entry):
                notes.append(
                    f"- {where}: the load generator was saturated before the server: a floor, "
                    "not a figure"
                )
            elif loadgen_saturated(entry):
                notes.append(
                    f"- {where}: the load generator was near saturation too, but the server used "
                    "its whole core: the server's own limit"
                )
            if entry.get("sender_receives_own_broadcast") is False:
                notes.append(f"- {where}: the sender did not get its own broadcasts back")
            background = metrics.get("background_cpu_pct", {}).get("max", 0)
            if background > NOISY_BACKGROUND_PCT:
                notes.append(f"- {where}: other processes used up to {background:.0f}% of a core")
    return notes


VERSIONED = (
    "tornado",
    "Django",
    "django-tornado-websockets",
    "picows",
    "uvloop",
    "orjson",
    "redis",
    "channels",
    "channels-redis",
    "uvicorn",
    "websockets",
    "python-socketio",
    "aiohttp",
    "gunicorn",
)


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for dist in VERSIONED:
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = "not installed"
    return found


def source_revision() -> str:
    """The commit the library was measured at, ``+modified`` when src/ differs from it."""
    repository = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(repository), *args], capture_output=True, text=True, check=False
        )
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return "unknown"
    return commit + ("+modified" if git("status", "--porcelain", "--", "src") else "")


def cpu_idle() -> str:
    """How an idle core waits for work: the kernel's cpuidle driver and, for the haltpoll
    driver of a virtual machine, how long it polls before it halts. A core that halts at once
    takes long to wake (the hypervisor runs it again), and on one connection's echo, where
    each side waits for the other, that wake-up sets the pace."""
    try:
        driver = Path("/sys/devices/system/cpu/cpuidle/current_driver").read_text().strip()
    except OSError:
        return "unknown"
    if driver == "none":
        # No cpuidle driver: the kernel's default idle, a halt, unless booted with idle=poll.
        try:
            polling = "idle=poll" in Path("/proc/cmdline").read_text().split()
        except OSError:
            return driver
        return "none, polling (idle=poll)" if polling else "none, halting at once (default idle)"
    try:
        poll_ns = int(Path("/sys/module/haltpoll/parameters/guest_halt_poll_ns").read_text())
    except (OSError, ValueError):
        return driver
    if driver != "haltpoll":
        return driver
    if poll_ns == 0:
        return "haltpoll, halting at once (guest_halt_poll_ns 0)"
    return f"haltpoll, polling up to {poll_ns / 1000:g} µs before halting"


def machine() -> dict[str, Any]:
    model = "unknown"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as meminfo:
        mem_kib = int(meminfo.readline().split()[1])
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024**2, 1),
        "kernel": platform.release(),
        "cpu_idle": cpu_idle(),
        "versions": versions(),
        "library_revision": source_revision(),
    }
