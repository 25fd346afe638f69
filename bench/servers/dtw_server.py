"""Start-up shared by the django-tornado-websockets servers: the documented TornadoWrapper
sequence, configured with a ``TornadoConfig`` (no Django settings), the per-connection message
rate limit out of the benchmark's way."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from common import HOST, REDIS_URL, parse_server_args

from tornado_websockets.conf import TornadoConfig
from tornado_websockets.tornadowrapper import TornadoWrapper

# The library admits TORNADO['message_rate'] messages a second per connection (100 by
# default), an echo client here sends thousands. Far above any rate a benchmark client
# reaches, but finite: the per-message check still runs, so its cost is part of what is
# measured.
UNREACHABLE_MESSAGE_RATE = 1e9


def serve_from_command_line(description: str, handlers: Sequence[Any] = ()) -> None:
    """Serve every ``WebSocket`` defined so far on 127.0.0.1:``--port`` until SIGTERM; with
    ``--redis-prefix``, emits to many sockets also go through Redis to the other processes
    started with the same prefix."""
    args = parse_server_args(description, redis=True, transport=True)
    broker = None if args.redis_prefix is None else {"url": REDIS_URL, "prefix": args.redis_prefix}
    config = TornadoConfig(
        message_rate=UNREACHABLE_MESSAGE_RATE,
        message_burst=int(UNREACHABLE_MESSAGE_RATE),
        broker=broker,
    )
    # Without --transport the library's default stays: what an application gets.
    if args.transport is not None:
        config = dataclasses.replace(config, transport=args.transport)
    TornadoWrapper.start_app(handlers=list(handlers), settings={}, config=config)
    TornadoWrapper.listen(args.port, address=HOST)
    TornadoWrapper.loop()
