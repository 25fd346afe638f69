"""What every benchmark server shares: its command line and how it stops.

Every server script takes ``--port PORT`` (it binds 127.0.0.1 only) and, when it uses Redis,
``--redis-prefix PREFIX``: the runner gives each step a prefix of its own, so that two servers
of one step share their channels and nothing else on the machine's Redis does.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

REDIS_URL = "redis://127.0.0.1:6379/0"
HOST = "127.0.0.1"


def parse_server_args(
    description: str, *, redis: bool = False, transport: bool = False
) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, required=True)
    if transport:
        parser.add_argument(
            "--transport", choices=("tornado", "asyncio"),
            help="TORNADO['transport']: what drives a connection after its handshake "
            "(default: the library's default, what users get)",
        )  # fmt: skip
    if redis:
        parser.add_argument(
            "--redis-prefix", help="share emits through Redis under this channel prefix"
        )
    return parser.parse_args()


async def until_terminated() -> None:
    """Return on the first SIGTERM or SIGINT (the runner stops servers with SIGTERM)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
