"""Django behind the Tornado server: what reaches the view, and what comes back."""

from __future__ import annotations

import http.client
import json
import socket


def connect(server) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)


def test_a_request_reaches_django_with_its_path_query_headers_and_body(tornado_server) -> None:
    conn = connect(tornado_server)
    conn.putrequest("POST", "/echo/%C3%A9t%C3%A9/a%20b?x=1&y=2")
    conn.putheader("Content-Type", "text/plain")
    conn.putheader("Content-Length", "5")
    conn.putheader("X-Twice", "one")
    conn.putheader("X-Twice", "two")
    conn.endheaders(b"hello")
    response = conn.getresponse()
    assert response.status == 200
    seen = json.loads(response.read())
    conn.close()
    assert seen["rest"] == "été/a b"
    assert seen["body"] == "hello"
    meta = seen["meta"]
    assert meta["REQUEST_METHOD"] == "POST"
    assert meta["QUERY_STRING"] == "x=1&y=2"
    assert (meta["CONTENT_TYPE"], meta["CONTENT_LENGTH"]) == ("text/plain", "5")
    assert meta["HTTP_X_TWICE"] == "one,two"
    assert (meta["SERVER_NAME"], meta["SERVER_PORT"]) == ("127.0.0.1", str(tornado_server.port))


def test_a_streaming_response_arrives_whole_with_its_length(tornado_server) -> None:
    conn = connect(tornado_server)
    conn.request("GET", "/stream/?parts=50")
    response = conn.getresponse()
    body = response.read().decode()
    conn.close()
    assert response.status == 200
    assert body == "".join(f"part {n};" for n in range(50))
    assert response.getheader("Content-Length") == str(len(body))


def test_a_kept_alive_connection_serves_requests_and_heads_in_turn(
    tornado_server,
) -> None:
    conn = connect(tornado_server)
    for n in range(20):
        conn.request("POST", f"/echo/n{n}", body=str(n).encode())
        response = conn.getresponse()
        assert response.status == 200
        assert json.loads(response.read())["body"] == str(n)
    conn.request("HEAD", "/hello/")
    response = conn.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Length") == str(len("hello from django"))
    assert response.read() == b""
    conn.request("GET", "/hello/")  # the connection is still open after the HEAD
    assert conn.getresponse().read() == b"hello from django"
    conn.close()


def test_a_method_outside_tornados_list_gets_405_without_reaching_django(tornado_server) -> None:
    with socket.create_connection(("127.0.0.1", tornado_server.port), timeout=30) as sock:
        sock.sendall(b"PROPFIND /hello/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            data = sock.recv(4096)
            assert data, f"closed after {head!r}"
            head += data
    assert head.startswith(b"HTTP/1.1 405 ")
