"""What a run measures: the servers, the cells (workload × size) and their time bounds."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
# Every step (one load generator run) is killed past this, whatever it was asked to do.
STEP_TIMEOUT_S = 60.0
# Other processes using more than this, in % of one core, during a step's measured window make
# its figures say more about the neighbours than about the server: the step is run again.
NOISY_BACKGROUND_PCT = 25.0


@dataclass(frozen=True)
class ServerKind:
    name: str
    script: Path
    description: str


SERVER_KINDS: dict[str, ServerKind] = {
    kind.name: kind
    for kind in (
        ServerKind(
            "raw",
            BENCH_DIR / "servers" / "raw_tornado.py",
            "plain tornado.websocket.WebSocketHandler (the baseline)",
        ),
        ServerKind(
            "dtw-async",
            BENCH_DIR / "servers" / "dtw_async.py",
            "django-tornado-websockets, `async def` handlers",
        ),
        ServerKind(
            "dtw-sync",
            BENCH_DIR / "servers" / "dtw_sync.py",
            "django-tornado-websockets, plain `def` handlers (thread pool)",
        ),
    )
}
BASELINE = "raw"


@dataclass(frozen=True)
class Timing:
    warmup_s: float
    duration_s: float
    repeats: int
    broadcast_window: int
    # How long a step may wait for the machine to be quiet before it runs anyway.
    quiet_wait_s: float


@dataclass(frozen=True)
class Cell:
    """One workload at one size; every server runs it ``repeats`` times."""

    workload: str  # "echo", "broadcast" or "idle"
    size: int  # connections (echo, idle) or receivers (broadcast)

    @property
    def key(self) -> str:
        return f"{self.workload}-{self.size}"

    @property
    def label(self) -> str:
        if self.workload == "echo":
            return f"echo, {self.size} connection{'s' if self.size > 1 else ''}"
        if self.workload == "broadcast":
            return f"broadcast to {self.size} clients"
        return f"{self.size} idle connections"

    def loadgen_args(self, timing: Timing) -> list[str]:
        if self.workload == "idle":
            return ["idle", "--connections", str(self.size)]
        measure = ["--warmup", str(timing.warmup_s), "--duration", str(timing.duration_s)]
        if self.workload == "echo":
            return ["echo", "--connections", str(self.size), *measure]
        return [
            "broadcast",
            "--receivers",
            str(self.size),
            "--window",
            str(timing.broadcast_window),
            *measure,
        ]

    def timeout_s(self, timing: Timing) -> float:
        # Handshakes run at 1,000/s at the very least; priming, draining and closing take seconds.
        connecting = 5 + self.size / 1000
        measuring = 0.0 if self.workload == "idle" else timing.warmup_s + timing.duration_s
        return min(STEP_TIMEOUT_S, connecting + measuring + 25)


def build_plan(quick: bool, repeats: int | None) -> tuple[list[Cell], Timing]:
    if quick:
        cells = [Cell("echo", 1), Cell("echo", 100), Cell("broadcast", 100)]
        cells += [Cell("broadcast", 500), Cell("idle", 2000)]
        timing = Timing(
            warmup_s=0.3, duration_s=1.0, repeats=3, broadcast_window=1, quiet_wait_s=1.0
        )
    else:
        cells = [Cell("echo", 1), Cell("echo", 100)]
        cells += [Cell("broadcast", n) for n in (100, 500, 1000, 5000)]
        cells += [Cell("idle", 5000)]
        timing = Timing(
            warmup_s=1.0, duration_s=5.0, repeats=3, broadcast_window=1, quiet_wait_s=5.0
        )
    if repeats is not None:
        timing = dataclasses.replace(timing, repeats=repeats)
    return cells, timing
