"""``runtornado`` as a new project meets it: static files in DEBUG the way ``runserver`` serves
them, and a port already in use told in one line.

The project is ``django-admin startproject`` with the README's settings (``tornado_websockets``
in INSTALLED_APPS, ``TORNADO = {'handlers': [django_app()]}``), DEBUG as startproject leaves it
(on), and no ``collectstatic``.
"""

from __future__ import annotations

import socket

import pytest

from .processes import STATIC_SOURCE, Project, free_port, http_get, manage

CLIENT = "/static/tornado_websockets/client.js"

# Project's settings already list 'tornado_websockets' in INSTALLED_APPS.
README_SETTINGS = """
import tornado_websockets

TORNADO = {'handlers': [tornado_websockets.django_app()]}
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    project = Project(tmp_path_factory.mktemp("startup"))
    project.write_settings("settings", README_SETTINGS)
    project.write_settings("production", README_SETTINGS + "DEBUG = False\nALLOWED_HOSTS = ['*']\n")
    project.manage(["migrate", "--noinput"])
    return project


@pytest.mark.parametrize(
    ("settings", "options", "served"),
    [
        ("settings", [], True),
        ("settings", ["--nostatic"], False),
        ("production", [], False),
        ("production", ["--insecure"], True),
    ],
    ids=["debug", "debug --nostatic", "no debug", "no debug --insecure"],
)
def test_static_files_are_served_from_the_finders_as_runserver_serves_them(
    project: Project, settings: str, options: list[str], served: bool
) -> None:
    assert not (project.root / "static").exists(), "no collectstatic in this project"
    args = ["127.0.0.1:0", "--noreload", *options]
    with project.server(args, settings_module=f"mysite.{settings}") as server:
        answer = http_get(server.port, CLIENT)
        if served:
            assert answer.status == 200
            assert answer.body == (STATIC_SOURCE / "client.js").read_bytes()
        else:
            assert answer.status == 404
        assert http_get(server.port, "/static/no-such-file.js").status == 404


def test_a_port_in_use_stops_runtornado_with_one_line_naming_the_address(project: Project) -> None:
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        done = manage(
            ["runtornado", f"127.0.0.1:{port}", "--noreload"], project.root, project.env()
        )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert lines == [
        f"CommandError: 127.0.0.1:{port} is already in use: stop the server that listens there,"
        f" or give runtornado another port (python manage.py runtornado 127.0.0.1:{port + 1})."
    ], done.stderr
    assert "serving at" not in done.stdout


def test_a_port_in_use_stops_prefork_runtornado_with_the_same_line(project: Project) -> None:
    settings = project.write_settings(
        "prefork",
        README_SETTINGS + "TORNADO['broker'] = 'redis://127.0.0.1:6379/0'\n",
    )
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        done = manage(
            ["runtornado", f"127.0.0.1:{port}", "--noreload", "--processes", "2"],
            project.root,
            project.env(settings),
        )
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        f"CommandError: 127.0.0.1:{port} is already in use: stop the server that listens there,"
        f" or give runtornado another port (python manage.py runtornado 127.0.0.1:{port + 1})."
    ], done.stderr
