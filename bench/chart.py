"""The table as a picture: one panel per cell, its headline figure for each server.

Bars are medians, whiskers the min–max of the repeats; the suite's baseline is grey, the
library's servers are blue, the others orange. Each bar is labelled with its ratio to the
baseline. Written with matplotlib's Agg backend (no display needed).
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
from matplotlib.axes import Axes  # noqa: E402

from plan import Cell  # noqa: E402
from report import METRICS, Table, number, ratio  # noqa: E402

LIBRARY_SERVERS = (
    "dtw-async", "dtw-sync", "dtw-async-tornado", "dtw-sync-tornado", "dtw-history",
    "dtw-history-redis", "runtornado",
)  # fmt: skip
BASELINE_COLOUR, LIBRARY_COLOUR, PEER_COLOUR = "#9e9e9e", "#1f77b4", "#ff7f0e"
COLUMNS = 3


def colour(server: str, baseline: str) -> str:
    if server == baseline:
        return BASELINE_COLOUR
    return LIBRARY_COLOUR if server in LIBRARY_SERVERS else PEER_COLOUR


def write_chart(
    table: Table, cells: list[Cell], servers: list[str], path: Path, title: str
) -> None:
    panels = [cell for cell in cells if any(s in table[cell.key] for s in servers)]
    if not panels:
        return
    rows = math.ceil(len(panels) / COLUMNS)
    figure, axes = plt.subplots(rows, COLUMNS, figsize=(5.2 * COLUMNS, 3.3 * rows), squeeze=False)
    for index, cell in enumerate(panels):
        draw_panel(axes[index // COLUMNS][index % COLUMNS], table, cell, servers)
    for index in range(len(panels), rows * COLUMNS):
        axes[index // COLUMNS][index % COLUMNS].axis("off")
    figure.suptitle(title, fontsize=11)
    figure.tight_layout(rect=(0, 0, 1, 0.97))
    figure.savefig(path, dpi=100)
    plt.close(figure)


def draw_panel(axis: Axes, table: Table, cell: Cell, servers: list[str]) -> None:
    metric = METRICS[cell.workload][0]
    baseline_name = cell.suite.baseline
    entries = table[cell.key]
    names = [s for s in cell.suite.servers if s in servers and s in entries]
    medians, lows, highs = [], [], []
    for name in names:
        figure = entries[name]["metrics"].get(metric.key)
        median = figure["median"] * metric.scale if figure else 0.0
        medians.append(median)
        lows.append(median - figure["min"] * metric.scale if figure else 0.0)
        highs.append(figure["max"] * metric.scale - median if figure else 0.0)
    positions = range(len(names))
    axis.bar(
        positions,
        medians,
        yerr=[lows, highs],
        color=[colour(name, baseline_name) for name in names],
        capsize=3,
        error_kw={"elinewidth": 0.8},
    )
    baseline = entries.get(baseline_name)
    for position, name, median, high in zip(positions, names, medians, highs, strict=True):
        factor = ratio(entries[name], baseline, metric.key) if baseline else None
        if not median:
            label = "error"
        elif name == baseline_name:
            label = "baseline"
        else:
            label = number(median) if factor is None else f"{factor:.2f}×"
        axis.annotate(
            label, (position, median + high), ha="center", va="bottom", fontsize=7,
            xytext=(0, 2), textcoords="offset points",
        )  # fmt: skip
    arrow = "↑" if metric.higher_is_better else "↓"
    axis.set_title(f"{cell.label}\n{metric.label} {arrow}", fontsize=9)
    axis.set_xticks(list(positions), names, rotation=30, ha="right", fontsize=7)
    axis.tick_params(axis="y", labelsize=7)
    axis.margins(y=0.15)
