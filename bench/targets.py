"""The library's targets, each a ratio of medians from the same run, checked: met or missed."""

from __future__ import annotations

from dataclasses import dataclass

from plan import Cell
from report import METRICS, Table, number, ratio


@dataclass(frozen=True)
class Target:
    cell: str  # cell key
    metric: str
    server: str
    reference: str
    bound: float
    at_least: bool  # True: ratio ≥ bound; False: ratio ≤ bound


TARGETS: tuple[Target, ...] = (
    Target("broadcast-1000", "deliveries_per_s", "dtw-async", "raw", 2.5, True),
    Target("broadcast-5000", "deliveries_per_s", "dtw-async", "raw", 2.5, True),
    Target("echo-1", "messages_per_s", "dtw-async", "raw", 1.0, True),
    Target("echo-100", "messages_per_s", "dtw-async", "raw", 1.0, True),
    Target("echo-1", "messages_per_s", "dtw-sync", "raw", 0.6, True),
    Target("echo-100", "messages_per_s", "dtw-sync", "raw", 0.6, True),
    Target("idle-5000", "kib_per_connection", "dtw-async", "raw", 1.05, False),
    Target("idle-2000", "kib_per_connection", "dtw-async", "raw", 1.05, False),
    Target("handshake-50", "handshakes_per_s", "dtw-async", "raw", 0.9, True),
    Target("http-32", "requests_per_s", "runtornado", "gunicorn", 0.8, True),
    Target("redis-1000x2", "deliveries_per_s", "dtw-async", "channels", 5.0, True),
    Target("redis-1000x2", "deliveries_per_s", "dtw-async", "channels-pubsub", 5.0, True),
    # "Lower p99": the ratio of p99 latencies below 1.
    Target("redis-1000x2", "p99_ms", "dtw-async", "channels", 1.0, False),
    Target("redis-1000x2", "p99_ms", "dtw-async", "channels-pubsub", 1.0, False),
)
# Fairness of the echo over many connections: the slowest connection's round trips against
# the median connection's, for the library's async handlers.
FAIRNESS_CELL, FAIRNESS_SERVER, FAIRNESS_BOUND = "echo-100", "dtw-async", 0.8


def metric_label(cell: Cell, key: str) -> str:
    return next(m.label for m in METRICS[cell.workload] if m.key == key)


def target_lines(table: Table, cells: list[Cell]) -> list[str]:
    """One line per target whose cell and servers are in this run: the figures, the ratio,
    met or missed."""
    by_key = {cell.key: cell for cell in cells}
    lines = []
    for target in TARGETS:
        cell = by_key.get(target.cell)
        entries = table.get(target.cell, {})
        if cell is None or target.server not in entries or target.reference not in entries:
            continue
        mine, theirs = entries[target.server], entries[target.reference]
        factor = ratio(mine, theirs, target.metric)
        sign = "≥" if target.at_least else "≤"
        what = (
            f"{cell.label}, {metric_label(cell, target.metric)}: {target.server} {sign} "
            f"{target.bound:g}× {target.reference}"
        )
        if factor is None:
            lines.append(f"- {what}: no figure → **missed**")
            continue
        met = factor >= target.bound if target.at_least else factor <= target.bound
        figures = (
            f"{number(mine['metrics'][target.metric]['median'])} vs "
            f"{number(theirs['metrics'][target.metric]['median'])}"
        )
        verdict = "met" if met else "**missed**"
        lines.append(f"- {what}: {factor:.2f}× ({figures}) → {verdict}")
    fairness = fairness_line(table)
    if fairness:
        lines.append(fairness)
    return lines


def fairness_line(table: Table) -> str | None:
    entry = table.get(FAIRNESS_CELL, {}).get(FAIRNESS_SERVER)
    trips = entry.get("round_trips_per_connection") if entry else None
    if not trips:
        return None
    share = trips["min"] / trips["median"] if trips["median"] else 0.0
    verdict = "met" if share >= FAIRNESS_BOUND else "**missed**"
    return (
        f"- {FAIRNESS_CELL} fairness: {FAIRNESS_SERVER}'s slowest connection ≥ "
        f"{FAIRNESS_BOUND:g}× the median connection's round trips: {share:.2f}× "
        f"({trips['min']:.0f} vs {trips['median']:.0f}) → {verdict}"
    )
