"""Settings of the example site, configured as the documentation says.

Environment variables (used by the tests to run the site on throw-away storage):
DEMO_DB_PATH (SQLite file), DEMO_STATIC_ROOT (collectstatic target), DEMO_PROGRESS_DELAY
(seconds between two progress bar ticks), DEMO_BROKER and DEMO_BROKER_PREFIX (a Redis URL and a
key prefix: several `runtornado` processes then serve one chat, presence included).

The Django admin is on /admin/, with the live page of WebSocket connections: create a staff
user with `python manage.py createsuperuser`.
"""

import os
from pathlib import Path

import tornado.web

import tornado_websockets

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DEMO_SECRET_KEY", "example-site-not-for-production")
DEBUG = os.environ.get("DEMO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "tornado_websockets",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "example_site.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DEMO_DB_PATH", str(BASE_DIR / "db.sqlite3")),
    }
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"

STATIC_URL = "/static/"
STATIC_ROOT = os.environ.get("DEMO_STATIC_ROOT", str(BASE_DIR / "static_collected"))

DEMO_PROGRESS_DELAY = float(os.environ.get("DEMO_PROGRESS_DELAY", "0.05"))
DEMO_BROKER = os.environ.get("DEMO_BROKER")

TORNADO = {
    "port": 8000,
    "handlers": [
        (r"%s(.*)" % STATIC_URL, tornado.web.StaticFileHandler, {"path": STATIC_ROOT}),  # noqa: UP031
        tornado_websockets.django_app(),
    ],
    "settings": {
        "debug": DEBUG,
    },
    "broker": (
        {"url": DEMO_BROKER, "prefix": os.environ.get("DEMO_BROKER_PREFIX", "tws")}
        if DEMO_BROKER
        else None
    ),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"tornado_websockets": {"handlers": ["console"], "level": "INFO"}},
}
