"""uvicorn in-process, as its production setup runs it, exiting 0 on SIGTERM.

uvicorn re-raises the signal it stopped on once it has shut down, so its process would end
killed by SIGTERM (exit code -15) where the runner expects every server to exit 0: this
subclass leaves the signals to ``until_terminated`` and stops uvicorn the documented way
(``should_exit``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Generator
from typing import Any

import uvicorn
import uvloop
from common import until_terminated

# With WebSockets open at SIGTERM, uvicorn waits this long for them to close.
GRACEFUL_SHUTDOWN_S = 3


class QuietSignalServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def serve_asgi(application: Any, port: int, host: str) -> None:
    config = uvicorn.Config(
        application,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        ws="auto",  # websockets-sansio with websockets installed, as uvicorn[standard]
        lifespan="off",
        log_level="warning",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    server = QuietSignalServer(config)

    async def run() -> None:
        serving = asyncio.ensure_future(server.serve())
        terminated = asyncio.ensure_future(until_terminated())
        await asyncio.wait({serving, terminated}, return_when=asyncio.FIRST_COMPLETED)
        server.should_exit = True
        await serving
        terminated.cancel()

    # Config(loop="uvloop") only matters to uvicorn.run(): here the loop is made by this script.
    uvloop.run(run())
