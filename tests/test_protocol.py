"""The wire protocol without I/O: no event loop, no Django settings, no server."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tornado_websockets.exceptions import ProtocolError
from tornado_websockets.protocol import (
    DATA_NOT_A_DICT,
    EVENT_NOT_A_STRING,
    ID_NOT_AN_INTEGER,
    INVALID_JSON,
    NO_EVENT,
    NOT_AN_OBJECT,
    EventData,
    encode_ack,
    encode_ack_error,
    encode_event,
    encode_warning,
    normalize_emit_data,
    parse_frame,
    plain_dumps,
    text_frame,
)


def warning_for(frame: str | bytes) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        parse_frame(frame).data()
    return caught.value


def test_the_original_warnings_are_kept_word_for_word() -> None:
    assert INVALID_JSON == "Invalid JSON was sent."
    assert NO_EVENT == "There is no event in this JSON."
    assert DATA_NOT_A_DICT == "The data should be a dictionary."


def test_a_frame_gives_its_event_data_and_ack_id() -> None:
    frame = parse_frame('{"event": "hello", "data": {"a": 1}, "id": 4}')
    assert (frame.event, frame.data(), frame.ack_id) == ("hello", {"a": 1}, 4)


@pytest.mark.parametrize("text", ["nope", "{", '{"event": "x"', "", "\x00"])
def test_invalid_json_is_answered_with_the_invalid_json_warning(text: str) -> None:
    assert warning_for(text).message == INVALID_JSON


def test_binary_frames_are_read_as_utf8_json() -> None:
    assert parse_frame('{"event": "é"}'.encode()).event == "é"
    assert warning_for(b"\xff\xfe").message == INVALID_JSON


def test_deeply_nested_json_is_invalid_json_not_a_crash() -> None:
    assert warning_for("[" * 100_000 + "]" * 100_000).message in (INVALID_JSON, NOT_AN_OBJECT)


@pytest.mark.parametrize("text", ["[1, 2]", '"event"', "42", "null", "true"])
def test_json_that_is_not_an_object_gets_a_warning(text: str) -> None:
    assert warning_for(text).message == NOT_AN_OBJECT


@pytest.mark.parametrize("text", ["{}", '{"event": ""}', '{"event": null}', '{"data": {}}'])
def test_a_missing_or_empty_event_gets_the_no_event_warning(text: str) -> None:
    assert warning_for(text).message == NO_EVENT


@pytest.mark.parametrize("event", ["5", "[1]", '{"a": 1}', "true"])
def test_an_event_that_is_not_a_string_gets_a_warning(event: str) -> None:
    assert warning_for(f'{{"event": {event}}}').message == EVENT_NOT_A_STRING


@pytest.mark.parametrize("ack_id", ['"1"', "1.5", "true", "[1]"])
def test_an_id_that_is_not_an_integer_gets_a_warning(ack_id: str) -> None:
    assert warning_for(f'{{"event": "e", "id": {ack_id}}}').message == ID_NOT_AN_INTEGER


@pytest.mark.parametrize("data", ["null", "0", '""', "false", "[]", "{}"])
def test_missing_or_falsy_data_reads_as_an_empty_dict(data: str) -> None:
    assert parse_frame(f'{{"event": "e", "data": {data}}}').data() == {}
    assert parse_frame('{"event": "e"}').data() == {}


@pytest.mark.parametrize("data", ["1", '"text"', "[1]", "true"])
def test_truthy_data_that_is_not_an_object_gets_the_data_warning(data: str) -> None:
    assert warning_for(f'{{"event": "e", "data": {data}}}').message == DATA_NOT_A_DICT


def test_a_warning_carries_the_ack_id_so_a_request_is_answered() -> None:
    assert warning_for('{"event": "e", "data": 1, "id": 9}').ack_id == 9
    assert warning_for('{"event": "", "id": 3}').ack_id == 3


def test_data_reads_keys_as_attributes_including_nested_objects() -> None:
    data = parse_frame('{"event": "e", "data": {"message": "hi", "user": {"name": "ada"}}}').data()
    assert data.message == "hi"
    assert data.user.name == "ada"
    assert isinstance(data, dict)
    with pytest.raises(AttributeError, match="no key 'missing'"):
        data.missing  # noqa: B018


def test_event_data_keys_named_like_dict_methods_are_read_by_subscript() -> None:
    data = EventData(items=1)
    assert data["items"] == 1
    assert callable(data.items)


@pytest.mark.parametrize(
    ("data", "expected"),
    [(None, {}), ("", {}), (0, {}), ([], {}), ("hi", {"message": "hi"}), ({"a": 1}, {"a": 1})],
)
def test_emit_data_follows_the_original_normalisation(data: object, expected: dict) -> None:
    assert normalize_emit_data("e", data) == expected


@pytest.mark.parametrize("data", [1, [1], (1,), 2.5, object()])
def test_emit_data_that_is_neither_dict_nor_string_is_a_type_error(data: object) -> None:
    with pytest.raises(TypeError, match="event 'e'"):
        normalize_emit_data("e", data)


def test_an_event_name_that_is_not_a_string_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        normalize_emit_data(3, {})


def test_server_frames_have_the_documented_shapes() -> None:
    assert json.loads(encode_event("e", {"a": 1}, plain_dumps)) == {"event": "e", "data": {"a": 1}}
    assert json.loads(encode_ack(4, [1], plain_dumps)) == {"ack": 4, "data": [1]}
    assert json.loads(encode_ack_error(4, "no")) == {"ack": 4, "error": {"message": "no"}}
    assert json.loads(encode_warning("w")) == {"event": "warning", "data": {"message": "w"}}


def test_encoding_a_non_serialisable_payload_names_the_event() -> None:
    with pytest.raises(TypeError, match="event 'tick'"):
        encode_event("tick", {"when": object()}, plain_dumps)


@pytest.mark.parametrize("number", ["1e999", "-1e999", "NaN", "Infinity", "-Infinity"])
def test_numbers_outside_strict_json_are_invalid_json(number: str) -> None:
    assert warning_for(f'{{"event": "e", "data": {{"x": {number}}}}}').message == INVALID_JSON


def test_large_finite_numbers_are_still_read() -> None:
    assert parse_frame('{"event": "e", "data": {"x": 1e308, "y": -2.5}}').data() == {
        "x": 1e308,
        "y": -2.5,
    }


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_encoding_nan_or_infinity_is_a_type_error_naming_the_event(value: float) -> None:
    from tornado_websockets.encoding import dumps

    for encoder in (plain_dumps, dumps):
        with pytest.raises(TypeError, match="event 'tick'"):
            encode_event("tick", {"x": [value]}, encoder)
        with pytest.raises(TypeError, match="ack 3"):
            encode_ack(3, value, encoder)


def test_a_payload_that_contains_itself_is_a_type_error_naming_the_event() -> None:
    from tornado_websockets.encoding import dumps

    looped: dict[str, object] = {}
    looped["self"] = looped
    with pytest.raises(TypeError, match="event 'tick'.*Circular reference"):
        encode_event("tick", looped, dumps)
    # The shared encoder keeps no trace of the failure.
    assert encode_event("tick", {"ok": [1, 2.5, "\u00e9"]}, dumps) == (
        b'{"event":"tick","data":{"ok":[1,2.5,"\\u00e9"]}}'
    )


def test_binary_frames_in_utf16_json_are_read_as_json_allows() -> None:
    frame = '{"event": "e", "data": {"x": 1}}'.encode("utf-16")
    assert parse_frame(frame).data() == {"x": 1}


def test_frames_stay_valid_utf8_even_with_lone_surrogates() -> None:
    payload = encode_event("e", {"s": "\ud800"}, plain_dumps)
    payload.decode("utf-8")  # raises if the frame is not valid UTF-8
    assert json.loads(payload)["data"]["s"] == "\ud800"


@pytest.mark.parametrize(
    ("size", "header_length"), [(0, 2), (125, 2), (126, 4), (65535, 4), (65536, 10)]
)
def test_text_frames_use_the_shortest_length_encoding(size: int, header_length: int) -> None:
    frame = text_frame(b"x" * size)
    assert frame[0] == 0x81  # FIN + text opcode
    assert len(frame) == header_length + size
    assert frame[1] & 0x80 == 0  # server frames are not masked


def test_the_protocol_module_imports_no_event_loop_tornado_or_django() -> None:
    code = (
        "import sys, tornado_websockets.protocol as p;"
        'p.parse_frame(\'{"event": "e"}\');'
        "bad = [m for m in ('asyncio', 'tornado', 'django') if m in sys.modules];"
        "print(','.join(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_importing_the_package_does_not_configure_django() -> None:
    code = (
        "import os, sys; os.environ.pop('DJANGO_SETTINGS_MODULE', None);"
        "import tornado_websockets, tornado_websockets.websocket;"
        "route = tornado_websockets.django_app();"
        "from django.conf import settings;"
        "print(settings.configured, 'django.core.wsgi' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "False"]


def test_payloads_encode_with_djangos_encoder_and_the_json_hook() -> None:
    import datetime
    import decimal
    import uuid

    from django.utils.translation import gettext_lazy

    from tornado_websockets.encoding import dumps

    class Thing:
        def __json__(self) -> dict:
            return {"thing": True}

    payload = {
        "when": datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc),
        "day": datetime.date(2024, 5, 6),
        "price": decimal.Decimal("1.50"),
        "uid": uuid.UUID(int=1),
        "lazy": gettext_lazy("lazy text"),
        "thing": Thing(),
    }
    assert json.loads(dumps(payload)) == {
        "when": "2024-05-06T07:08:09Z",
        "day": "2024-05-06",
        "price": "1.50",
        "uid": "00000000-0000-0000-0000-000000000001",
        "lazy": "lazy text",
        "thing": {"thing": True},
    }
