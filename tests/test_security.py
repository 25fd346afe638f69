"""Safe by default: origins, Django users on sockets, login_required, authorize, rooms."""

from __future__ import annotations

import http.cookiejar
import queue
import re
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest
from django.contrib.auth.models import User
from django.contrib.auth.signals import user_logged_out
from django.core import checks
from django.test import override_settings
from tornado.httputil import HTTPHeaders, HTTPServerRequest, RequestStartLine
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tornado_websockets import hosts
from tornado_websockets.origins import OriginPolicy
from tornado_websockets.websocket import WebSocket

from .wsclient import emit, open_socket, receive, receive_event

ws_who = WebSocket("/t_who")


@ws_who.on
def whoami(socket):
    user = socket.user
    return {
        "authenticated": user.is_authenticated,
        "username": user.get_username(),
        "session_user": socket.session.get("_auth_user_id"),
    }


def refused_status(server, path: str, **kwargs) -> int:
    with pytest.raises(InvalidStatus) as caught:
        open_socket(server, path, **kwargs)
    return caught.value.response.status_code


def handshake_status(server, path: str, host: str, origin: str | None = None, **headers) -> int:
    """The status a raw handshake with these ``Host`` and ``Origin`` headers gets."""
    lines = [
        f"GET /ws{path} HTTP/1.1",
        f"Host: {host}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
    ]
    if origin is not None:
        lines.append(f"Origin: {origin}")
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        answer = b""
        while b"\r\n" not in answer:
            chunk = sock.recv(4096)
            assert chunk, f"closed without an answer: {answer!r}"
            answer += chunk
    return int(answer.split(b" ", 2)[1])


# -- hosts ---------------------------------------------------------------------------------------


def test_a_dns_rebinding_handshake_is_refused_with_400_like_django(tornado_server, caplog) -> None:
    host = f"evil.example:{tornado_server.port}"
    assert handshake_status(tornado_server, "/t_who", host, origin=f"http://{host}") == 400
    assert handshake_status(tornado_server, "/t_who", host) == 400
    assert "Invalid HTTP_HOST header: 'evil.example" in caplog.text
    # Django's own answer for that host, on the same server.
    request = urllib.request.Request(f"{tornado_server.http_url}/", headers={"Host": host})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with pytest.raises(urllib.error.HTTPError) as caught:
        opener.open(request, timeout=10)
    assert caught.value.code == 400


def test_a_host_of_allowed_hosts_is_admitted(tornado_server) -> None:
    for host in (f"127.0.0.1:{tornado_server.port}", f"localhost:{tornado_server.port}"):
        origin = f"http://{host}"
        assert handshake_status(tornado_server, "/t_who", host, origin=origin) == 101


def test_the_host_is_checked_before_the_origin(tornado_server) -> None:
    # A forged origin alone gets 403; with a bad host too, the host is what is refused.
    host = f"127.0.0.1:{tornado_server.port}"
    assert handshake_status(tornado_server, "/t_who", host, origin="http://evil.example") == 403
    bad = "evil.example"
    assert handshake_status(tornado_server, "/t_who", bad, origin="http://evil.example") == 400


def test_debug_with_empty_allowed_hosts_admits_localhost_only(tornado_server) -> None:
    port = tornado_server.port
    with override_settings(DEBUG=True, ALLOWED_HOSTS=[]):
        assert handshake_status(tornado_server, "/t_who", f"localhost:{port}") == 101
        assert handshake_status(tornado_server, "/t_who", f"127.0.0.1:{port}") == 101
        assert handshake_status(tornado_server, "/t_who", f"evil.example:{port}") == 400


def test_a_host_admitted_before_is_refused_once_allowed_hosts_no_longer_has_it(
    tornado_server,
) -> None:
    # Accepted hosts are remembered: a settings change must make the next handshake ask again.
    host = f"127.0.0.1:{tornado_server.port}"
    assert handshake_status(tornado_server, "/t_who", host) == 101
    assert handshake_status(tornado_server, "/t_who", host) == 101
    with override_settings(ALLOWED_HOSTS=["localhost"]):
        assert handshake_status(tornado_server, "/t_who", host) == 400
    assert handshake_status(tornado_server, "/t_who", host) == 101


def test_hosts_remembered_are_bounded_and_each_still_checked(tornado_server) -> None:
    # A wildcard of ALLOWED_HOSTS admits endless names: more than the memory holds still pass.
    port = tornado_server.port
    with override_settings(ALLOWED_HOSTS=[".example.com"]):
        for n in range(hosts.MAX_REMEMBERED + 5):
            request = HTTPServerRequest(
                start_line=RequestStartLine("GET", "/ws/t_who", "HTTP/1.1"),
                headers=HTTPHeaders({"Host": f"n{n}.example.com:{port}"}),
            )
            assert hosts.disallowed_host(request) is None
            assert len(hosts._accepted) <= hosts.MAX_REMEMBERED
        assert handshake_status(tornado_server, "/t_who", f"n1.example.com:{port}") == 101
        assert handshake_status(tornado_server, "/t_who", f"example.org:{port}") == 400


def test_x_forwarded_host_is_checked_when_django_uses_it(tornado_server) -> None:
    host = f"127.0.0.1:{tornado_server.port}"
    assert handshake_status(tornado_server, "/t_who", host, X_Forwarded_Host="evil.example") == 101
    with override_settings(USE_X_FORWARDED_HOST=True):
        forged = handshake_status(tornado_server, "/t_who", host, X_Forwarded_Host="evil.example")
        assert forged == 400
        fine = handshake_status(tornado_server, "/t_who", "evil.example", X_Forwarded_Host=host)
        assert fine == 101


# -- origins ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "origin", ["http://evil.example", "https://127.0.0.1.evil.example", "null", "http://[bad"]
)
def test_a_forged_origin_gets_403(tornado_server, origin) -> None:
    assert refused_status(tornado_server, "/t_who", origin=origin) == 403


def test_allowed_origins_connect(tornado_server) -> None:
    for origin in (
        tornado_server.http_url,  # the server's own origin
        "http://localhost:5173",  # a host of ALLOWED_HOSTS, any port
        "https://app.trusted.test",  # CSRF_TRUSTED_ORIGINS pattern
    ):
        with open_socket(tornado_server, "/t_who", origin=origin) as conn:
            emit(conn, "whoami", id=1)
            assert receive(conn)["ack"] == 1


def test_a_handshake_without_origin_is_accepted(tornado_server) -> None:
    with open_socket(tornado_server, "/t_who") as conn:  # the client sends no Origin header
        emit(conn, "whoami", id=1)
        assert receive(conn)["data"]["authenticated"] is False


@pytest.mark.parametrize(
    ("policy", "origin", "allowed"),
    [
        (OriginPolicy(["*.example.com"]), "https://a.example.com", True),
        (OriginPolicy(["*.example.com"]), "https://example.org", False),
        (OriginPolicy(["https://exact.org"]), "http://exact.org", False),
        (OriginPolicy(["*"]), "http://anything.test", True),
        (OriginPolicy(allowed_hosts=["*"]), "http://anything.test", False),
        (OriginPolicy(allowed_hosts=[".corp.net"]), "https://a.b.corp.net", True),
        (OriginPolicy(debug=True), "http://localhost:3000", True),
        (OriginPolicy(debug=False), "http://localhost:3000", False),
    ],
)
def test_origin_policy_rules(policy, origin, allowed) -> None:
    assert policy.allows(origin, "server.test:8000") is allowed


# -- Django users -------------------------------------------------------------------------------


class Browser:
    """Cookies and CSRF handled like a browser, against the real Django login view."""

    def __init__(self, server) -> None:
        self.server = server
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def cookie(self, name: str) -> str:
        return next(c.value for c in self.jar if c.name == name)

    def log_in(self, username: str, password: str) -> None:
        page = self.opener.open(f"{self.server.http_url}/login/", timeout=30).read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token is not None
        form = {"username": username, "password": password, "csrfmiddlewaretoken": token[1]}
        body = urllib.parse.urlencode(form).encode()
        with self.opener.open(f"{self.server.http_url}/login/", body, timeout=30) as response:
            assert response.read() == b"hello from django"  # redirected after a good login

    def log_out(self) -> None:
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": self.cookie("csrftoken")}).encode()
        self.opener.open(f"{self.server.http_url}/logout/", body, timeout=30).read()

    def open_socket(self, path: str):
        header = f"sessionid={self.cookie('sessionid')}"
        return open_socket(self.server, path, additional_headers={"Cookie": header})


@pytest.fixture
def ada(transactional_db) -> User:
    return User.objects.create_user("ada", password="analytical-engine")


@pytest.fixture
def logged_in(tornado_server, ada) -> Browser:
    browser = Browser(tornado_server)
    browser.log_in("ada", "analytical-engine")
    return browser


def test_socket_user_and_session_come_from_the_session_cookie(logged_in, ada) -> None:
    with logged_in.open_socket("/t_who") as conn:
        emit(conn, "whoami", id=1)
        assert receive(conn)["data"] == {
            "authenticated": True,
            "username": "ada",
            "session_user": str(ada.pk),
        }


def test_a_bad_session_cookie_is_an_anonymous_user(tornado_server, transactional_db) -> None:
    cookie = {"Cookie": "sessionid=not-a-session"}
    with open_socket(tornado_server, "/t_who", additional_headers=cookie) as conn:
        emit(conn, "whoami", id=1)
        assert receive(conn)["data"]["authenticated"] is False


ws_members = WebSocket("/t_members", login_required=True)


@ws_members.on
def hello(socket):
    return f"hello {socket.user.get_username()}"


def test_login_required_refuses_anonymous_handshakes(tornado_server) -> None:
    assert refused_status(tornado_server, "/t_members") == 403


def test_login_required_accepts_a_logged_in_session(logged_in) -> None:
    with logged_in.open_socket("/t_members") as conn:
        emit(conn, "hello", id=1)
        assert receive(conn) == {"ack": 1, "data": "hello ada"}


def only_ada(request, user) -> bool:
    return user.get_username() == "ada" and request.path == "/ws/t_ada_only"


async def header_says_yes(request, user) -> bool:
    return request.headers.get("X-Let-Me-In") == "yes"


ws_ada_only = WebSocket("/t_ada_only", authorize=only_ada)
ws_header = WebSocket("/t_header", authorize=header_says_yes)


def test_authorize_decides_with_the_request_and_the_user(tornado_server, logged_in) -> None:
    assert refused_status(tornado_server, "/t_ada_only") == 403
    with logged_in.open_socket("/t_ada_only"):
        pass


def test_an_async_authorize_is_awaited(tornado_server) -> None:
    assert refused_status(tornado_server, "/t_header") == 403
    with open_socket(tornado_server, "/t_header", additional_headers={"X-Let-Me-In": "yes"}):
        pass


def test_logging_out_closes_that_users_sockets_with_4001(logged_in, tornado_server) -> None:
    with logged_in.open_socket("/t_who") as mine, open_socket(tornado_server, "/t_who") as other:
        logged_in.log_out()
        with pytest.raises(ConnectionClosed) as caught:
            mine.recv(timeout=10)
        assert caught.value.rcvd.code == 4001
        emit(other, "whoami", id=1)  # an anonymous bystander stays connected
        assert receive(other)["ack"] == 1


authorizing: queue.Queue[str] = queue.Queue()
authorize_gate = threading.Event()


def after_the_gate(request, user) -> bool:
    """A slow ``authorize``: the handshake has read the session and waits for the test."""
    authorizing.put(user.get_username())
    return authorize_gate.wait(timeout=30)


ws_gated = WebSocket("/t_gated", login_required=True, authorize=after_the_gate)


@ws_gated.on
def who(socket):
    return socket.user.get_username()


def test_handshakes_in_flight_when_their_user_logs_out_open_only_to_close_with_4001(
    logged_in,
) -> None:
    count = 4  # each holds a worker thread in authorize: the logout view needs one too
    authorize_gate.clear()
    opened: queue.Queue[object] = queue.Queue()

    def handshake() -> None:
        try:
            opened.put(logged_in.open_socket("/t_gated"))
        except Exception as error:  # reported below
            opened.put(error)

    threads = [threading.Thread(target=handshake, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    assert [authorizing.get(timeout=10) for _ in range(count)] == ["ada"] * count
    logged_in.log_out()  # while every handshake holds a logged-in session
    authorize_gate.set()
    for _ in range(count):
        conn = opened.get(timeout=10)
        assert not isinstance(conn, Exception), conn
        with conn, pytest.raises(ConnectionClosed) as caught:
            emit(conn, "who", id=1)  # may already find the connection closed
            print("answered as a logged-out user:", receive(conn))
        assert caught.value.rcvd is not None and caught.value.rcvd.code == 4001


holding_logouts = threading.Event()
logout_held = threading.Event()
release_logout = threading.Event()


def hold_the_logout(sender, **kwargs) -> None:
    """Runs after the library's receiver and before Django flushes the session."""
    if holding_logouts.is_set():
        logout_held.set()
        release_logout.wait(timeout=30)


user_logged_out.connect(hold_the_logout, dispatch_uid="tests.test_security.hold_the_logout")


def test_a_handshake_opening_between_the_logout_signal_and_the_session_flush_is_closed(
    logged_in,
) -> None:
    count = 2  # authorize holds 2 worker threads, the logout view a third
    authorize_gate.clear()
    logout_held.clear()
    release_logout.clear()
    opened: queue.Queue[object] = queue.Queue()

    def handshake() -> None:
        try:
            opened.put(logged_in.open_socket("/t_gated"))
        except Exception as error:  # reported below
            opened.put(error)

    for _ in range(count):
        threading.Thread(target=handshake, daemon=True).start()
    assert [authorizing.get(timeout=10) for _ in range(count)] == ["ada"] * count
    holding_logouts.set()
    logout = threading.Thread(target=logged_in.log_out, daemon=True)
    logout.start()
    try:
        assert logout_held.wait(timeout=10)
        # The sockets close went out; Django has not flushed the session yet. The handshakes
        # join the user's group only now, too late for that close.
        authorize_gate.set()
        for _ in range(count):
            conn = opened.get(timeout=10)
            assert not isinstance(conn, Exception), conn
            with conn, pytest.raises(ConnectionClosed) as caught:
                emit(conn, "who", id=1)  # may already find the connection closed
                print("answered as a logged-out user:", receive(conn))
            assert caught.value.rcvd is not None and caught.value.rcvd.code == 4001
    finally:
        holding_logouts.clear()
        release_logout.set()
        logout.join(timeout=30)


ws_rooms = WebSocket("/t_rooms")


@ws_rooms.on
def join(socket, data):
    socket.join(data.room)
    return sorted(socket.rooms)


@ws_rooms.on
def leave(socket, data):
    socket.leave(data.room)
    return sorted(socket.rooms)


@ws_rooms.on
def say(socket, data):
    ws_rooms.emit("said", {"text": data.text}, to=data.room, exclude=socket)


@ws_rooms.on
def to_user(data):
    ws_rooms.emit("for_you", {"text": data.text}, user=data.user)


def test_emit_to_a_room_reaches_its_members_except_the_excluded(tornado_server) -> None:
    with (
        open_socket(tornado_server, "/t_rooms") as a,
        open_socket(tornado_server, "/t_rooms") as b,
        open_socket(tornado_server, "/t_rooms") as outsider,
    ):
        for conn in (a, b):
            emit(conn, "join", {"room": "kitchen"}, id=1)
            assert receive(conn)["data"] == ["kitchen"]
        emit(a, "say", {"room": "kitchen", "text": "hi"})
        assert receive_event(b, "said") == {"text": "hi"}
        emit(outsider, "join", {"room": "hall"}, id=2)  # the outsider got nothing before this
        assert receive(outsider) == {"ack": 2, "data": ["hall"]}
        emit(b, "leave", {"room": "kitchen"}, id=3)
        assert receive(b)["data"] == []
        emit(b, "say", {"room": "kitchen", "text": "anyone?"})
        assert receive_event(a, "said") == {"text": "anyone?"}


def test_a_room_vanishes_when_its_last_member_leaves(tornado_server) -> None:
    with open_socket(tornado_server, "/t_rooms") as conn:
        emit(conn, "join", {"room": "ephemeral"}, id=1)
        receive(conn)
        assert "ephemeral" in ws_rooms.rooms.names()
    with open_socket(tornado_server, "/t_rooms") as conn:
        emit(conn, "join", {"room": "probe"}, id=1)  # the first connection's close was handled
        receive(conn)
        assert "ephemeral" not in ws_rooms.rooms.names()


def test_joining_more_rooms_than_allowed_answers_an_error(tornado_server) -> None:
    with open_socket(tornado_server, "/t_rooms") as conn:
        for n in range(100):
            emit(conn, "join", {"room": f"r{n}"}, id=n)
        assert receive(conn, timeout=30)["ack"] == 0
        for n in range(1, 100):
            assert receive(conn)["ack"] == n
        emit(conn, "join", {"room": "one too many"}, id=100)
        assert "max_rooms_per_socket" in receive(conn)["error"]["message"]


def test_emit_to_a_user_reaches_every_tab_of_that_user_only(logged_in, tornado_server, ada):
    with (
        logged_in.open_socket("/t_rooms") as tab1,
        logged_in.open_socket("/t_rooms") as tab2,
        open_socket(tornado_server, "/t_rooms") as stranger,
    ):
        emit(stranger, "to_user", {"user": ada.pk, "text": "psst"})
        for tab in (tab1, tab2):
            assert receive_event(tab, "for_you") == {"text": "psst"}
        emit(stranger, "join", {"room": "x"}, id=1)
        assert receive(stranger) == {"ack": 1, "data": ["x"]}


# -- system checks ----------------------------------------------------------------------------


def tornado_checks() -> list[str]:
    return sorted(e.id for e in checks.run_checks() if e.id.startswith("tornado_websockets"))


def test_dangerous_settings_are_reported_by_system_checks() -> None:
    with override_settings(DEBUG=False, TORNADO={"allowed_origins": "*"}):
        assert tornado_checks() == ["tornado_websockets.W001"]
    with override_settings(DEBUG=True, TORNADO={"allowed_origins": "*"}):
        assert tornado_checks() == []
    public_debug = {"address": "0.0.0.0", "settings": {"debug": True}}
    with override_settings(TORNADO=public_debug):
        assert tornado_checks() == ["tornado_websockets.W002"]
    with override_settings(TORNADO={"address": "127.0.0.1", "settings": {"debug": True}}):
        assert tornado_checks() == []
