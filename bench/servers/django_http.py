"""A minimal Django project served over HTTP by one of three servers, for requests a second.

The project is generated in a temporary directory (removed on exit): one view, ``/hello``,
returning a short ``HttpResponse``; no middleware, no database, ``DEBUG = False``. Servers:

- ``runtornado``: this library's ``manage.py runtornado`` (Django over WSGI in its thread pool
  of ``THREADS`` threads, ``TORNADO['threads']``);
- ``gunicorn``: one gunicorn worker of class ``gthread`` with the same ``THREADS`` threads;
- ``uvicorn``: uvicorn with uvloop and httptools, one worker, serving Django's
  ``get_asgi_application()`` (Django runs the sync view in asgiref's thread).

None writes an access log (gunicorn's and runtornado's default; turned off for uvicorn).
This script stays the parent of the server: it forwards SIGTERM, waits, removes the project
and exits 0 when the server stopped cleanly. Usage: ``python bench/servers/django_http.py
--server gunicorn --port PORT`` (binds 127.0.0.1 only, serves ``/hello``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from types import FrameType

from common import HOST

from tornado_websockets.conf import DEFAULT_THREADS

# The library's default pool size; gunicorn gets as many threads.
THREADS = DEFAULT_THREADS
BODY = "Hello from Django"

PROJECT_FILES = {
    "manage.py": """\
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchsite.settings")
from django.core.management import execute_from_command_line

execute_from_command_line(sys.argv)
""",
    "benchsite/__init__.py": "",
    "benchsite/settings.py": f"""\
from tornado_websockets import django_app

DEBUG = False
SECRET_KEY = "benchmark-only"
ALLOWED_HOSTS = ["127.0.0.1"]
INSTALLED_APPS = ["tornado_websockets"]
MIDDLEWARE = []
ROOT_URLCONF = "benchsite.urls"
DATABASES = {{}}
USE_TZ = True
WSGI_APPLICATION = "benchsite.wsgi.application"
TORNADO = {{"threads": {THREADS}, "handlers": [django_app()]}}
""",
    "benchsite/urls.py": f"""\
from django.http import HttpResponse
from django.urls import path

BODY = {BODY!r}


def hello(request):
    response = HttpResponse(BODY, content_type="text/plain")
    # Without middleware Django leaves Content-Length to the server; set it so that every
    # server sends the same headers (and none falls back to a chunked body).
    response["Content-Length"] = str(len(BODY))
    return response


urlpatterns = [path("hello", hello)]
""",
    "benchsite/wsgi.py": """\
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchsite.settings")
application = get_wsgi_application()
""",
    "benchsite/asgi.py": """\
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchsite.settings")
application = get_asgi_application()
""",
}


def write_project(directory: Path) -> None:
    for name, text in PROJECT_FILES.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def server_command(server: str, port: int) -> list[str]:
    python = sys.executable
    if server == "runtornado":
        return [python, "manage.py", "runtornado", f"{HOST}:{port}", "--noreload", "--skip-checks"]
    if server == "gunicorn":
        return [
            python, "-m", "gunicorn", "benchsite.wsgi:application",
            "--bind", f"{HOST}:{port}", "--workers", "1",
            "--worker-class", "gthread", "--threads", str(THREADS), "--log-level", "warning",
        ]  # fmt: skip
    return [
        python, "-m", "uvicorn", "benchsite.asgi:application",
        "--host", HOST, "--port", str(port), "--workers", "1",
        "--loop", "uvloop", "--http", "httptools", "--lifespan", "off",
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--server", choices=("runtornado", "gunicorn", "uvicorn"), required=True)
    args = parser.parse_args()
    project = Path(tempfile.mkdtemp(prefix="dtw-bench-django-"))
    terminated = False
    try:
        write_project(project)
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "benchsite.settings"}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(project), env.get("PYTHONPATH")]))
        server = subprocess.Popen(server_command(args.server, args.port), cwd=project, env=env)

        def forward(signum: int, frame: FrameType | None) -> None:
            nonlocal terminated
            terminated = True
            server.send_signal(signal.SIGTERM)

        signal.signal(signal.SIGTERM, forward)
        signal.signal(signal.SIGINT, forward)
        code = server.wait()
    finally:
        shutil.rmtree(project, ignore_errors=True)
    # uvicorn's command line re-raises the SIGTERM it stopped on: that is a clean stop too.
    clean = code == 0 or (terminated and code == -signal.SIGTERM)
    sys.exit(0 if clean else (code if code > 0 else 128 - code))


if __name__ == "__main__":
    main()
