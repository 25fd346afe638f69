"""Figures of a running process read from /proc (Linux): its resident memory and CPU time."""

from __future__ import annotations

import os
import time

_CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    """Resident set size of ``pid`` (``VmRSS`` in /proc/<pid>/status), in KiB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}: is it a zombie?")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time consumed so far by ``pid``, all its threads included."""
    with open(f"/proc/{pid}/stat") as stat:
        # The command name (field 2) may contain spaces and parentheses: split after it.
        fields = stat.read().rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS_PER_S


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (a gunicorn worker, the server behind a launcher)."""
    found: list[int] = []
    pending = [pid]
    while pending:
        parent = pending.pop()
        try:
            threads = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue  # exited meanwhile
        for thread in threads:
            try:
                with open(f"/proc/{parent}/task/{thread}/children") as children:
                    pending += [int(child) for child in children.read().split()]
            except OSError:
                continue
        if parent != pid:
            found.append(parent)
    return found


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of ``pid`` and of its live descendants: the whole server, however it forks."""
    total = cpu_seconds(pid)
    for child in descendants(pid):
        try:
            total += cpu_seconds(child)
        except OSError:
            pass  # exited between the listing and the read
    return total


def machine_busy_seconds() -> float:
    """CPU time spent busy so far by all CPUs together, from the ``cpu`` line of /proc/stat.

    Steal time counts as busy: on a virtual machine it is time the host gave to someone else.
    """
    with open("/proc/stat") as stat:
        fields = stat.readline().split()
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / _CLOCK_TICKS_PER_S


def speed_probe_s() -> float:
    """Seconds this process takes for 10⁷ Python additions: a yardstick of the machine's speed
    when a run starts and ends. On a shared host the cores can run at half speed for minutes
    without anything showing in /proc/stat; this does show it."""
    started = time.perf_counter()
    total = 0
    for number in range(10_000_000):
        total += number
    return time.perf_counter() - started
