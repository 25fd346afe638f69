"""What the admin's live page costs the hot path: server CPU time per delivered broadcast frame.

Three servers of ``servers/dtw_admin.py``, measured in turn and alternated over the repeats:

- ``off``: ``TORNADO['admin'] = False``;
- ``idle``: the admin on, no page open (what it must cost: nothing);
- ``watched``: the admin on and one admin WebSocket open, as a page would be (one snapshot a
  second, over every connection).

Each run opens ``--connections`` clients of ``/ws/bench``; one of them sends ``--messages``
broadcasts, waiting for every client to get each one. The figure is the server's CPU time
(user + system, from /proc) over the run divided by the frames delivered.

Usage: ``python bench/admin_overhead.py [--connections 200] [--messages 300] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from websockets.asyncio.client import connect

from procstats import cpu_seconds

HERE = Path(__file__).resolve().parent
SERVER = HERE / "servers" / "dtw_admin.py"
MODES = ("off", "idle", "watched")


def start(mode: str, folder: str) -> tuple[subprocess.Popen[str], int, str]:
    admin = "off" if mode == "off" else "on"
    process = subprocess.Popen(
        [sys.executable, str(SERVER), "--admin", admin, "--db", f"{folder}.sqlite3"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    session = process.stdout.readline().split()[1]
    port = int(process.stdout.readline().split()[1])
    return process, port, session


async def measure(
    pid: int, port: int, session: str, watched: bool, args: argparse.Namespace
) -> float:
    url = f"ws://127.0.0.1:{port}/ws/bench"
    clients = [await connect(url, max_queue=None) for _ in range(args.connections)]
    admin = None
    if watched:
        admin = await connect(
            f"ws://127.0.0.1:{port}/ws/_tornado_websockets/admin",
            additional_headers={"Cookie": f"sessionid={session}"},
            max_queue=None,
        )
        while json.loads(await admin.recv()).get("event") != "$snapshot":
            pass
    frame = json.dumps({"event": "broadcast", "data": {"message": "x" * 64}})
    before, started = cpu_seconds(pid), time.perf_counter()
    for _ in range(args.messages):
        await clients[0].send(frame)
        await asyncio.gather(*(client.recv() for client in clients))
    used, elapsed = cpu_seconds(pid) - before, time.perf_counter() - started
    for client in [*clients, *([admin] if admin else [])]:
        await client.close()
    delivered = args.messages * args.connections
    print(
        f"  {'watched' if watched else '':8} {elapsed:6.2f} s wall, {used:6.2f} s CPU", flush=True
    )
    return used / delivered * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    figures: dict[str, list[float]] = {mode: [] for mode in MODES}
    with tempfile.TemporaryDirectory(prefix="dtw-admin-bench-") as folder:
        for repeat in range(args.repeats):
            for mode in MODES:
                process, port, session = start(mode, f"{folder}/{mode}-{repeat}")
                try:
                    print(f"{mode} (run {repeat + 1})", flush=True)
                    figures[mode].append(
                        asyncio.run(measure(process.pid, port, session, mode == "watched", args))
                    )
                finally:
                    process.terminate()
                    process.wait(20)
    print(
        f"\nserver CPU µs per delivered frame, {args.connections} connections, "
        f"{args.messages} broadcasts, median of {args.repeats} (min–max):"
    )
    for mode in MODES:
        values = figures[mode]
        median, low, high = statistics.median(values), min(values), max(values)
        print(f"| {mode:8} | {median:6.2f} | {low:6.2f}–{high:6.2f} |")


if __name__ == "__main__":
    main()
