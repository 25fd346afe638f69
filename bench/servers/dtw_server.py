"""Start-up shared by the django-tornado-websockets servers: the documented TornadoWrapper
sequence, with the per-connection message rate limit out of the benchmark's way."""

from __future__ import annotations

import dataclasses

from tornado_websockets.tornadowrapper import TornadoWrapper

# Far above any rate a benchmark client reaches, but finite: the per-message check still
# runs, so its cost is part of what is measured.
UNREACHABLE_MESSAGE_RATE = 1e9


def lift_message_rate_limit() -> None:
    """The library admits ``TORNADO['message_rate']`` messages a second per connection (100 by
    default) and ``TornadoWrapper.start_app`` takes no limit, while an echo client here sends
    thousands a second. Raise the limit on the server ``start_app`` built, before ``listen``
    hands its configuration to the connections. A library without that limit is left as is."""
    server = TornadoWrapper.instance
    if server is None or not hasattr(getattr(server, "config", None), "message_rate"):
        return
    server.config = dataclasses.replace(
        server.config,
        message_rate=UNREACHABLE_MESSAGE_RATE,
        message_burst=int(UNREACHABLE_MESSAGE_RATE),
    )


def serve(port: int) -> None:
    """Serve every ``WebSocket`` defined so far on 127.0.0.1:``port`` until SIGTERM."""
    TornadoWrapper.start_app(handlers=[], settings={})
    lift_message_rate_limit()
    TornadoWrapper.listen(port, address="127.0.0.1")
    TornadoWrapper.loop()
