"""What a run measures: the servers, the suites they are compared in, the cells (workload ×
size) and their time bounds."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
SERVERS_DIR = BENCH_DIR / "servers"
# Every step (one load generator run) is killed past this, whatever it was asked to do.
STEP_TIMEOUT_S = 60.0
# Other processes using more than this, in % of one core, during a step's measured window make
# its figures say more about the neighbours than about the server: the step is run again.
NOISY_BACKGROUND_PCT = 25.0

WEBSOCKET_WORKLOADS = frozenset({"echo", "broadcast", "idle", "handshake"})
BROADCAST_WINDOW = 4
"""Broadcasts in flight at once (``Timing.broadcast_window``)."""
BURST_SIZE = 1024
"""Bytes of padding in each broadcast of a burst."""


@dataclass(frozen=True)
class ServerKind:
    name: str
    script: Path
    description: str
    workloads: frozenset[str]
    args: tuple[str, ...] = ()
    wire: str = "json"  # how the load generator frames events (wire.py)
    path: str = "/ws/bench"
    scheme: str = "ws"
    # Always on Redis: it gets a key prefix of its own for each step, deleted afterwards.
    uses_redis: bool = False


SERVER_KINDS: dict[str, ServerKind] = {
    kind.name: kind
    for kind in (
        ServerKind(
            "raw",
            SERVERS_DIR / "raw_tornado.py",
            "plain tornado.websocket.WebSocketHandler (the baseline)",
            WEBSOCKET_WORKLOADS,
        ),
        ServerKind(
            "dtw-async",
            SERVERS_DIR / "dtw_async.py",
            "django-tornado-websockets, `async def` handlers (the default transport: asyncio)",
            WEBSOCKET_WORKLOADS | {"redis", "history", "burst"},
        ),
        ServerKind(
            "dtw-history",
            SERVERS_DIR / "dtw_history.py",
            "django-tornado-websockets, `async def` handlers, history=100 in memory",
            frozenset({"history"}),
        ),
        ServerKind(
            "dtw-history-redis",
            SERVERS_DIR / "dtw_history.py",
            "django-tornado-websockets, `async def` handlers, history=100 in Redis Streams",
            frozenset({"history"}),
            uses_redis=True,
        ),
        ServerKind(
            "dtw-sync",
            SERVERS_DIR / "dtw_sync.py",
            "django-tornado-websockets, plain `def` handlers (thread pool; the default transport)",
            frozenset({"echo", "broadcast", "idle"}),
        ),
        ServerKind(
            "dtw-async-tornado",
            SERVERS_DIR / "dtw_async.py",
            "django-tornado-websockets, `async def` handlers, `TORNADO['transport'] = 'tornado'`",
            WEBSOCKET_WORKLOADS,
            args=("--transport", "tornado"),
        ),
        ServerKind(
            "dtw-sync-tornado",
            SERVERS_DIR / "dtw_sync.py",
            "django-tornado-websockets, plain `def` handlers, `TORNADO['transport'] = 'tornado'`",
            frozenset({"echo", "broadcast", "idle"}),
            args=("--transport", "tornado"),
        ),
        ServerKind(
            "channels",
            SERVERS_DIR / "channels_server.py",
            "Django Channels 4 on uvicorn, channels_redis RedisChannelLayer",
            WEBSOCKET_WORKLOADS | {"redis"},
            args=("--layer", "core"),
            uses_redis=True,
        ),
        ServerKind(
            "channels-pubsub",
            SERVERS_DIR / "channels_server.py",
            "Django Channels 4 on uvicorn, channels_redis RedisPubSubChannelLayer",
            frozenset({"broadcast", "redis"}),
            args=("--layer", "pubsub"),
            uses_redis=True,
        ),
        ServerKind(
            "socketio",
            SERVERS_DIR / "socketio_server.py",
            "python-socketio AsyncServer on aiohttp",
            WEBSOCKET_WORKLOADS,
            wire="socketio",
            path="/socket.io/",
        ),
        ServerKind(
            "websockets",
            SERVERS_DIR / "websockets_server.py",
            "the websockets library's asyncio server and its broadcast()",
            WEBSOCKET_WORKLOADS,
        ),
        ServerKind(
            "picows",
            SERVERS_DIR / "picows_server.py",
            "picows (Cython) on uvloop: the limit, and what the load generator can take",
            WEBSOCKET_WORKLOADS,
        ),
        *(
            ServerKind(
                server,
                SERVERS_DIR / "django_http.py",
                description,
                frozenset({"http"}),
                args=("--server", server),
                path="/hello",
                scheme="http",
            )
            for server, description in (
                ("gunicorn", "Django (WSGI) on gunicorn, one gthread worker"),
                ("runtornado", "Django (WSGI) on this library's runtornado"),
                ("uvicorn", "Django (ASGI) on uvicorn"),
            )
        ),
    )
}


@dataclass(frozen=True)
class Suite:
    """Servers compared side by side in one table, as ratios to ``baseline``."""

    key: str
    title: str
    baseline: str
    servers: tuple[str, ...]


SUITES: dict[str, Suite] = {
    suite.key: suite
    for suite in (
        Suite(
            "websocket",
            "WebSocket servers (one process each)",
            "raw",
            (
                "raw",
                "dtw-async",
                "dtw-sync",
                "dtw-async-tornado",
                "dtw-sync-tornado",
                "channels",
                "channels-pubsub",
                "socketio",
                "websockets",
                "picows",
            ),
        ),  # fmt: skip
        Suite("http", "Django over HTTP", "gunicorn", ("gunicorn", "runtornado", "uvicorn")),
        Suite(
            "burst",
            "Bursts of broadcasts from a view: what others wait meanwhile",
            "dtw-async",
            ("dtw-async",),
        ),
        Suite(
            "redis",
            "Broadcast through Redis (servers sharing a Redis prefix)",
            "channels",
            ("dtw-async", "channels", "channels-pubsub"),
        ),
        Suite(
            "history",
            "Broadcast with message history, same run (one process; history off in dtw-async)",
            "dtw-async",
            ("dtw-async", "dtw-history", "dtw-history-redis"),
        ),
    )
}
# --quick compares the library with its baselines only, unless --servers says otherwise.
QUICK_SERVERS = ("raw", "dtw-async", "dtw-sync", "gunicorn", "runtornado")
# Run only when named in --servers: the library on Tornado's own transport, against its
# default (asyncio) one.
OPT_IN_SERVERS = ("dtw-async-tornado", "dtw-sync-tornado")
DEFAULT_SERVERS = tuple(name for name in SERVER_KINDS if name not in OPT_IN_SERVERS)
# --goals: the performance goals' table alone (targets.py), about 100 steps.
GOALS_SERVERS = ("raw", "dtw-async", "dtw-sync", "websockets", "gunicorn", "runtornado")
GOALS_CELLS = (
    "echo-1", "echo-100", "broadcast-100", "broadcast-500", "broadcast-1000", "broadcast-5000",
    "idle-5000", "handshake-50", "http-32",
)  # fmt: skip


@dataclass(frozen=True)
class Timing:
    warmup_s: float
    duration_s: float
    repeats: int
    # Broadcasts in flight at once in the broadcast cells. With one, the server idles while the
    # load generator reads the last copies, and the load generator makes a system call per
    # copy; with a few, each receiver reads several copies at once and the server always has
    # the next broadcast queued, so the server's own work sets the pace.
    broadcast_window: int
    # How long a step may wait for the machine to be quiet before it runs anyway.
    quiet_wait_s: float


@dataclass(frozen=True)
class Cell:
    """One workload at one size; every server of its suite that can runs it ``repeats`` times."""

    # "echo", "broadcast", "idle", "handshake", "http", "redis", "history" or "burst"
    workload: str
    size: int  # connections (echo, idle, http), concurrency (handshake), receivers (broadcast)
    processes: int = 1  # server processes sharing the receivers ("redis")
    count: int = 0  # broadcasts per burst ("burst")

    @property
    def key(self) -> str:
        suffix = f"x{self.processes}" if self.workload == "redis" else ""
        if self.workload == "burst":
            suffix = f"x{self.count}"
        return f"{self.workload}-{self.size}{suffix}"

    @property
    def suite(self) -> Suite:
        return SUITES.get(self.workload, SUITES["websocket"])

    @property
    def label(self) -> str:
        plural = "s" if self.size > 1 else ""
        return {
            "echo": f"echo, {self.size} connection{plural}",
            "broadcast": f"broadcast to {self.size} clients",
            "idle": f"{self.size} idle connections",
            "handshake": f"handshakes, {self.size} at a time",
            "http": f"GET /hello, {self.size} keep-alive connections",
            "redis": f"broadcast to {self.size} clients on {self.processes} "
            f"process{'es' if self.processes > 1 else ''}",
            "history": f"broadcast to {self.size} clients, history off / memory / Redis",
            "burst": f"bursts of {self.count} broadcasts of {BURST_SIZE} B to {self.size} clients",
        }[self.workload]

    def runs_on(self, server: str) -> bool:
        kind = SERVER_KINDS[server]
        return server in self.suite.servers and self.workload in kind.workloads

    def loadgen_args(self, timing: Timing) -> list[str]:
        if self.workload == "idle":
            return ["idle", "--connections", str(self.size)]
        measure = ["--warmup", str(timing.warmup_s), "--duration", str(timing.duration_s)]
        if self.workload == "burst":
            counts = ["--count", str(self.count), "--size", str(BURST_SIZE)]
            return ["burst", "--receivers", str(self.size), *counts, *measure]
        if self.workload in ("broadcast", "redis", "history"):
            window = ["--window", str(timing.broadcast_window)]
            return ["broadcast", "--receivers", str(self.size), *window, *measure]
        return [self.workload, "--connections", str(self.size), *measure]

    def timeout_s(self, timing: Timing) -> float:
        # The slowest servers open about 400 connections a second (each joins a Redis group);
        # priming, draining and closing take seconds.
        connecting = 5 + self.size / 400
        measuring = 0.0 if self.workload == "idle" else timing.warmup_s + timing.duration_s
        if self.workload == "burst":  # the last burst started drains after the window
            return 2 * STEP_TIMEOUT_S
        return min(STEP_TIMEOUT_S, connecting + measuring + 25)


def build_plan(quick: bool, repeats: int | None) -> tuple[list[Cell], Timing]:
    if quick:
        cells = [Cell("echo", 1), Cell("echo", 100), Cell("broadcast", 500)]
        cells += [Cell("idle", 2000), Cell("handshake", 50), Cell("http", 32)]
        cells += [Cell("history", 1000)]
        cells += [Cell("burst", 500, count=200)]
        timing = Timing(
            warmup_s=0.3,
            duration_s=1.0,
            repeats=3,
            broadcast_window=BROADCAST_WINDOW,
            quiet_wait_s=1.0,
        )
    else:
        cells = [Cell("echo", 1), Cell("echo", 100)]
        cells += [Cell("broadcast", n) for n in (100, 500, 1000, 5000)]
        cells += [Cell("idle", 5000), Cell("handshake", 50), Cell("http", 32)]
        cells += [Cell("redis", 1000, processes=1), Cell("redis", 1000, processes=2)]
        cells += [Cell("history", 1000)]
        cells += [Cell("burst", 1000, count=1000)]
        timing = Timing(
            warmup_s=1.0,
            duration_s=5.0,
            repeats=3,
            broadcast_window=BROADCAST_WINDOW,
            quiet_wait_s=5.0,
        )
    if repeats is not None:
        timing = dataclasses.replace(timing, repeats=repeats)
    return cells, timing
