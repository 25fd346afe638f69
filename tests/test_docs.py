"""The documentation: the site builds strictly, it agrees with the code, its tutorial works, and
the deployment files it ships pass their tools (``nginx -t``, ``systemd-analyze verify``).

The reference pages are hand-written; these tests hold them to the code: every ``TORNADO`` key
with its default, every ``runtornado`` option, close code, warning, check id, metric and
exception must be documented, and nothing documented may be missing from the code.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pytest

from .processes import (
    Server,
    django_admin,
    environment,
    http_get,
    manage,
    recv_event,
    running_server,
    send_event,
    ws_connect,
)
from .skipping import IN_CI, require

REPOSITORY = Path(__file__).resolve().parent.parent
DOCS = REPOSITORY / "docs"
MKDOCS_YML = REPOSITORY / "mkdocs.yml"
NGINX_SITE = DOCS / "deploy" / "nginx-site.conf"
SYSTEMD_UNIT = DOCS / "deploy" / "mysite.service"
TIMEOUT = 120


def read(relative: str) -> str:
    return (DOCS / relative).read_text(encoding="utf-8")


# -- code blocks ---------------------------------------------------------------------------------

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,})(?P<info>[^`]*)$")
TITLE = re.compile(r'title="([^"]*)"')


@dataclass
class CodeBlock:
    language: str
    title: str | None
    source: str
    where: str


def code_blocks(path: Path) -> Iterator[CodeBlock]:
    """The fenced code blocks of a Markdown file, indented ones (admonitions, lists) included."""
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent, fence, info = opening["indent"], opening["fence"], opening["info"].strip()
        start = index + 1
        body: list[str] = []
        index += 1
        while index < len(lines) and lines[index].strip() != fence:
            line = lines[index]
            body.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
            index += 1
        index += 1
        title = TITLE.search(info)
        yield CodeBlock(
            language=info.split()[0] if info else "",
            title=title[1] if title else None,
            source="\n".join(body) + "\n",
            where=f"{path.relative_to(REPOSITORY)}:{start}",
        )


def markdown_files() -> list[Path]:
    return [REPOSITORY / "README.md", REPOSITORY / "CHANGELOG.md", *sorted(DOCS.rglob("*.md"))]


def test_every_python_block_of_the_docs_and_the_readme_compiles() -> None:
    blocks = [b for path in markdown_files() for b in code_blocks(path) if b.language == "python"]
    assert len(blocks) > 40, "the code block parser found too few Python blocks"
    for block in blocks:
        source = block.source
        signature = re.fullmatch(r"[\w.]+(\(.*\))\n", source)
        if signature:  # a signature, `WebSocket(path, *, login_required=False, ...)`
            source = f"def signature{signature[1]}: pass\n"
        try:
            compile(source, block.where, "exec")
        except SyntaxError as error:
            pytest.fail(f"{block.where}: {error}\n{block.source}")


# -- the site --------------------------------------------------------------------------------------


def test_the_site_builds_with_strict_and_without_warnings(tmp_path: Path) -> None:
    require(
        importlib.util.find_spec("mkdocs") is not None
        and importlib.util.find_spec("material") is not None,
        "mkdocs-material is not installed (pip install -e '.[dev]')",
    )
    site = tmp_path / "site"
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict",
         "-f", str(MKDOCS_YML), "-d", str(site)],
        cwd=tmp_path,  # the configuration must not depend on the working directory
        env=env, capture_output=True, text=True, timeout=TIMEOUT,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "WARNING" not in output, output
    for page in (
        "index.html",
        "tutorial/index.html",
        "reference/client/index.html",
        "migrating/index.html",
        "topics/performance/index.html",
        "changelog/index.html",
    ):
        assert (site / page).is_file(), f"{page} was not built"
    # The deployment files are published with the site; the build hooks are not.
    assert (site / "deploy" / "nginx-site.conf").read_bytes() == NGINX_SITE.read_bytes()
    assert (site / "deploy" / "mysite.service").read_bytes() == SYSTEMD_UNIT.read_bytes()
    assert not (site / "hooks").exists()
    performance = (site / "topics" / "performance" / "index.html").read_text(encoding="utf-8")
    assert "bench-results" not in performance, "the benchmark results were not included"


def test_every_page_of_the_docs_folder_is_in_the_navigation() -> None:
    config = MKDOCS_YML.read_text(encoding="utf-8")
    pages = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    listed = set(re.findall(r":\s*([\w/.-]+\.md)\s*$", config, flags=re.MULTILINE))
    assert pages == listed


def test_the_readme_links_exist_and_its_make_targets_too() -> None:
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme):
        if "://" in target:
            continue
        assert (REPOSITORY / target).exists(), f"README links to a missing {target}"
    makefile = (REPOSITORY / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([\w-]+):", makefile, flags=re.MULTILINE))
    for command in re.findall(r"`make ([\w-]+)`", readme) + re.findall(
        r"^make ([\w-]+)", readme, flags=re.MULTILINE
    ):
        assert command in targets, f"README mentions `make {command}`, which the Makefile lacks"


def test_the_banners_in_the_docs_name_the_version_the_server_prints() -> None:
    from tornado_websockets import __version__

    banners = [
        (path.name, match[1])
        for path in markdown_files()
        for match in re.finditer(
            r"^django-tornado-websockets (\S+): serving at",
            path.read_text(encoding="utf-8"),
            flags=re.MULTILINE,
        )
    ]
    assert banners, "no runtornado banner found in the docs"
    assert [version for _, version in banners if version != __version__] == [], banners


def test_mkdocs_serve_and_the_demo_listen_on_different_ports() -> None:
    dev_addr = re.search(r"^dev_addr:\s*(\S+):(\d+)\s*$", MKDOCS_YML.read_text(), re.MULTILINE)
    assert dev_addr is not None, "mkdocs.yml should set dev_addr (mkdocs' default is 8000)"
    demo = re.search(r"runtornado 127\.0\.0\.1:(\d+)", (REPOSITORY / "Makefile").read_text())
    assert demo is not None
    assert dev_addr[2] != demo[1]
    for path in (REPOSITORY / "README.md", DOCS / "index.md"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("mkdocs serve"):
                assert f":{dev_addr[2]}/" in line, f"{path.name}: {line}"


# -- the reference agrees with the code ------------------------------------------------------------


def table_rows(markdown: str) -> list[list[str]]:
    rows = []
    for line in markdown.splitlines():
        if line.startswith("|") and not re.match(r"^\|\s*-", line):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def test_the_settings_reference_lists_every_key_with_its_default() -> None:
    from tornado_websockets.conf import KNOWN_KEYS, TornadoConfig

    defaults = TornadoConfig()
    documented: dict[str, Any] = {}
    for row in table_rows(read("reference/settings.md")):
        key = re.fullmatch(r"`(\w+)`", row[0])
        if key is None or len(row) != 4:
            continue
        documented[key[1]] = ast.literal_eval(row[1].strip("`"))
    assert sorted(documented) == sorted(KNOWN_KEYS)
    for key, value in documented.items():
        actual = getattr(defaults, key)
        assert value == actual, f"TORNADO[{key!r}]: the docs say {value!r}, the code {actual!r}"
    assert {f.name for f in fields(TornadoConfig)} - set(KNOWN_KEYS) == {"from_defaults"}


def test_the_runtornado_reference_documents_every_option() -> None:
    from tornado_websockets.management.commands.runtornado import Command

    parser = Command().create_parser("manage.py", "runtornado")
    page = read("reference/runtornado.md")
    documented = set(re.findall(r"^`(--[\w-]+|addrport)", page, flags=re.MULTILINE))
    documented |= set(re.findall(r"[:,] `(--[\w-]+)[` ]", page))
    options = set()
    for action in parser._actions:
        long_options = [o for o in action.option_strings if o.startswith("--")]
        options.update(long_options or ([] if action.option_strings else [action.dest]))
    assert options <= documented, f"undocumented: {sorted(options - documented)}"
    assert documented <= options, f"documented but not in the command: {documented - options}"


def test_the_close_codes_are_documented_with_their_names() -> None:
    from tornado_websockets import protocol

    names = (
        "GOING_AWAY",
        "PROTOCOL_ERROR",
        "RATE_EXCEEDED",
        "MESSAGE_TOO_BIG",
        "PING_TIMEOUT",
        "LOGGED_OUT",
        "SLOW_CONSUMER",
        "CLOSED_BY_ADMIN",
    )
    rows = {row[0]: row for row in table_rows(read("reference/close-codes.md"))}
    for name in names:
        code = getattr(protocol, name)
        assert f"**{code}**" in rows, f"close code {code} ({name}) is not documented"
        assert rows[f"**{code}**"][1] == f"`{name}`"
    for page in ("reference/protocol.md", "topics/limits.md"):
        text = read(page)
        for name in names:
            assert f"| {getattr(protocol, name)} |" in text, f"{page} lacks {name}"


def test_every_warning_is_documented_word_for_word() -> None:
    from tornado_websockets import protocol
    from tornado_websockets.websockethandler import TOO_MANY_MESSAGES

    page = read("reference/protocol.md")
    warnings = [getattr(protocol, name) for name in protocol.__all__ if name.isupper()]
    for warning in [*warnings, TOO_MANY_MESSAGES]:
        assert f"`{warning}`" in page, f"the warning {warning!r} is not in the protocol page"


def test_the_system_checks_page_lists_exactly_the_check_ids() -> None:
    source = (REPOSITORY / "src" / "tornado_websockets" / "checks.py").read_text()
    in_code = set(re.findall(r'id="(tornado_websockets\.[EW]\d{3})"', source))
    documented = set(re.findall(r"`(tornado_websockets\.[EW]\d{3})`", read("reference/checks.md")))
    assert in_code == documented
    assert len(in_code) == 3


def test_every_metric_is_documented() -> None:
    require(
        importlib.util.find_spec("prometheus_client") is not None,
        'prometheus-client is not installed (pip install "django-tornado-websockets[metrics]")',
    )
    from tornado_websockets.metrics import _Collector

    page = read("how-to/monitoring.md")
    documented = set(re.findall(r"^\| `(tws_\w+)` \|", page, flags=re.MULTILINE))
    exposed = set()
    for family in _Collector().collect():
        exposed.add(family.name + ("_total" if family.type == "counter" else ""))
    assert exposed == documented


def exception_classes() -> set[type[BaseException]]:
    from tornado_websockets.exceptions import TornadoWebSocketsError

    modules = ["tornado_websockets.rooms", "tornado_websockets.brokers"]
    if importlib.util.find_spec("websockets") is not None:
        modules.append("tornado_websockets.testing")
    for name in modules:
        importlib.import_module(name)
    found: set[type[BaseException]] = set()
    pending = [TornadoWebSocketsError]
    while pending:
        cls = pending.pop()
        if cls.__module__.startswith("tornado_websockets"):
            found.add(cls)
        pending.extend(cls.__subclasses__())
    return found


def test_every_exception_is_in_the_exceptions_page() -> None:
    page = read("reference/exceptions.md")
    for cls in exception_classes():
        if cls.__module__.startswith("tornado_websockets.testing"):
            assert f"`{cls.__name__}`" in read("reference/testing.md"), cls
        else:
            assert re.search(rf"\b{cls.__name__}\b", page), f"{cls.__name__} is not documented"


PUBLIC_MODULES = {
    "tornado_websockets": "reference/websocket.md",
    "tornado_websockets.modules": "reference/modules.md",
    "tornado_websockets.brokers": "reference/brokers.md",
    "tornado_websockets.server": "reference/server.md",
    "tornado_websockets.tornadowrapper": "reference/server.md",
    "tornado_websockets.websocket": "reference/websocket.md",
    "tornado_websockets.websockethandler": "reference/websocket.md",
    "tornado_websockets.testing": "reference/testing.md",
}


@pytest.mark.parametrize("module_name", sorted(PUBLIC_MODULES))
def test_every_public_name_is_in_the_reference(module_name: str) -> None:
    if module_name == "tornado_websockets.testing":
        require(
            importlib.util.find_spec("websockets") is not None,
            'the testing helpers need websockets: pip install "django-tornado-websockets[testing]"',
        )
    module = importlib.import_module(module_name)
    page = read(PUBLIC_MODULES[module_name])
    for name in getattr(module, "__all__", ()):
        if name in ("SLOW_CONSUMER", "RATE_EXCEEDED"):  # re-exported constants of protocol
            continue
        assert re.search(rf"[`.]{name}\b", page), (
            f"{module_name}.{name} is not in {PUBLIC_MODULES[module_name]}"
        )


def test_the_documented_signatures_match_the_code() -> None:
    import tornado_websockets
    from tornado_websockets.modules import ProgressBar
    from tornado_websockets.tornadowrapper import TornadoServer
    from tornado_websockets.websocket import WebSocket

    def defaults(function: Any) -> dict[str, Any]:
        parameters = inspect.signature(function).parameters.values()
        return {p.name: p.default for p in parameters if p.name != "self"}

    empty = inspect.Parameter.empty
    websocket_page = read("reference/websocket.md")
    assert (
        "WebSocket(path, *, login_required=False, authorize=None, history=0, history_ttl=300.0, "
        "presence=False, presence_events=False)" in websocket_page
    )
    assert defaults(WebSocket.__init__) == {
        "path": empty, "login_required": False, "authorize": None, "history": 0,
        "history_ttl": 300.0, "presence": False, "presence_events": False,
    }  # fmt: skip
    assert "emit(event, data=None, *, to=None, exclude=None, user=None)" in websocket_page
    assert list(inspect.signature(WebSocket.emit).parameters) == [
        "self", "event", "data", "to", "exclude", "user",
    ]  # fmt: skip
    assert list(inspect.signature(tornado_websockets.emit).parameters) == [
        "path", "event", "data", "targets",
    ]  # fmt: skip
    modules_page = read("reference/modules.md")
    assert "ProgressBar(name='', min=0, max=100, indeterminate=False)" in modules_page
    assert defaults(ProgressBar.__init__) == {
        "name": "", "min": 0, "max": 100, "indeterminate": False,
    }  # fmt: skip
    server_page = read("reference/server.md")
    assert "TornadoServer(handlers=(), settings=None, config=None, worker_initializer=None)" in (
        server_page
    )
    assert defaults(TornadoServer.__init__) == {
        "handlers": (), "settings": None, "config": None, "worker_initializer": None,
    }  # fmt: skip


# -- deployment files -----------------------------------------------------------------------------


def test_the_nginx_site_proxies_http_and_websockets_and_serves_static_files() -> None:
    site = NGINX_SITE.read_text()
    for needed in (
        "server 127.0.0.1:8000;",
        "listen 443 ssl;",
        "ssl_certificate ",
        "ssl_certificate_key ",
        "proxy_http_version 1.1;",
        "proxy_set_header Upgrade $http_upgrade;",
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
        "proxy_set_header X-Real-IP $remote_addr;",
        "location /static/ {",
        "location /ws/ {",
    ):
        assert needed in site, f"the nginx site lacks {needed!r}"


def install_nginx() -> str | None:
    """``nginx``, installed from Debian's packages under CI as root when it is missing."""
    nginx = shutil.which("nginx") or (Path("/usr/sbin/nginx").exists() and "/usr/sbin/nginx")
    if nginx:
        return str(nginx)
    if IN_CI and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=True, timeout=600)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "nginx"], env=env, check=True, timeout=600
        )
    nginx = shutil.which("nginx") or (Path("/usr/sbin/nginx").exists() and "/usr/sbin/nginx")
    return str(nginx) if nginx else None


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    require(openssl is not None, "openssl is not installed")
    assert openssl is not None
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=example.com", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


def test_the_nginx_site_passes_nginx_t(tmp_path: Path) -> None:
    nginx = install_nginx()
    require(nginx is not None, "nginx is not installed (apt-get install nginx)")
    assert nginx is not None
    cert, key = self_signed_certificate(tmp_path)
    site = NGINX_SITE.read_text()
    certificates = re.findall(r"^\s*ssl_certificate(?:_key)?\s+(\S+);", site, flags=re.MULTILINE)
    assert len(certificates) == 2, "the site should name a certificate and its key"
    site = site.replace(certificates[0], str(cert)).replace(certificates[1], str(key))
    (tmp_path / "site.conf").write_text(site)
    temp_paths = "\n".join(
        f"    {kind}_temp_path {tmp_path / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path / 'nginx.pid'};\n"
        f"error_log {tmp_path / 'error.log'};\n"
        "events {}\n"
        "http {\n"
        f"    access_log {tmp_path / 'access.log'};\n"
        f"{temp_paths}\n"
        f"    include {tmp_path / 'site.conf'};\n"
        "}\n"
    )
    done = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
         "-e", str(tmp_path / "error.log")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr
    assert "[warn]" not in done.stderr, done.stderr


def unit_sections(text: str) -> dict[str, dict[str, list[str]]]:
    """A strict reading of a systemd unit: sections, ``Key=value`` lines, comments."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        header = re.fullmatch(r"\[(\w+)\]", stripped)
        if header:
            current = sections.setdefault(header[1], {})
            continue
        pair = re.fullmatch(r"([A-Za-z]+)=(.*)", stripped)
        assert pair is not None, f"line {number} is not Key=value: {line!r}"
        assert current is not None, f"line {number} comes before any [Section]"
        assert not line.rstrip().endswith("\\"), f"line {number}: no continuation lines"
        current.setdefault(pair[1], []).append(pair[2])
    return sections


def seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(s|min|)", value)
    assert match is not None, f"{value!r} is not a duration"
    return float(match[1]) * (60 if match[2] == "min" else 1)


def test_the_systemd_unit_has_the_keys_a_graceful_runtornado_needs() -> None:
    from tornado_websockets.conf import TornadoConfig

    unit = unit_sections(SYSTEMD_UNIT.read_text())
    assert set(unit) == {"Unit", "Service", "Install"}
    service = unit["Service"]
    (exec_start,) = service["ExecStart"]
    assert exec_start.startswith("/"), "ExecStart needs an absolute path"
    assert "manage.py runtornado 127.0.0.1:8000" in exec_start
    assert service["Restart"] == ["on-failure"]
    assert service["KillSignal"] == ["SIGTERM"]
    assert service["KillMode"] == ["mixed"]
    (stop,) = service["TimeoutStopSec"]
    assert seconds(stop) > TornadoConfig().shutdown_timeout + 5
    assert service["WorkingDirectory"][0].startswith("/")
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]


def test_the_systemd_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    require(analyze is not None, "systemd-analyze is not installed (apt-get install systemd)")
    assert analyze is not None
    text = SYSTEMD_UNIT.read_text()
    (exec_start,) = unit_sections(text)["Service"]["ExecStart"]
    # verify checks that the program exists: run the unit's command with this Python.
    unit = tmp_path / SYSTEMD_UNIT.name
    unit.write_text(text.replace(exec_start.split()[0], sys.executable))
    done = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    output = (done.stdout + done.stderr).strip()
    assert done.returncode == 0, output
    assert output == "", output


# -- the tutorial, step by step --------------------------------------------------------------------

TUTORIAL_COMMANDS = (
    "django-admin startproject mysite",
    "python manage.py startapp chat",
    "python manage.py makemigrations chat",
    "python manage.py migrate",
    "python manage.py collectstatic --noinput",
    "python manage.py runtornado",
)
APPEND = " (add at the end)"


@pytest.fixture(scope="module")
def tutorial_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tutorial's project, built from the tutorial's own code blocks and commands."""
    blocks = list(code_blocks(DOCS / "tutorial.md"))
    shell = "".join(b.source for b in blocks if b.language == "sh")
    for command in TUTORIAL_COMMANDS:
        assert command in shell, f"the tutorial no longer says {command!r}"
    parent = tmp_path_factory.mktemp("tutorial")
    django_admin(["startproject", "mysite"], cwd=parent)
    root = parent / "mysite"
    env = environment("mysite.settings")

    def run(*args: str) -> None:
        done = manage(list(args), root, env, timeout=TIMEOUT)
        assert done.returncode == 0, f"manage.py {' '.join(args)} failed:\n{done.stderr}"

    run("startapp", "chat")
    titled = [b for b in blocks if b.title]
    assert {b.title for b in titled} >= {
        "mysite/settings.py" + APPEND, "chat/models.py", "chat/views.py",
        "chat/templates/chat/index.html", "mysite/urls.py",
    }  # fmt: skip
    for block in titled:
        if block.title.endswith(APPEND):
            target = root / block.title[: -len(APPEND)]
            target.write_text(target.read_text() + "\n\n" + block.source)
        else:
            target = root / block.title
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.source)
    run("makemigrations", "chat")
    run("migrate")
    run("collectstatic", "--noinput")
    return root


@pytest.fixture(scope="module")
def tutorial_server(tutorial_project: Path) -> Iterator[Server]:
    env = environment("mysite.settings")
    with running_server(["127.0.0.1:0", "--noreload"], tutorial_project, env) as server:
        yield server


def join(stack: ExitStack, port: int, username: str) -> tuple[Any, list[dict[str, Any]]]:
    """A connection to the chat that joined as ``username``, and the history it received."""
    ws = stack.enter_context(ws_connect(port, "/ws/chat"))
    send_event(ws, "join", {"username": username})
    return ws, recv_event(ws, "history")["data"]["messages"]


def test_the_tutorial_project_serves_its_page_the_client_and_the_chat_socket(
    tutorial_server: Server,
) -> None:
    assert "WebSockets: /ws/chat" in tutorial_server.output
    assert "Handlers: 2 (Django served by django_app())" in tutorial_server.output
    page = http_get(tutorial_server.port, "/")
    assert page.status == 200
    assert "new TornadoWebSocket('/chat')" in page.text
    assert "/static/tornado_websockets/client.js" in page.text
    assert http_get(tutorial_server.port, "/static/tornado_websockets/client.js").status == 200


def test_the_tutorial_chat_talks_stores_and_replays_messages(tutorial_server: Server) -> None:
    port = tutorial_server.port
    with ExitStack() as stack:
        early = stack.enter_context(ws_connect(port, "/ws/chat"))
        send_event(early, "message", {"text": "too early"})
        assert recv_event(early, "warning")["data"] == {
            "message": "Join the chat before you send messages."
        }
        alice, history = join(stack, port, "alice")
        assert history == []
        bob, _ = join(stack, port, "bob")
        assert recv_event(alice, "joined")["data"] == {"username": "bob"}

        send_event(alice, "message", {"text": "hello bob"})
        for ws in (alice, bob):
            message = recv_event(ws, "message")["data"]
            assert (message["username"], message["text"]) == ("alice", "hello bob")
            assert re.match(r"\d{4}-\d\d-\d\dT", message["created"])

        bob.close()
        assert recv_event(alice, "left")["data"] == {"username": "bob"}
        _, history = join(stack, port, "carol")
        assert [(m["username"], m["text"]) for m in history] == [("alice", "hello bob")]


@pytest.mark.browser
def test_two_browser_tabs_talk_through_the_tutorial_chat(tutorial_server: Server) -> None:
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        expect = sync_playwright = None
    require(sync_playwright is not None, "Playwright for Python is not installed")
    chromium = shutil.which("chromium")
    require(chromium is not None, "Debian's chromium is not installed (apt-get install chromium)")
    url = f"http://127.0.0.1:{tutorial_server.port}/"
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            tabs = []
            for name in ("dana", "eve"):
                page = browser.new_context().new_page()
                page.on("pageerror", lambda error: errors.append(str(error)))
                page.goto(url)
                page.fill("#username", name)
                page.click("#join button")
                expect(page.locator("#send")).to_be_visible(timeout=15_000)
                tabs.append(page)
            dana, eve = tabs
            expect(dana.locator("#log")).to_contain_text("eve joined", timeout=15_000)
            dana.fill("#text", "hi eve")
            dana.click("#send button")
            expect(eve.locator("#log")).to_contain_text("dana: hi eve", timeout=15_000)
            eve.fill("#text", "hi dana")
            eve.click("#send button")
            expect(dana.locator("#log")).to_contain_text("eve: hi dana", timeout=15_000)
        finally:
            browser.close()
    assert not errors, errors


# -- the testing guide, run against the tutorial's project ----------------------------------------


def test_the_testing_guide_passes_on_the_tutorial_project(tutorial_project: Path) -> None:
    require(
        importlib.util.find_spec("pytest_django") is not None
        and importlib.util.find_spec("websockets") is not None,
        'the testing helpers need pytest-django and websockets (pip install -e ".[dev]")',
    )
    titled = {b.title: b for b in code_blocks(DOCS / "how-to" / "testing.md") if b.title}
    assert set(titled) >= {"pytest.ini", "chat/tests.py", "chat/test_live.py"}
    for title in ("pytest.ini", "chat/tests.py", "chat/test_live.py"):
        (tutorial_project / title).write_text(titled[title].source)
    env = environment("mysite.settings")

    pytest_run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=tutorial_project, env=env, capture_output=True, text=True, timeout=TIMEOUT,
    )  # fmt: skip
    assert pytest_run.returncode == 0, pytest_run.stdout + pytest_run.stderr
    assert re.search(r"\b3 passed\b", pytest_run.stdout), pytest_run.stdout

    django_run = manage(["test", "chat", "-v", "2"], tutorial_project, env, timeout=TIMEOUT)
    assert django_run.returncode == 0, django_run.stderr
    assert "Ran 2 tests" in django_run.stderr and "OK" in django_run.stderr, django_run.stderr
