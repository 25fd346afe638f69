"""django-tornado-websockets in a Django project with the admin, for ``bench/admin_overhead.py``.

Same ``/ws/bench`` application as ``dtw_async.py``. ``--admin off``: ``TORNADO['admin']`` is
False (no live page, no admin WebSocket); ``--admin on``: the live page is there. At start-up
it migrates a throw-away SQLite database, makes a staff user and prints ``SESSION <key>``
(the cookie the benchmark opens the admin WebSocket with), then ``PORT <port>``.

Usage: ``python bench/servers/dtw_admin.py --admin on|off --db FILE`` (binds 127.0.0.1 on a
free port, exits 0 on SIGTERM).
"""

from __future__ import annotations

import argparse
from typing import Any

import django
from django.conf import settings


def configure(admin: bool, database: str) -> None:
    settings.configure(
        SECRET_KEY="benchmark-only",
        DEBUG=False,
        ALLOWED_HOSTS=["127.0.0.1"],
        INSTALLED_APPS=[
            "django.contrib.admin",
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "tornado_websockets",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": database}},
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        ROOT_URLCONF=__name__,
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates"}],
        TORNADO={"admin": admin},
    )
    django.setup()


urlpatterns: list[Any] = []


def staff_session() -> str:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    user = User.objects.create_superuser("bench", password="bench-password")
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return str(session.session_key)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admin", choices=["on", "off"], required=True)
    parser.add_argument("--db", required=True)
    args = parser.parse_args()
    configure(args.admin == "on", args.db)
    print("SESSION", staff_session(), flush=True)

    from tornado_websockets.conf import TornadoConfig
    from tornado_websockets.tornadowrapper import TornadoWrapper
    from tornado_websockets.websocket import WebSocket

    ws = WebSocket("/bench")

    @ws.on
    async def broadcast(socket: Any, data: Any) -> None:
        ws.emit("broadcast", data)

    config = TornadoConfig(message_rate=1e9, message_burst=10**9)
    TornadoWrapper.start_app(handlers=[], settings={}, config=config)
    port = TornadoWrapper.listen(0, address="127.0.0.1")
    print("PORT", port, flush=True)
    TornadoWrapper.loop()


if __name__ == "__main__":
    main()
