"""Django Channels 4: an ``AsyncJsonWebsocketConsumer`` on uvicorn, with a channels_redis layer.

The same work as ``raw_tornado.py``, the way the Channels documentation writes it:

- every connection joins the group ``bench`` when it connects (``group_add``);
- ``message``: ``send_json({"event": "message", "data": data})`` back to the sender;
- ``broadcast``: ``group_send`` to the group; each member's ``bench_broadcast`` handler sends
  the frame, encoded once by the sender (as the raw Tornado server does), as text.

``--layer core`` uses ``channels_redis.core.RedisChannelLayer`` (the one the Channels
tutorial configures), ``--layer pubsub`` ``channels_redis.pubsub.RedisPubSubChannelLayer``;
both on the machine's Redis under ``--redis-prefix`` (default: one made of the PID).
Django settings are configured in this script: no project needed.

uvicorn runs as its documentation recommends for production (``uvicorn[standard]``):
uvloop, httptools, the ``websockets`` package (its sans-I/O implementation).

Usage: ``python bench/servers/channels_server.py --port PORT [--layer core|pubsub]
[--redis-prefix PREFIX]`` (binds 127.0.0.1 only, serves ``/ws/bench``, exits 0 on SIGTERM or
SIGINT).
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

import django
from common import HOST, REDIS_URL
from django.conf import settings

LAYERS = {
    "core": "channels_redis.core.RedisChannelLayer",
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
}
GROUP = "bench"
# channels_redis takes a pooled Redis connection per command in flight (a group_add for each
# connection opening, a group_discard for each closing). redis-py 8's asyncio pool stops at
# 100 connections by default and raises MaxConnectionsError past it, where redis-py 5 allowed
# 2**31: without this, 50 connections opening and closing at once already fail. When the
# 5,000 clients of the largest cells leave at once, the group_discards past 1,000 at a time
# still fail (logged; the runner deletes the step's keys): that is after the measurement.
REDIS_MAX_CONNECTIONS = 1000
# RedisChannelLayer waits for messages with BZPOPMIN and a 5 s timeout; redis-py 8 gives every
# socket a 5 s read timeout by default (None before), so an idle consumer's receive raises
# TimeoutError and Channels closes its WebSocket (channels_redis issue 422). A socket timeout
# longer than the blocking pop's is the documented way out.
REDIS_SOCKET_TIMEOUT_S = 10.0


def configure_django(layer: str, prefix: str) -> None:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="benchmark-only",
        ALLOWED_HOSTS=["127.0.0.1"],
        INSTALLED_APPS=["channels"],
        CHANNEL_LAYERS={
            "default": {
                "BACKEND": LAYERS[layer],
                "CONFIG": {
                    "hosts": [
                        {
                            "address": REDIS_URL,
                            "max_connections": REDIS_MAX_CONNECTIONS,
                            "socket_timeout": REDIS_SOCKET_TIMEOUT_S,
                        }
                    ],
                    "prefix": prefix,
                },
            }
        },
    )
    django.setup()


def build_application() -> Any:
    # Imported once settings are configured: Channels reads them at import time.
    from channels.generic.websocket import AsyncJsonWebsocketConsumer
    from channels.routing import ProtocolTypeRouter, URLRouter
    from django.urls import path

    class BenchConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
        groups = [GROUP]  # joined on connect, left on disconnect, by Channels itself

        async def receive_json(self, content: Any, **kwargs: Any) -> None:
            if not isinstance(content, dict):
                return
            event, data = content.get("event"), content.get("data") or {}
            if event == "message":
                await self.send_json({"event": "message", "data": data})
            elif event == "broadcast":
                text = json.dumps({"event": "broadcast", "data": data})
                await self.channel_layer.group_send(
                    GROUP, {"type": "bench.broadcast", "text": text}
                )

        async def bench_broadcast(self, message: dict[str, Any]) -> None:
            await self.send(text_data=message["text"])

    return ProtocolTypeRouter({"websocket": URLRouter([path("ws/bench", BenchConsumer.as_asgi())])})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--layer", choices=sorted(LAYERS), default="core")
    parser.add_argument("--redis-prefix", default=f"dtw-bench-channels-{os.getpid()}")
    args = parser.parse_args()
    configure_django(args.layer, args.redis_prefix)

    from uvicorn_runner import serve_asgi

    serve_asgi(build_application(), args.port, HOST)


if __name__ == "__main__":
    main()
