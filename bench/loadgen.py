"""Load generator: the same clients for every server under test.

picows WebSocket clients (or a small HTTP/1.1 keep-alive client) on a uvloop event loop,
frames encoded and decoded with orjson, so that one core of load can saturate one core of
server. Each invocation runs one workload against one server (or against several servers
sharing a broker) and prints one JSON object on stdout; the runner (run.py) starts it pinned
to its own core and bounds it with a timeout.

    python bench/loadgen.py echo --url URL --server-pid PID --connections 100 \
        --warmup 1 --duration 5 [--wire socketio]
    python bench/loadgen.py broadcast --url URL [--url URL2] --server-pid PID [...] \
        --receivers 500 --window 1 --warmup 1 --duration 5
    python bench/loadgen.py idle --url URL --server-pid PID --connections 5000
    python bench/loadgen.py handshake --url URL --server-pid PID --connections 50 ...
    python bench/loadgen.py http --url http://127.0.0.1:PORT/hello --server-pid PID \
        --connections 32 --warmup 1 --duration 5
    python bench/loadgen.py burst --url URL --server-pid PID --receivers 1000 --count 1000 \
        --size 1024 --warmup 1 --duration 5
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
from collections.abc import Sequence
from typing import Any

import uvloop

import compiled
from loadclient import Client, ClientStats, Meter
from wire import WIRES

WORKLOADS = ("echo", "broadcast", "idle", "handshake", "http", "burst")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run one benchmark workload.")
    workloads = parser.add_subparsers(dest="workload", required=True)
    for name in WORKLOADS:
        sub = workloads.add_parser(name)
        sub.add_argument(
            "--url", action="append", required=True, help="given twice: two servers (broadcast)"
        )
        sub.add_argument("--server-pid", type=int, action="append", required=True)
        sub.add_argument("--redis-pid", type=int, help="Redis's CPU is measured apart")
        sub.add_argument("--wire", choices=sorted(WIRES), default="json")
        if name != "idle":
            sub.add_argument("--warmup", type=float, default=1.0)
            sub.add_argument("--duration", type=float, default=5.0)
        if name == "burst":
            sub.add_argument("--receivers", type=int, required=True)
            sub.add_argument("--count", type=int, required=True, help="broadcasts per burst")
            sub.add_argument("--size", type=int, default=1024, help="bytes per broadcast")
        elif name == "broadcast":
            sub.add_argument("--receivers", type=int, required=True)
            sub.add_argument(
                "--window", type=int, default=1, help="broadcasts in flight (1: closed loop)"
            )
        else:
            sub.add_argument("--connections", type=int, required=True)
    return parser.parse_args(argv)


async def run_workload(args: argparse.Namespace, stats: ClientStats) -> dict[str, Any]:
    # Imported once main() has chosen the frame counter they build on (compiled.use_built).
    from burst_workload import run_burst
    from connection_workloads import run_handshakes, run_idle
    from http_workload import run_http
    from ws_workloads import run_broadcast, run_echo

    meter = Meter(args.server_pid, args.redis_pid)
    url = args.url[0]
    if args.workload == "echo":
        return await run_echo(url, meter, stats, args.connections, args.warmup, args.duration)
    if args.workload == "broadcast":
        return await run_broadcast(
            args.url, meter, stats, args.receivers, args.window, args.warmup, args.duration
        )
    if args.workload == "burst":
        return await run_burst(
            url, meter, stats, args.receivers, args.count, args.size, args.warmup, args.duration
        )
    if args.workload == "handshake":
        return await run_handshakes(url, meter, stats, args.connections, args.warmup, args.duration)
    if args.workload == "http":
        return await run_http(url, meter, args.connections, args.warmup, args.duration)
    return await run_idle(url, args.server_pid[0], stats, args.connections)


def main(argv: Sequence[str]) -> None:
    args = parse_args(argv)
    # Set once, before any client exists: every connection of this run speaks the same wire.
    Client.wire = WIRES[args.wire]
    # A run lasts seconds and makes few cycles; the collector's passes over thousands of
    # connections' objects would be the load generator's time, not the server's.
    gc.disable()
    compiled.use_built()
    stats = ClientStats()
    try:
        result = uvloop.run(run_workload(args, stats))
    except Exception as error:  # whatever failed, report it with what the clients saw
        result = {"error": f"{type(error).__name__}: {error}", **stats.as_dict()}
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    sys.exit(1 if "error" in result else 0)


if __name__ == "__main__":
    main(sys.argv[1:])
