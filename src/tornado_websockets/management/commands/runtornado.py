"""``manage.py runtornado [port | address:port]``: serve Django and the WebSockets."""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import os
import pprint
import re
import signal
import sys
from collections.abc import Iterator
from typing import Any

import django
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from tornado.netutil import bind_sockets

from ... import __version__, cluster
from ...accept import raise_fd_limit
from ...apps import discover_websockets
from ...brokers import create_broker
from ...conf import TornadoConfig, load
from ...prefork import run_children
from ...tornadowrapper import TornadoServer, TornadoWrapper
from ...transport import wants_uvloop
from ...websocket import websockets
from ...wsgi import DjangoWSGIFallback, django_app

ADDRPORT = re.compile(r"^(?:(?P<address>\[[0-9a-fA-F:.]+\]|[^:\[\]]+):)?(?P<port>\d+)$")


def parse_addrport(value: str) -> tuple[str | None, int]:
    """``'8001'`` → (None, 8001); ``'0.0.0.0:8001'``; ``'[::1]:8001'`` → ('::1', 8001)."""
    match = ADDRPORT.match(value.strip())
    if match is None:
        raise CommandError(f"{value!r} is not a port number or an address:port pair.")
    port = int(match["port"])
    if port > 65535:
        raise CommandError(f"{port} is not a valid port number (0 to 65535).")
    address = match["address"]
    if address is not None:
        address = address.strip("[]")
    return address, port


def serves_django(handlers: list[Any]) -> bool:
    return any(
        isinstance(route, (list, tuple))
        and len(route) > 2
        and isinstance(route[2], dict)
        and isinstance(route[2].get("fallback"), DjangoWSGIFallback)
        for route in handlers
    )


def serve_static_files(handlers: list[Any], use_static_handler: bool, insecure: bool) -> None:
    """Let ``django_app()`` serve static files the way ``runserver`` does: with the
    staticfiles finders, in DEBUG (or with ``--insecure``), unless ``--nostatic``."""
    from django.apps import apps

    if not use_static_handler or not (django_settings.DEBUG or insecure):
        return
    if not apps.is_installed("django.contrib.staticfiles"):
        return
    for route in handlers:
        if isinstance(route, (list, tuple)) and len(route) > 2 and isinstance(route[2], dict):
            fallback = route[2].get("fallback")
            if isinstance(fallback, DjangoWSGIFallback):
                fallback.serve_static = True


@contextlib.contextmanager
def address_in_use_as_command_error(address: str, port: int) -> Iterator[None]:
    """A taken port is one line naming the address and what to do, not a traceback."""
    try:
        yield
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        host = f"[{address}]" if ":" in address else address
        raise CommandError(
            f"{host}:{port} is already in use: stop the server that listens there, or give "
            f"runtornado another port (python manage.py runtornado {host}:{port + 1})."
        ) from None


class Command(BaseCommand):
    help = "Serve the Django site and its WebSockets with one Tornado server."

    # Checks run in handle(), after the WebSocket modules are imported, as runserver does.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "addrport", nargs="?", help="Port, or address:port (default: TORNADO settings)."
        )
        parser.add_argument(
            "--noreload",
            action="store_false",
            dest="use_reloader",
            help="Do not restart the server when code changes.",
        )
        parser.add_argument("--skip-checks", action="store_true", help="Skip the system checks.")
        parser.add_argument(
            "--nostatic",
            action="store_false",
            dest="use_static_handler",
            help="Do not serve static files in DEBUG (as runserver --nostatic).",
        )
        parser.add_argument(
            "--insecure",
            action="store_true",
            dest="insecure_serving",
            help="Serve static files even with DEBUG off (as runserver --insecure).",
        )
        parser.add_argument(
            "--certfile", help="Serve HTTPS and wss with this certificate (PEM); needs --keyfile."
        )
        parser.add_argument("--keyfile", help="The private key (PEM) of --certfile.")
        parser.add_argument(
            "--stats",
            type=float,
            metavar="SECONDS",
            help="Log a line of figures (connections, messages, errors...) every SECONDS.",
        )
        parser.add_argument(
            "--processes",
            type=int,
            default=1,
            help="Pre-fork this many processes on the same port (0: one per core). "
            "Needs TORNADO['broker'] when more than one.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            config = load()
        except ImproperlyConfigured as error:
            raise CommandError(f"{error} (system check tornado_websockets.E001)") from error
        address, port = config.address, config.port
        if options["addrport"]:
            given_address, port = parse_addrport(options["addrport"])
            address = given_address or address

        certfile = options["certfile"] or config.certfile
        keyfile = options["keyfile"] or config.keyfile
        if (certfile is None) != (keyfile is None):
            raise CommandError("TLS needs both --certfile and --keyfile (or both TORNADO keys).")
        for path in (certfile, keyfile):
            if path is not None and not os.path.isfile(path):
                raise CommandError(f"{path!r} is not a readable file.")
        config = dataclasses.replace(config, certfile=certfile, keyfile=keyfile)

        tornado_settings = dict(config.settings)
        reload_wanted = bool(tornado_settings.get("autoreload", tornado_settings.get("debug")))
        autoreload = reload_wanted and options["use_reloader"]
        tornado_settings["autoreload"] = autoreload

        handlers = list(config.handlers)
        if config.from_defaults:
            handlers.append(django_app())

        serve_static_files(handlers, options["use_static_handler"], options["insecure_serving"])
        discover_websockets()
        if not options["skip_checks"]:
            self.check(display_num_errors=True)
            self.check_migrations()

        if options["stats"] is not None and options["stats"] <= 0:
            raise CommandError("--stats takes a number of seconds greater than 0.")
        processes = options["processes"]
        if processes < 0:
            raise CommandError("--processes takes 0 (one per core) or a positive number.")
        processes = processes or os.cpu_count() or 1
        self._fd_limits = raise_fd_limit()
        if processes == 1:
            TornadoWrapper.instance = TornadoServer(handlers, tornado_settings, config)
            TornadoWrapper.app = TornadoWrapper.instance.application
            with address_in_use_as_command_error(address, port):
                bound_port = TornadoWrapper.listen(port, address)
            self._print_banner(config, address, bound_port, handlers, tornado_settings, autoreload)
            if options["stats"]:
                TornadoWrapper.instance.log_stats_every(options["stats"], self._write_line)
            TornadoWrapper.loop()
            self.stdout.write("Server stopped.")
            return

        if not cluster.is_distributed(create_broker(config.broker)):
            raise CommandError(
                f"--processes {processes} needs TORNADO['broker'] (e.g. 'redis://127.0.0.1:6379/0'):"
                " with the in-memory broker each process would reach only its own connections."
            )
        if autoreload:
            self.stdout.write("Autoreload is off: it does not work with several processes.")
            tornado_settings["autoreload"] = autoreload = False
        with address_in_use_as_command_error(address, port):
            sockets = bind_sockets(port, address)
        bound_port = sockets[0].getsockname()[1]
        self._print_banner(config, address, bound_port, handlers, tornado_settings, autoreload)
        self.stdout.write(f"Processes: {processes}, sharing the port.")
        self.stdout.flush()
        connections.close_all()  # children must not share the parent's database sockets

        def serve(index: int) -> None:
            server = TornadoServer(handlers, tornado_settings, config)
            TornadoWrapper.instance, TornadoWrapper.app = server, server.application
            server.listen(bound_port, address, sockets)
            if options["stats"]:
                server.log_stats_every(options["stats"], self._write_line)
            server.start((signal.SIGTERM,), second_signal_stops_at_once=False)

        run_children(processes, serve)
        self.stdout.write("Server stopped.")

    _fd_limits: tuple[int, int] | None = None

    def _fd_line(self) -> str:
        limits = self._fd_limits
        if limits is None:
            return "File descriptors: no limit to raise on this platform"
        before, after = limits
        if after > before:
            return f"File descriptors: soft limit raised from {before} to {after} (the hard limit)"
        return f"File descriptors: limit {before} (the hard limit; raise it with LimitNOFILE)"

    def _write_line(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()

    def _print_banner(
        self,
        config: TornadoConfig,
        address: str,
        port: int,
        handlers: list[Any],
        tornado_settings: dict[str, Any],
        autoreload: bool,
    ) -> None:
        host = f"[{address}]" if ":" in address else address
        scheme = "https" if config.certfile else "http"
        write = self.stdout.write
        settings_module = django_settings.SETTINGS_MODULE
        write(f"Django version {django.get_version()}, using settings {settings_module!r}")
        write(f"django-tornado-websockets {__version__}: serving at {scheme}://{host}:{port}/")
        if config.from_defaults:
            write(
                "No TORNADO setting: serving Django and the WebSockets with the defaults "
                f"(port {config.port}, address {config.address}, {config.threads} threads)."
            )
        declared = [ws for ws in websockets() if not getattr(ws, "library_internal", False)]
        paths = ", ".join(ws.url_path for ws in declared) or "none declared"
        write(f"WebSockets: {paths}")
        internal = [ws for ws in websockets() if getattr(ws, "library_internal", False)]
        if internal:
            write(f"Library WebSockets: {', '.join(ws.url_path for ws in internal)} (staff only)")
        if serves_django(handlers):
            django_note = "Django served by django_app()"
        else:
            django_note = "Django is NOT served: put tornado_websockets.django_app() last in "
            django_note += "TORNADO['handlers']"
        write(f"Handlers: {len(handlers)} ({django_note})")
        write(f"Tornado settings: {pprint.pformat(tornado_settings, compact=True)}")
        write(f"Threads: {config.threads}; autoreload: {'on' if autoreload else 'off'}")
        loop = "uvloop" if wants_uvloop(config.event_loop, config.transport) else "asyncio"
        write(f"Transport: {config.transport}; event loop: {loop}")
        write(self._fd_line())
        broker = create_broker(config.broker)
        if cluster.is_distributed(broker):
            write(f"Broker: {broker!r}")
        else:
            write("Broker: in-memory (this process only)")
        write("Quit the server with CONTROL-C.")
        self.stdout.flush()
        sys.stderr.flush()
