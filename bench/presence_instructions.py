"""What presence costs a broadcast, counted by callgrind: figures the load of a shared machine
does not move, where deliveries per second and CPU seconds do.

Two servers over Redis (``bench/servers/dtw_presence.py``), every client in the room; the first
server runs under ``valgrind --tool=callgrind`` with instrumentation off until every client is
in and a few broadcasts went by, then on for ``--rounds`` broadcasts (half sent from each
server, each awaited by every client), then dumped. Done with presence on, then off: the
instructions of that window divided by the deliveries of that server are what one delivery
costs it, and their ratio is what presence costs a broadcast.

Keepalive pings are off in both (the server's default here): a ping round makes every client
answer at once, which costs more than the broadcasts of a short window and lands in one run's
window and not the other's.

Usage: ``python bench/presence_instructions.py [--clients 1000] [--rounds 20]``. Needs valgrind,
Redis on 127.0.0.1:6379 and the load generator's packages. Takes a few minutes; prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from loadclient import ClientStats, close_all, wait_for
from presence import SERVER, Member, enter, reap, wait_listening
from serverproc import free_port


async def broadcasts(members: list[Member], senders: list[Member], rounds: int) -> None:
    """``rounds`` broadcasts, one at a time, each awaited by every member."""
    start = [member.broadcasts for member in members]
    for round_ in range(rounds):
        senders[round_ % len(senders)].send_event("broadcast", {"round": round_})
        done = [count + round_ + 1 for count in start]
        await wait_for(
            lambda done=done: all(m.broadcasts >= d for m, d in zip(members, done, strict=True)),
            300,
            "a broadcast",
        )


def callgrind_control(*args: str) -> None:
    subprocess.run(["callgrind_control", *args], check=True, capture_output=True)


async def measure(presence: bool, clients: int, rounds: int, out: Path) -> dict[str, Any]:
    prefix = f"bench-presence-cg-{uuid.uuid4().hex[:8]}"
    ports = [free_port(), free_port()]
    mode = "on" if presence else "off"
    argv = [sys.executable, str(SERVER), "--redis-prefix", prefix, "--presence", mode]
    valgrind = ["valgrind", "--tool=callgrind", "--instr-atstart=no"]
    valgrind.append(f"--callgrind-out-file={out}")
    processes = [
        subprocess.Popen(
            (valgrind if index == 0 else []) + argv + ["--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for index, port in enumerate(ports)
    ]
    try:
        for port in ports:
            await asyncio.get_running_loop().run_in_executor(None, wait_listening, port)
        urls = [f"ws://127.0.0.1:{port}/ws/bench" for port in ports]
        members = await enter(urls, ClientStats(), [f"cg-{i}" for i in range(clients)])
        await asyncio.sleep(3)  # the joins' frames and writes are over
        senders = members[:2]  # connect_all spreads clients over the URLs in turn
        await broadcasts(members, senders, 4)  # warm-up
        measured = processes[0].pid
        callgrind_control("-i", "on", str(measured))
        await broadcasts(members, senders, rounds)
        callgrind_control("-d", str(measured))
        instructions = total_instructions(next(out.parent.glob(out.name + ".*")))
        await close_all(members)
    finally:
        # What was measured is dumped: a clean shutdown under valgrind would only take minutes.
        processes[0].kill()
        processes[1].terminate()
        reap(processes)
    # The measured server delivers each broadcast to its half of the clients.
    deliveries = rounds * len(members[0::2])
    return {"instructions": instructions, "per_delivery": round(instructions / deliveries)}


def total_instructions(dump: Path) -> int:
    summary = re.search(r"^(?:summary|totals): (\d+)", dump.read_text(), re.MULTILINE)
    assert summary is not None, f"no totals in {dump}"
    return int(summary[1])


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    result: dict[str, Any] = {"clients": args.clients, "rounds": args.rounds}
    with tempfile.TemporaryDirectory(prefix="dtw-presence-cg-") as directory:
        for presence in (True, False):
            out = Path(directory) / f"callgrind-{presence}.out"
            result["on" if presence else "off"] = await measure(
                presence, args.clients, args.rounds, out
            )
    result["instructions_on_over_off"] = round(
        result["on"]["per_delivery"] / result["off"]["per_delivery"], 3
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
