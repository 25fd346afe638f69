"""Presence at scale: two server processes over Redis, thousands of clients in one room.

Measures, in one run:

1. ``ws.presence('lobby')`` latency (p50, p99) read from a process that runs no server (a
   child of this one, so that the clients' loop does not compete for its GIL), with every
   client in the room (the issue's target: p99 under 50 ms for 5,000 clients);
2. a reconnect storm: ``--storm`` clients drop at once and reconnect; the ``$presence_diff``
   frames each staying member gets per second (target: a handful), and the time until
   ``presence_stats('lobby')`` is right again, counted from the drop and from the moment every
   client is back in the room (target: under 5 s from then; how long the clients take to
   reconnect is the load generator's, on the same machine);
3. broadcast deliveries per second with presence on and off, ``--repeats`` pairs (servers
   restarted each time; the pairs alternate which goes first, so that a machine getting busier
   or quieter during the run does not favour one side), each round a broadcast sent and
   awaited by every client, after a first round that is not counted; the ratios on/off of
   the medians, of the best rounds and of each pair, for the wall clock and for the servers'
   CPU time per delivery (target: on ≥ 0.95 × off).

The figures are printed with each target and whether it was met, and the load average of the
machine before and after (wall-clock figures on a shared machine move with its load; the CPU
time per delivery moves less).

Usage: ``python bench/presence.py [--clients 5000] [--storm 1000] [--seconds 5] [--repeats 3]
[--only presence|broadcast] [--quick]`` (``--quick``: 1,000 clients, a storm of 200, 2 s per
broadcast measure). Needs Redis on 127.0.0.1:6379 and the load generator's packages
(``bench/requirements.txt``). Prints one JSON object; nothing is written to ``results/``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import operator
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from loadclient import Client, ClientStats, close_all, connect_all, percentile, wait_for
from procstats import cpu_seconds
from serverproc import free_port

REDIS_URL = "redis://127.0.0.1:6379/0"

BENCH = Path(__file__).resolve().parent
SERVER = BENCH / "servers" / "dtw_presence.py"


class Member(Client):
    """A client in the lobby: counts broadcasts and the times of presence frames."""

    def __init__(self, stats: ClientStats, name: str) -> None:
        super().__init__(stats)
        self.name = name
        self.entered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.broadcasts = 0
        self.diffs: list[float] = []

    def on_event(self, event: str, data: Any, received_at: float) -> None:
        if event == "broadcast":
            self.broadcasts += 1
        elif event == "$presence_diff":
            self.diffs.append(received_at)
        elif event == "entered":
            if not self.entered.done():
                self.entered.set_result(None)
        else:
            super().on_event(event, data, received_at)


@contextmanager
def servers(prefix: str, presence: bool, logs: Path) -> Iterator[tuple[list[str], list[int]]]:
    import subprocess

    ports, processes = [free_port(), free_port()], []
    try:
        for port in ports:
            log = open(logs / f"presence-{presence}-{port}.log", "ab")  # noqa: SIM115
            argv = [sys.executable, str(SERVER), "--port", str(port), "--redis-prefix", prefix]
            argv += ["--presence", "on" if presence else "off"]
            processes.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT))
        for port in ports:
            wait_listening(port)
        yield [f"ws://127.0.0.1:{port}/ws/bench" for port in ports], [p.pid for p in processes]
    finally:
        for process in processes:
            process.terminate()
        reap(processes)


def reap(processes: list[Any]) -> None:
    """Wait for server processes that were asked to stop; kill those still there after 30 s."""
    import subprocess

    for process in processes:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_listening(port: int) -> None:
    import socket

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"no server on port {port}")


async def enter(urls: list[str], stats: ClientStats, names: list[str]) -> list[Member]:
    members = [Member(stats, name) for name in names]
    await connect_all(urls, members)
    for member in members:
        member.send_event("enter", {"name": member.name})
    await asyncio.wait_for(asyncio.gather(*(m.entered for m in members)), 120)
    return members


def reader(prefix: str) -> Any:
    """``ws.presence`` of a process without a server, as a Celery task would call it."""
    from django.conf import settings

    if not settings.configured:
        settings.configure(TORNADO={"broker": {"url": REDIS_URL, "prefix": prefix}})
    from tornado_websockets.websocket import WebSocket, get_websocket

    return get_websocket("/ws/bench") or WebSocket("/bench", presence=True)


async def in_thread(function: Any, *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, function, *args)


async def until_stats(ws: Any, clients: int, timeout: float) -> float:
    started = time.perf_counter()
    while (await in_thread(ws.presence_stats, "lobby"))["clients"] != clients:
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"presence did not reach {clients} clients in {timeout} s")
        await asyncio.sleep(0.02)
    return time.perf_counter() - started


async def broadcast_rate(
    members: list[Member], seconds: float, pids: list[int]
) -> tuple[float, float]:
    """Deliveries per second, and per second of the servers' CPU time (steadier than the wall
    clock on a busy machine): one broadcast at a time, each awaited by every member."""
    sender, rounds = members[0], 0
    start = [m.broadcasts for m in members]
    cpu_started = sum(cpu_seconds(pid) for pid in pids)
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        rounds += 1
        sender.send_event("broadcast", {"round": rounds})
        done = [s + rounds for s in start]
        await wait_for(
            lambda done=done: all(m.broadcasts >= d for m, d in zip(members, done, strict=True)),
            30,
            "a broadcast",
        )
    deliveries = rounds * len(members)
    cpu = sum(cpu_seconds(pid) for pid in pids) - cpu_started
    return deliveries / (time.perf_counter() - started), deliveries / cpu


async def presence_phase(args: argparse.Namespace, logs: Path) -> dict[str, Any]:
    prefix = f"bench-presence-{uuid.uuid4().hex[:8]}"
    stats = ClientStats()
    ws = reader(prefix)
    with servers(prefix, True, logs) as (urls, _):
        members = await enter(urls, stats, [f"user-{i}" for i in range(args.clients)])
        converged = await until_stats(ws, args.clients, 30)
        latencies = await read_elsewhere(prefix, args.reads, args.clients)
        await asyncio.sleep(args.interval * 2)  # the joins' own frames are out
        # The storm: the last `storm` clients drop at once and come back.
        leaving, staying = members[-args.storm :], members[: -args.storm]
        for member in staying:
            member.diffs.clear()
        storm_started = time.perf_counter()
        await close_all(leaving)
        back = await enter(urls, stats, [m.name for m in leaving])
        reconnected = time.perf_counter() - storm_started
        # How long the clients take to come back is the load generator's and the machine's
        # business; the target is how soon presence is right once they are.
        right_after_back = await until_stats(ws, args.clients, 30)
        right_again = right_after_back + reconnected
        await asyncio.sleep(args.interval * 2)  # the last coalesced frames arrive
        window = time.perf_counter() - storm_started
        per_member = [len(m.diffs) for m in staying]
        worst_second = max(max_in_window(m.diffs, 1.0) for m in staying)
        await close_all(staying + back)
    return {
        "clients": args.clients,
        "presence_converged_s": round(converged, 3),
        "presence_reads": args.reads,
        "presence_p50_ms": round(percentile(latencies, 0.5) * 1000, 2),
        "presence_p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "storm_clients": args.storm,
        "storm_reconnected_s": round(reconnected, 3),
        "storm_presence_right_after_s": round(right_again, 3),
        "storm_presence_right_after_back_s": round(right_after_back, 3),
        "storm_window_s": round(window, 3),
        "storm_frames_per_member_mean": round(statistics.mean(per_member), 2),
        "storm_frames_per_member_max": max(per_member),
        "storm_frames_per_member_worst_second": worst_second,
        "client_anomalies": stats.as_dict(),
    }


async def read_elsewhere(prefix: str, reads: int, clients: int) -> list[float]:
    """Latencies of ``ws.presence('lobby')`` in a process of its own (no server, no clients:
    the load generator's loop would compete for this process's GIL), sorted."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--reader",
        prefix,
        "--reads",
        str(reads),
        "--clients",
        str(clients),
        stdout=asyncio.subprocess.PIPE,
    )
    output, _ = await child.communicate()
    assert child.returncode == 0, "the reader process failed"
    latencies: list[float] = json.loads(output)
    return sorted(latencies)


def reader_main(prefix: str, reads: int, clients: int) -> None:
    ws = reader(prefix)
    ws.presence("lobby")  # connects
    latencies = []
    for _ in range(reads):
        started = time.perf_counter()
        entries = ws.presence("lobby")
        latencies.append(time.perf_counter() - started)
        assert len(entries) == clients, len(entries)
    print(json.dumps(latencies))


def max_in_window(times: list[float], width: float) -> int:
    best, start = 0, 0
    for end in range(len(times)):
        while times[end] - times[start] > width:
            start += 1
        best = max(best, end - start + 1)
    return best


async def broadcast_phase(args: argparse.Namespace, logs: Path) -> dict[str, Any]:
    rates: dict[str, list[float]] = {"on": [], "off": []}
    per_cpu: dict[str, list[float]] = {"on": [], "off": []}
    # The first round of a run measured slower than the others, whichever side it was (the
    # servers' system time per delivery up to half again): it is run, and not counted.
    await broadcast_round(args, logs, presence=False)
    for pair in range(args.repeats):
        first_on = pair % 2 == (1 if args.off_first else 0)
        for presence in (first_on, not first_on):
            rate, rate_per_cpu = await broadcast_round(args, logs, presence)
            rates["on" if presence else "off"].append(rate)
            per_cpu["on" if presence else "off"].append(rate_per_cpu)
    return {
        "broadcast_deliveries_per_s_on": [round(r) for r in rates["on"]],
        "broadcast_deliveries_per_s_off": [round(r) for r in rates["off"]],
        "broadcast_on_over_off_medians": ratio(statistics.median, rates),
        # Other processes slow some rounds down, never speed one up: the best round of each
        # is the least disturbed.
        "broadcast_on_over_off_best": ratio(max, rates),
        "broadcast_on_over_off_per_pair": pair_ratios(rates),
        "broadcast_deliveries_per_server_cpu_s_on": [round(r) for r in per_cpu["on"]],
        "broadcast_deliveries_per_server_cpu_s_off": [round(r) for r in per_cpu["off"]],
        "broadcast_per_cpu_on_over_off_medians": ratio(statistics.median, per_cpu),
        "broadcast_per_cpu_on_over_off_per_pair": pair_ratios(per_cpu),
    }


async def broadcast_round(
    args: argparse.Namespace, logs: Path, presence: bool
) -> tuple[float, float]:
    prefix = f"bench-presence-{uuid.uuid4().hex[:8]}"
    stats = ClientStats()
    with servers(prefix, presence, logs) as (urls, pids):
        members = await enter(urls, stats, [f"b-{i}" for i in range(args.clients)])
        await asyncio.sleep(args.interval * 2)  # the joins' frames and writes are over
        await broadcast_rate(members, 0.5, pids)  # warm-up
        measured = await broadcast_rate(members, args.seconds, pids)
        await close_all(members)
    return measured


def ratio(summary: Any, values: dict[str, list[float]]) -> float:
    return round(summary(values["on"]) / summary(values["off"]), 3)


def pair_ratios(values: dict[str, list[float]]) -> list[float]:
    return [round(on / off, 3) for on, off in zip(values["on"], values["off"], strict=True)]


COMPARE = {"<": operator.lt, "<=": operator.le, ">=": operator.ge}
TARGETS = (
    # (figure, comparison, target, what the issue asks)
    ("presence_p99_ms", "<", 50.0, "ws.presence() p99 under 50 ms"),
    ("storm_frames_per_member_worst_second", "<=", 5, "a handful of frames per member per second"),
    ("storm_presence_right_after_back_s", "<=", 5.0, "presence right within 5 s of the return"),
    ("broadcast_on_over_off_medians", ">=", 0.95, "deliveries/s on ≥ 0.95 × off"),
    ("broadcast_per_cpu_on_over_off_medians", ">=", 0.95, "deliveries per CPU s on ≥ 0.95 × off"),
)


def verdicts(result: dict[str, Any]) -> dict[str, str]:
    out = {}
    for name, comparison, target, meaning in TARGETS:
        if name in result:
            value = result[name]
            met = COMPARE[comparison](value, target)
            out[name] = f"{value} {comparison} {target}: {'met' if met else 'MISSED'} ({meaning})"
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--storm", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3, help="broadcast rounds on and off")
    parser.add_argument("--only", choices=("presence", "broadcast"))
    parser.add_argument("--off-first", action="store_true", help="the first pair starts with off")
    parser.add_argument("--reader", help=argparse.SUPPRESS)  # the child that times reads
    args = parser.parse_args()
    if args.reader:
        reader_main(args.reader, args.reads, args.clients)
        return
    args.interval = 1.0  # the servers' presence_interval (the default)
    if args.quick:
        args.clients, args.storm, args.seconds, args.reads = 1000, 200, 2.0, 100
    logs = Path(tempfile.mkdtemp(prefix="dtw-bench-presence-"))
    print(f"server logs: {logs}", file=sys.stderr)
    result: dict[str, Any] = {"clients": args.clients, "load_before": os.getloadavg()}
    if args.only != "broadcast":
        result.update(await presence_phase(args, logs))
    if args.only != "presence":
        result.update(await broadcast_phase(args, logs))
    result["load_after"] = os.getloadavg()
    result["targets"] = verdicts(result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    sys.path.insert(0, str(BENCH / "servers"))
    threading.stack_size(0)
    asyncio.run(main())
