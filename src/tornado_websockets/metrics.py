"""Metrics: a Prometheus endpoint (``TORNADO['metrics_path']``) and ``runtornado --stats``.

Both read the always-on counters of ``stats`` (per WebSocket path) and the broker's ``stats``;
the endpoint also reads the worker lane's (plain handlers waiting, threads taken).
The endpoint needs ``prometheus-client`` (``pip install "django-tornado-websockets[metrics]"``).

Loop thread: the handler and the periodic log line run on the server's loop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import tornado.web

from . import runtime
from .stats import COUNTERS
from .websocket import websockets

__all__ = ["MetricsHandler", "StatsLogger", "collect_totals", "require_prometheus_client"]

logger = logging.getLogger("tornado_websockets")

PREFIX = "tws_"


def require_prometheus_client() -> None:
    """Raise ``ImportError`` with the install command when prometheus-client is missing."""
    try:
        import prometheus_client  # noqa: F401
    except ImportError as error:
        raise ImportError(
            "TORNADO['metrics_path'] needs prometheus-client: "
            'pip install "django-tornado-websockets[metrics]"'
        ) from error


class _Collector:
    """A prometheus-client collector over this process's counters."""

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        labels = ["path"]
        families: dict[str, Any] = {
            "connections_open": GaugeMetricFamily(
                PREFIX + "connections_open", "Open WebSocket connections.", labels=labels
            ),
            "messages_received": CounterMetricFamily(
                PREFIX + "messages_received", "Messages received from clients.", labels=labels
            ),
            "messages_sent": CounterMetricFamily(
                PREFIX + "messages_sent", "Messages written to clients.", labels=labels
            ),
            "emits": CounterMetricFamily(
                PREFIX + "emits", "Emits delivered by this process.", labels=labels
            ),
            "warnings": CounterMetricFamily(
                PREFIX + "warnings", "Warnings and ack errors sent to clients.", labels=labels
            ),
            "handler_errors": CounterMetricFamily(
                PREFIX + "handler_errors", "Handlers that raised.", labels=labels
            ),
            "slow_consumer_disconnects": CounterMetricFamily(
                PREFIX + "slow_consumer_disconnects",
                "Connections closed with 4008 (too much unsent data).",
                labels=labels,
            ),
            "rate_limit_closes": CounterMetricFamily(
                PREFIX + "rate_limit_closes",
                "Connections closed with 1008 (kept sending past the message rate).",
                labels=labels,
            ),
            "refused_handshakes": CounterMetricFamily(
                PREFIX + "refused_handshakes",
                "WebSocket handshakes refused (limits, origin, login, authorize).",
                labels=labels,
            ),
        }
        durations = HistogramMetricFamily(
            PREFIX + "handler_duration_seconds", "Time handlers took.", labels=labels
        )
        for websocket in websockets():
            stats = websocket.stats
            for name, family in families.items():
                family.add_metric([websocket.url_path], getattr(stats, name))
            histogram = stats.handler_durations
            buckets = [(_bound(b), float(c)) for b, c in histogram.cumulative()]
            durations.add_metric([websocket.url_path], buckets, histogram.total)
        yield from families.values()
        yield durations
        broker_stats = _broker_stats()
        failures = CounterMetricFamily(
            PREFIX + "broker_publish_failures", "Envelopes the broker could not publish."
        )
        failures.add_metric([], broker_stats.get("publish_failures", 0))
        reconnects = CounterMetricFamily(
            PREFIX + "broker_reconnects", "Times the broker reconnected."
        )
        reconnects.add_metric([], broker_stats.get("reconnects", 0))
        yield failures
        yield reconnects
        waiting, threads = _worker_lane_stats()
        waiting_family = GaugeMetricFamily(
            PREFIX + "plain_handlers_waiting", "Plain handlers waiting for a worker thread."
        )
        waiting_family.add_metric([], waiting)
        threads_family = GaugeMetricFamily(
            PREFIX + "plain_handler_threads",
            "Worker threads taken by plain handlers (running one, or on their way).",
        )
        threads_family.add_metric([], threads)
        yield waiting_family
        yield threads_family


def _bound(value: float) -> str:
    return "+Inf" if value == float("inf") else repr(value)


def _broker_stats() -> dict[str, int]:
    run = runtime.current()
    broker = run.broker if run is not None else None
    if broker is None:
        return {}
    return {
        "publish_failures": broker.stats.publish_failures,
        "reconnects": broker.stats.reconnects,
    }


def _worker_lane_stats() -> tuple[int, int]:
    run = runtime.current()
    lane = run.worker_lane if run is not None else None
    return (0, 0) if lane is None else lane.stats()


_registry: Any = None


def _prometheus_registry() -> Any:
    global _registry
    if _registry is None:
        from prometheus_client import CollectorRegistry

        _registry = CollectorRegistry(auto_describe=False)
        _registry.register(_Collector())
    return _registry


class MetricsHandler(tornado.web.RequestHandler):
    """``GET TORNADO['metrics_path']``: the Prometheus text exposition."""

    def get(self) -> None:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.write(generate_latest(_prometheus_registry()))


def collect_totals() -> dict[str, int]:
    """Totals over every path, and the broker's figures."""
    totals = dict.fromkeys(COUNTERS, 0)
    for websocket in websockets():
        for name in totals:
            totals[name] += getattr(websocket.stats, name)
    totals.update(_broker_stats())
    return totals


class StatsLogger:
    """Writes one line of figures (rates since the previous line) every ``period`` seconds,
    with ``write`` (the ``tornado_websockets`` logger's ``info`` by default)."""

    def __init__(self, period: float, write: Callable[[str], None] | None = None) -> None:
        self.period = period
        self.write = write or logger.info
        self.previous = collect_totals()
        self.stamp = time.monotonic()

    def log(self) -> None:
        now, totals = time.monotonic(), collect_totals()
        elapsed = max(now - self.stamp, 1e-9)

        def rate(name: str) -> float:
            return (totals[name] - self.previous.get(name, 0)) / elapsed

        self.write(
            f"{time.strftime('%Y-%m-%d %H:%M:%S')} stats: "
            f"connections={totals['connections_open']} "
            f"in={rate('messages_received'):.1f}/s out={rate('messages_sent'):.1f}/s "
            f"emits={rate('emits'):.1f}/s warnings={totals['warnings']} "
            f"handler_errors={totals['handler_errors']} "
            f"slow_consumers={totals['slow_consumer_disconnects']} "
            f"broker_failures={totals.get('publish_failures', 0)} "
            f"broker_reconnects={totals.get('reconnects', 0)}"
        )
        self.previous, self.stamp = totals, now
