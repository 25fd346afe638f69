"""Property-based fuzzing: whatever a client sends, the server answers and keeps serving."""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tornado_websockets.websocket import WebSocket

from .wsclient import emit, open_socket, receive

ws_fuzz = WebSocket("/t_fuzz")


@ws_fuzz.on
async def message(socket, data):
    socket.emit("message", data)


@ws_fuzz.on
def plain(socket, data):
    socket.emit("plain", data)
    return data


@ws_fuzz.on
def boom(data):
    raise RuntimeError("fuzzed into a failure")


@ws_fuzz.on
async def fuzz_ping():
    return "pong"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
event_names = st.sampled_from(["message", "plain", "boom", "open", "close", "fuzz_ping", ""]) | (
    st.text(max_size=20)
)
protocol_frames = st.fixed_dictionaries(
    {},
    optional={
        "event": event_names | json_values,
        "data": json_values,
        "id": st.integers(min_value=-(2**70), max_value=2**70) | json_values,
    },
).map(json.dumps)
frames = (
    protocol_frames | st.text(max_size=200) | st.binary(max_size=200) | json_values.map(json.dumps)
)

ping_ids = itertools.count(10**9)


@pytest.fixture(scope="module")
def fuzz_connections(tornado_server):
    with (
        open_socket(tornado_server, "/t_fuzz") as target,
        open_socket(tornado_server, "/t_fuzz") as bystander,
    ):
        yield target, bystander


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(frame=frames)
def test_any_frame_is_answered_and_the_connection_and_bystanders_keep_working(
    fuzz_connections, frame
) -> None:
    target, bystander = fuzz_connections
    target.send(frame)
    ping = next(ping_ids)
    emit(target, "fuzz_ping", id=ping)
    while True:  # whatever came back first, each frame is a JSON object of the protocol
        reply = receive(target)
        assert isinstance(reply, dict) and ("event" in reply or "ack" in reply), reply
        if reply.get("ack") == ping:
            assert reply == {"ack": ping, "data": "pong"}
            break
    emit(bystander, "message", {"still": "fine"})
    assert receive(bystander) == {"event": "message", "data": {"still": "fine"}}
