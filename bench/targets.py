"""The library's targets, each a ratio of medians from the same run: met, missed, or not
measured.

A target is met or missed only on figures of this run: when its reference server did not run
(not selected, or every repeat failed), or the load generator may have set the pace of the
figure the verdict hangs on, it is "not measured", never met.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from plan import Cell
from report import METRICS, Table, is_floor, number

MET, MISSED, NOT_MEASURED = "met", "missed", "not measured"

# The cells where the library's WebSocket path is compared with the `websockets` library.
WEBSOCKET_CELLS = (
    ("echo-1", "messages_per_s"),
    ("echo-100", "messages_per_s"),
    *((f"broadcast-{n}", "deliveries_per_s") for n in (100, 500, 1000, 5000)),
)


@dataclass(frozen=True)
class Target:
    """``server``'s median of ``metric`` against ``reference``'s: ratio ≥ ``bound`` (or ≤
    when not ``at_least``). ``cells``: the cell keys it applies to, the first one in the run
    is used (``idle-5000`` in the full plan, ``idle-2000`` with ``--quick``)."""

    cells: tuple[str, ...]
    metric: str
    server: str
    reference: str
    bound: float
    at_least: bool = True


@dataclass(frozen=True)
class Fairness:
    """Over many connections, the slowest connection's round trips ≥ ``bound`` × the median
    connection's."""

    cells: tuple[str, ...]
    server: str
    bound: float = 0.8


@dataclass(frozen=True)
class Outcome:
    target: Target | Fairness
    verdict: str  # MET, MISSED or NOT_MEASURED
    text: str  # what was compared, the figures, why it was not measured


TARGETS: tuple[Target | Fairness, ...] = (
    # The performance goals: async handlers at or above the `websockets` library on every
    # WebSocket cell, plain handlers at or above raw Tornado on the same cells.
    *(Target((cell,), metric, "dtw-async", "websockets", 1.0) for cell, metric in WEBSOCKET_CELLS),
    *(Target((cell,), metric, "dtw-sync", "raw", 1.0) for cell, metric in WEBSOCKET_CELLS),
    Target(("idle-5000", "idle-2000"), "kib_per_connection", "dtw-async", "raw", 1.0, False),
    Target(("handshake-50",), "handshakes_per_s", "dtw-async", "raw", 1.0),
    Fairness(("echo-100",), "dtw-async"),
    Fairness(("echo-100",), "dtw-sync"),
    Target(("http-32",), "requests_per_s", "runtornado", "gunicorn", 1.0),
    # Broadcast through Redis against Django Channels: deliveries and a lower p99.
    Target(("redis-1000x2",), "deliveries_per_s", "dtw-async", "channels", 5.0),
    Target(("redis-1000x2",), "deliveries_per_s", "dtw-async", "channels-pubsub", 5.0),
    Target(("redis-1000x2",), "p99_ms", "dtw-async", "channels", 1.0, False),
    Target(("redis-1000x2",), "p99_ms", "dtw-async", "channels-pubsub", 1.0, False),
)


def metric_label(cell: Cell, key: str) -> str:
    return next(m.label for m in METRICS[cell.workload] if m.key == key)


def median(entry: dict[str, Any] | None, key: str) -> float | None:
    figure = entry["metrics"].get(key) if entry else None
    return None if figure is None else float(figure["median"])


def absent(server: str, entries: dict[str, dict[str, Any]]) -> str:
    return f"{server} did not run" if server not in entries else f"{server} has no figure"


def check_ratio(target: Target, cell: Cell, entries: dict[str, dict[str, Any]]) -> Outcome:
    sign = "≥" if target.at_least else "≤"
    what = (
        f"{cell.label}, {metric_label(cell, target.metric)}: {target.server} {sign} "
        f"{target.bound:g}× {target.reference}"
    )
    mine_entry, theirs_entry = entries.get(target.server), entries.get(target.reference)
    mine, theirs = median(mine_entry, target.metric), median(theirs_entry, target.metric)
    if not theirs:
        return Outcome(target, NOT_MEASURED, f"{what}: {absent(target.reference, entries)}")
    if mine is None:
        # The library's own server ran and failed: that is a miss, not a lack of figures.
        verdict = MISSED if target.server in entries else NOT_MEASURED
        return Outcome(target, verdict, f"{what}: {absent(target.server, entries)}")
    factor = mine / theirs
    met = factor >= target.bound if target.at_least else factor <= target.bound
    text = f"{what}: {factor:.2f}× ({number(mine)} vs {number(theirs)})"
    metric = next(m for m in METRICS[cell.workload] if m.key == target.metric)
    if metric.higher_is_better:
        # A load generator saturated before the server makes a figure a floor: the true one
        # may be higher. The verdict stands only if the floor leans the same way.
        mine_floor = mine_entry is not None and is_floor(mine_entry)
        theirs_floor = theirs_entry is not None and is_floor(theirs_entry)
        if (met and theirs_floor) or (not met and mine_floor):
            sides = ((target.server, mine_floor), (target.reference, theirs_floor))
            floors = " and ".join(server for server, floor in sides if floor)
            why = f"the load generator was saturated before {floors}: floors, not figures"
            return Outcome(target, NOT_MEASURED, f"{text}; {why}")
    return Outcome(target, MET if met else MISSED, text)


def check_fairness(target: Fairness, cell: Cell, entries: dict[str, dict[str, Any]]) -> Outcome:
    what = (
        f"{cell.label}, fairness: {target.server}'s slowest connection ≥ {target.bound:g}× "
        "the median connection's round trips"
    )
    entry = entries.get(target.server)
    trips = entry.get("round_trips_per_connection") if entry else None
    if not trips:
        verdict = MISSED if entry is not None else NOT_MEASURED
        return Outcome(target, verdict, f"{what}: {absent(target.server, entries)}")
    share = trips["min"] / trips["median"] if trips["median"] else 0.0
    verdict = MET if share >= target.bound else MISSED
    figures = f"{share:.2f}× ({trips['min']:.0f} vs {trips['median']:.0f})"
    return Outcome(target, verdict, f"{what}: {figures}")


def evaluate(table: Table, cells: list[Cell]) -> tuple[list[Outcome], list[str]]:
    """Every target whose cell is in this run, checked; and the keys of the targets' cells
    that were not in the run (their targets were not measured)."""
    by_key = {cell.key: cell for cell in cells}
    outcomes: list[Outcome] = []
    missing_cells: list[str] = []
    for target in TARGETS:
        cell = next((by_key[key] for key in target.cells if key in by_key), None)
        if cell is None:
            if target.cells[0] not in missing_cells:
                missing_cells.append(target.cells[0])
            continue
        entries = table.get(cell.key, {})
        if isinstance(target, Fairness):
            outcomes.append(check_fairness(target, cell, entries))
        else:
            outcomes.append(check_ratio(target, cell, entries))
    return outcomes, missing_cells


def target_lines(table: Table, cells: list[Cell]) -> list[str]:
    """The Targets section: a count, then one line per target of this run's cells."""
    outcomes, missing_cells = evaluate(table, cells)
    counts = {v: sum(o.verdict == v for o in outcomes) for v in (MET, MISSED, NOT_MEASURED)}
    lines = [f"{counts[MET]} met, {counts[MISSED]} missed, {counts[NOT_MEASURED]} not measured."]
    lines.append("")
    for outcome in outcomes:
        verdict = {MET: "met", MISSED: "**missed**", NOT_MEASURED: "not measured"}[outcome.verdict]
        lines.append(f"- {outcome.text} → {verdict}")
    if missing_cells:
        lines.append(
            f"- not measured, their cells were not in this run: {', '.join(missing_cells)}"
        )
    return lines
