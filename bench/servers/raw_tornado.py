"""Baseline server: a plain ``tornado.websocket.WebSocketHandler`` doing the benchmark's work.

It speaks the same wire protocol as the library (DESIGN.md §3) for the two events the
benchmark uses, the way someone would write it by hand with Tornado alone:

- ``message``: json-decode, reply ``{"event": "message", "data": data}`` to the sender;
- ``broadcast``: encode ``{"event": "broadcast", "data": data}`` once and
  ``write_message(str)`` it to every open handler, the sender included.

Usage: ``python bench/servers/raw_tornado.py --port PORT`` (binds 127.0.0.1 only, serves
``/ws/bench``, exits 0 on SIGTERM or SIGINT).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from typing import Any

import tornado.web
import tornado.websocket


class BenchHandler(tornado.websocket.WebSocketHandler):
    # Class level: one set per process, like a hand-written broadcast usually is.
    open_handlers: set[BenchHandler] = set()

    def open(self, *args: str, **kwargs: str) -> None:
        BenchHandler.open_handlers.add(self)

    def on_close(self) -> None:
        BenchHandler.open_handlers.discard(self)

    def on_message(self, message: str | bytes) -> None:
        try:
            frame: Any = json.loads(message)
        except ValueError:
            return
        if not isinstance(frame, dict):
            return
        event = frame.get("event")
        data = frame.get("data") or {}
        if event == "message":
            self.write_message(json.dumps({"event": "message", "data": data}))
        elif event == "broadcast":
            encoded = json.dumps({"event": "broadcast", "data": data})
            # Copy: a write can fail and close a handler, which mutates the set.
            for handler in list(BenchHandler.open_handlers):
                try:
                    handler.write_message(encoded)
                except tornado.websocket.WebSocketClosedError:
                    pass


async def serve(port: int) -> None:
    app = tornado.web.Application([(r"/ws/bench", BenchHandler)])
    server = app.listen(port, address="127.0.0.1")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
