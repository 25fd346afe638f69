"""The original class-level API, TornadoWrapper, run as its documentation shows, in a process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path

from websockets.sync.client import connect

SCRIPT = textwrap.dedent(
    """
    import sys
    import tornado.web
    from tornado_websockets.tornadowrapper import TornadoWrapper
    from tornado_websockets.websocket import WebSocket

    class Text(tornado.web.RequestHandler):
        def initialize(self, text):
            self.text = text
        def get(self):
            self.write(self.text)

    ws = WebSocket('/wrapped')

    @ws.on
    def frozen():
        import gc
        return gc.get_freeze_count()

    @ws.on
    def add_route():
        TornadoWrapper.add_handler((r'/added-later', Text, {'text': 'added later'}))
        return 'added'

    TornadoWrapper.add_handler((r'/added-before', Text, {'text': 'added before'}))
    app = TornadoWrapper.start_app([(r'/configured', Text, {'text': 'configured'}),
                                    (r'.*', Text, {'text': 'catch-all'})], {})
    port = TornadoWrapper.listen(0)
    assert TornadoWrapper.app is app and TornadoWrapper.server is not None
    print('port', port, flush=True)
    TornadoWrapper.loop()
    print('stopped cleanly', flush=True)
    """
)


def get(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        return response.read().decode()


def test_start_app_listen_loop_and_add_handler_work_as_documented(tmp_path: Path) -> None:
    script = tmp_path / "serve.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    process = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        assert line.startswith("port "), line + process.stderr.read().decode()
        port = int(line.split()[1])
        assert get(port, "/added-before") == "added before"
        assert get(port, "/configured") == "configured"
        assert get(port, "/added-later") == "catch-all"
        with connect(f"ws://127.0.0.1:{port}/ws/wrapped", open_timeout=10) as conn:
            conn.send(json.dumps({"event": "add_route", "id": 1}))
            assert json.loads(conn.recv(timeout=10)) == {"ack": 1, "data": "added"}
        assert get(port, "/added-later") == "added later"
        with connect(f"ws://127.0.0.1:{port}/ws/wrapped", open_timeout=10) as conn:
            # The server owns its process: what existed at start is out of the collector's way.
            conn.send(json.dumps({"event": "frozen", "id": 2}))
            assert json.loads(conn.recv(timeout=10))["data"] > 1000
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        assert process.stdout.read().decode().strip() == "stopped cleanly"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
