"""The benchmark's targets and its load generator's saturation flag: pure computation on a
results table, as bench/run.py aggregates it (bench/targets.py, bench/report.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

# The bench's modules import one another by their bare names, from bench/ on the path; taken
# off again so that none of them shadows a package for the other tests.
BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

from plan import Cell, build_plan  # noqa: E402
from report import note_lines  # noqa: E402
from targets import MET, MISSED, NOT_MEASURED, TARGETS, Outcome, evaluate, target_lines  # noqa: E402

sys.path.remove(str(BENCH))


def entry(
    loadgen_cpu: float = 50.0,
    trips: tuple[int, int, int] | None = None,
    server_cpu: float = 99.0,
    **medians: float,
) -> dict[str, Any]:
    metrics = {
        key: {"median": value, "min": value, "max": value, "repeats": 3}
        for key, value in medians.items()
    }
    metrics["loadgen_cpu_pct"] = {
        "median": loadgen_cpu,
        "min": loadgen_cpu,
        "max": loadgen_cpu,
        "repeats": 3,
    }
    metrics["server_cpu_pct"] = {
        "median": server_cpu,
        "min": server_cpu,
        "max": server_cpu,
        "repeats": 3,
    }
    result: dict[str, Any] = {"errors": [], "metrics": metrics}
    if trips is not None:
        result["round_trips_per_connection"] = dict(
            zip(("min", "median", "max"), trips, strict=True)
        )
    return result


def failed() -> dict[str, Any]:
    return {"errors": ["BenchError: the server exited"], "metrics": {}}


def outcome_for(
    outcomes: list[Outcome], cell: str, server: str, reference: str | None = None
) -> Outcome:
    found = [
        o
        for o in outcomes
        if cell in o.target.cells
        and o.target.server == server
        and getattr(o.target, "reference", None) == reference
    ]
    assert len(found) == 1, found
    return found[0]


def test_the_issue_goals_are_the_targets_of_the_full_plan() -> None:
    cells, _ = build_plan(quick=False, repeats=None)
    keys = {cell.key for cell in cells}
    pairs = {(t.cells[0], t.server, getattr(t, "reference", None)) for t in TARGETS}
    for cell in (
        "echo-1",
        "echo-100",
        "broadcast-100",
        "broadcast-500",
        "broadcast-1000",
        "broadcast-5000",
    ):
        assert cell in keys
        assert (cell, "dtw-async", "websockets") in pairs
        assert (cell, "dtw-sync", "raw") in pairs
    assert ("idle-5000", "dtw-async", "raw") in pairs
    assert ("handshake-50", "dtw-async", "raw") in pairs
    assert ("echo-100", "dtw-async", None) in pairs  # fairness
    assert ("http-32", "runtornado", "gunicorn") in pairs
    # Every target's cell exists in the full plan: none is silently never checked.
    assert all(t.cells[0] in keys for t in TARGETS)


def test_met_missed_and_a_baseline_that_did_not_run() -> None:
    cells = [Cell("echo", 1), Cell("broadcast", 500)]
    table = {
        "echo-1": {
            "raw": entry(messages_per_s=10_000),
            "dtw-async": entry(messages_per_s=9_000),
            "dtw-sync": entry(messages_per_s=10_500),
            # no websockets: not selected for this run
        },
        "broadcast-500": {
            "raw": entry(deliveries_per_s=50_000),
            "dtw-async": entry(deliveries_per_s=120_000),
            "dtw-sync": entry(deliveries_per_s=40_000),
            "websockets": entry(deliveries_per_s=100_000),
        },
    }
    outcomes, missing = evaluate(table, cells)
    assert outcome_for(outcomes, "echo-1", "dtw-async", "websockets").verdict == NOT_MEASURED
    assert (
        "websockets did not run" in outcome_for(outcomes, "echo-1", "dtw-async", "websockets").text
    )
    assert outcome_for(outcomes, "echo-1", "dtw-sync", "raw").verdict == MET
    won = outcome_for(outcomes, "broadcast-500", "dtw-async", "websockets")
    assert won.verdict == MET and "1.20×" in won.text and "120,000 vs 100,000" in won.text
    assert outcome_for(outcomes, "broadcast-500", "dtw-sync", "raw").verdict == MISSED
    assert "echo-100" in missing and "broadcast-5000" in missing and "http-32" in missing
    lines = target_lines(table, cells)
    assert lines[0] == "2 met, 1 missed, 1 not measured."
    assert any("not measured, their cells were not in this run: echo-100" in line for line in lines)


def test_a_failed_baseline_is_not_measured_and_a_failed_library_server_is_missed() -> None:
    cells = [Cell("echo", 100)]
    table = {
        "echo-100": {
            "raw": failed(),
            "dtw-async": failed(),
            "dtw-sync": entry(messages_per_s=5_000, trips=(400, 500, 510)),
            "websockets": entry(messages_per_s=30_000),
        }
    }
    outcomes, _ = evaluate(table, cells)
    assert outcome_for(outcomes, "echo-100", "dtw-sync", "raw").verdict == NOT_MEASURED
    assert outcome_for(outcomes, "echo-100", "dtw-async", "websockets").verdict == MISSED
    assert outcome_for(outcomes, "echo-100", "dtw-async").verdict == MISSED  # fairness
    unfair = outcome_for(outcomes, "echo-100", "dtw-sync")
    assert unfair.verdict == MET and "0.80×" in unfair.text


def test_a_saturated_load_generator_leaves_a_verdict_only_when_the_floor_leans_its_way() -> None:
    cells = [Cell("broadcast", 1000), Cell("broadcast", 5000)]
    table = {
        # The reference is a floor and ours is above it: its true figure may be higher still.
        "broadcast-1000": {
            "dtw-async": entry(deliveries_per_s=140_000),
            "websockets": entry(deliveries_per_s=135_000, loadgen_cpu=97.0, server_cpu=80.0),
        },
        # Ours is a floor above the reference's true figure: met whatever its own true figure.
        "broadcast-5000": {
            "dtw-async": entry(deliveries_per_s=140_000, loadgen_cpu=97.0, server_cpu=80.0),
            "websockets": entry(deliveries_per_s=100_000),
        },
    }
    outcomes, _ = evaluate(table, cells)
    floor = outcome_for(outcomes, "broadcast-1000", "dtw-async", "websockets")
    assert floor.verdict == NOT_MEASURED and "saturated before websockets" in floor.text
    assert outcome_for(outcomes, "broadcast-5000", "dtw-async", "websockets").verdict == MET
    notes = note_lines(table, cells, ["dtw-async", "websockets"])
    assert (
        "- broadcast-1000 on websockets: the load generator was saturated before the server: "
        "a floor, not a figure"
    ) in notes


def test_a_server_at_its_limit_gives_its_own_figure_even_with_a_busy_load_generator() -> None:
    cells = [Cell("broadcast", 1000)]
    table = {
        "broadcast-1000": {
            "dtw-async": entry(deliveries_per_s=140_000),
            "websockets": entry(deliveries_per_s=135_000, loadgen_cpu=93.0, server_cpu=98.0),
        }
    }
    outcomes, _ = evaluate(table, cells)
    assert outcome_for(outcomes, "broadcast-1000", "dtw-async", "websockets").verdict == MET
    assert note_lines(table, cells, ["dtw-async", "websockets"]) == [
        "- broadcast-1000 on websockets: the load generator was near saturation too, but the "
        "server used its whole core: the server's own limit"
    ]
    # Below the server's threshold the same figure is a floor again.
    table["broadcast-1000"]["websockets"] = entry(
        deliveries_per_s=135_000, loadgen_cpu=93.0, server_cpu=94.0
    )
    outcomes, _ = evaluate(table, cells)
    assert outcome_for(outcomes, "broadcast-1000", "dtw-async", "websockets").verdict == (
        NOT_MEASURED
    )


@pytest.mark.parametrize(("quick", "idle"), [(False, "idle-5000"), (True, "idle-2000")])
def test_idle_memory_is_checked_in_either_plan(quick: bool, idle: str) -> None:
    cells, _ = build_plan(quick=quick, repeats=None)
    cells = [cell for cell in cells if cell.key == idle]
    table = {
        idle: {"raw": entry(kib_per_connection=13.8), "dtw-async": entry(kib_per_connection=10.5)}
    }
    outcomes, _ = evaluate(table, cells)
    memory = outcome_for(outcomes, idle, "dtw-async", "raw")
    assert memory.verdict == MET and "0.76×" in memory.text
    table[idle]["dtw-async"] = entry(kib_per_connection=14.0)
    outcomes, _ = evaluate(table, cells)
    assert outcome_for(outcomes, idle, "dtw-async", "raw").verdict == MISSED
