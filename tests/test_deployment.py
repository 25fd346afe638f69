"""Deployment: TLS, proxy headers, the Prometheus endpoint and the stats log line."""

from __future__ import annotations

import json
import re
import socket
import ssl
import subprocess
import sys
import time
import urllib.request

import pytest

from .test_limits import TESTS, TIMEOUT, receive, send, server_with, ws
from .wsclient import exchange_over_tls


def test_https_and_wss_are_served_with_a_certificate(tmp_path, certificate) -> None:
    cert, key = certificate
    with server_with(tmp_path) as plain:
        assert plain.port  # the same project serves plain HTTP without the options
    from .processes import Server, environment

    env = environment(
        "tests.django_settings", [TESTS.parent], TEST_DB_PATH=str(tmp_path / "db.sqlite3")
    )
    args = ["127.0.0.1:0", "--noreload", "--skip-checks", "--certfile", str(cert)]
    server = Server([*args, "--keyfile", str(key)], TESTS, env)
    try:
        port = server.wait_until_serving()
        assert f"serving at https://127.0.0.1:{port}/" in server.output
        context = ssl.create_default_context(cafile=str(cert))
        url = f"https://127.0.0.1:{port}/hello/"
        with urllib.request.urlopen(url, context=context, timeout=TIMEOUT) as response:
            assert response.read() == b"hello from django"
        frame = {"event": "message", "data": {"over": "tls"}}
        (echoed,) = exchange_over_tls(f"wss://127.0.0.1:{port}/ws/limits", context, [frame])
        assert echoed["data"] == {"over": "tls"}
    finally:
        server.stop()


def test_a_lone_certfile_is_refused(tmp_path, certificate) -> None:
    from .processes import environment

    env = environment("tests.django_settings", [TESTS.parent], TEST_DB_PATH=str(tmp_path / "d"))
    done = subprocess.run(
        [sys.executable, "manage.py", "runtornado", "--certfile", str(certificate[0])],
        cwd=TESTS,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and "--keyfile" in done.stderr


def where_am_i(port: int, **headers: str) -> dict[str, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/whereami/", headers=headers)
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        return json.loads(response.read())


PROXY_HEADERS = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}


def test_proxy_headers_are_honoured_only_when_xheaders_is_on(tmp_path) -> None:
    with server_with(tmp_path) as server:
        assert where_am_i(server.port, **PROXY_HEADERS) == {
            "remote_addr": "127.0.0.1",
            "scheme": "http",
        }
    with server_with(tmp_path, xheaders=True) as server:
        assert where_am_i(server.port, **PROXY_HEADERS) == {
            "remote_addr": "203.0.113.7",
            "scheme": "https",
        }
        assert where_am_i(server.port, **{"X-Real-IP": "198.51.100.2"})["remote_addr"] == (
            "198.51.100.2"
        )


def metrics(port: int) -> dict[str, float]:
    url = f"http://127.0.0.1:{port}/metrics"
    with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
        text = response.read().decode()
    values = {}
    for line in text.splitlines():
        match = re.match(r"(tws_\w+)(?:\{(.*)\})? (\S+)$", line)
        if match is None:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match[2] or ""))
        if labels.get("path", "/ws/limits") != "/ws/limits":
            continue
        if "le" in labels and labels["le"] != "+Inf":
            continue
        values[match[1] + ("_inf" if "le" in labels else "")] = float(match[3])
    return values


def test_the_metrics_endpoint_counts_a_scripted_session(tmp_path) -> None:
    pytest.importorskip("prometheus_client")
    with server_with(tmp_path, metrics_path="/metrics") as server:
        with ws(server) as first, ws(server) as second:
            for n in range(3):
                send(first, "message", {"n": n})
                receive(first)
            send(first, "shout", {"to": "everyone"})  # one emit, two messages sent
            receive(first), receive(second)
            first.send("not json")  # one warning
            receive(first)
            send(second, "fail")  # one handler error, answered with a warning
            receive(second)
            figures = metrics(server.port)
        assert figures["tws_connections_open"] == 2
        assert figures["tws_messages_received_total"] == 6
        assert figures["tws_messages_sent_total"] == 7  # 3 echoes, 2 shouts, 2 warnings
        assert figures["tws_emits_total"] == 1
        assert figures["tws_warnings_total"] == 2
        assert figures["tws_handler_errors_total"] == 1
        assert figures["tws_handler_duration_seconds_count"] == 5
        assert figures["tws_handler_duration_seconds_bucket_inf"] == 5
        assert figures["tws_slow_consumer_disconnects_total"] == 0
        assert "tws_broker_publish_failures_total" in figures


def test_the_metrics_endpoint_shows_a_plain_handler_waiting_for_the_one_worker_thread(
    tmp_path,
) -> None:
    pytest.importorskip("prometheus_client")
    with (
        server_with(tmp_path, metrics_path="/metrics", threads=1) as server,
        socket.create_server(("127.0.0.1", 0)) as releases,
    ):
        with ws(server) as held, ws(server) as waiting:
            send(held, "hold", {"port": releases.getsockname()[1]})
            releases.settimeout(TIMEOUT)
            release, _ = releases.accept()  # the one thread is in the handler now
            with release:
                send(waiting, "counted", {"n": 1}, id=1)
                deadline = time.monotonic() + TIMEOUT
                while (figures := metrics(server.port))["tws_plain_handlers_waiting"] != 1:
                    assert time.monotonic() < deadline, figures
                    time.sleep(0.01)
                assert figures["tws_plain_handler_threads"] == 1
                release.sendall(b"x")
                assert receive(waiting) == {"ack": 1, "data": None}
            figures = metrics(server.port)
        assert figures["tws_plain_handlers_waiting"] == 0


def test_stats_logs_a_line_of_figures_periodically(tmp_path) -> None:
    from .processes import Server, environment

    env = environment("tests.django_settings", [TESTS.parent], TEST_DB_PATH=str(tmp_path / "d"))
    server = Server(["127.0.0.1:0", "--noreload", "--skip-checks", "--stats", "0.2"], TESTS, env)
    try:
        server.wait_until_serving()
        with ws(server) as conn:
            send(conn, "message", {"n": 1})
            receive(conn)
            server.wait_for_line(r"stats: connections=1 in=.* handler_errors=0", timeout=TIMEOUT)
    finally:
        server.stop()
