"""The machine's Redis, as the Redis-backed servers use it: reachable? which process? and the
keys a step left behind.

Each step that uses Redis gets a key prefix of its own (``step_prefix``); Channels' groups
(sorted sets that live a day) are deleted after the step, so nothing piles up in a Redis that
other programs on the machine share.
"""

from __future__ import annotations

import os

import redis

REDIS_URL = "redis://127.0.0.1:6379/0"
START_HINT = 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no'


class RedisUnavailableError(Exception):
    pass


def _client(timeout_s: float = 2.0) -> redis.Redis:
    return redis.Redis.from_url(REDIS_URL, socket_timeout=timeout_s, socket_connect_timeout=1)


def redis_pid() -> int:
    """PID of the Redis server on 127.0.0.1:6379 (its CPU time is measured apart).

    Raises RedisUnavailableError, saying how to start it, when it does not answer."""
    try:
        info = _client().info("server")
    except (redis.RedisError, OSError) as error:
        raise RedisUnavailableError(
            f"Redis does not answer at {REDIS_URL} ({error}); start it: {START_HINT}"
        ) from error
    pid = int(info["process_id"])
    if not os.path.exists(f"/proc/{pid}"):
        raise RedisUnavailableError(f"Redis at {REDIS_URL} is not a process of this machine")
    return pid


def step_prefix(step_number: int) -> str:
    return f"dtw-bench-{os.getpid()}-{step_number}"


def delete_keys(prefix: str) -> int:
    """Delete every key under ``prefix`` (at most a few, each step has its own prefix)."""
    try:
        client = _client()
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        return len(keys)
    except (redis.RedisError, OSError):
        return 0  # a leftover expires on its own within a day
