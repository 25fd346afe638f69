"""A token bucket for the per-connection message rate (``TORNADO['message_rate']``).

Loop thread only (one bucket per connection, used by its ``on_message``).
"""

from __future__ import annotations

import time

__all__ = ["TokenBucket"]


class TokenBucket:
    """``rate`` tokens a second, up to ``burst``; each message takes one."""

    __slots__ = ("rate", "burst", "tokens", "stamp", "refused")

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.stamp = time.monotonic()
        self.refused = 0
        """Messages refused since the last one accepted."""

    def take(self) -> bool:
        """Take a token; False (and one more refusal counted) when the bucket is empty."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            self.refused = 0
            return True
        self.refused += 1
        return False
