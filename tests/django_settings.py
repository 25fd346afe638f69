"""Django settings of the test suite's project (tests/testapp)."""

import json
import os
import tempfile

import tornado_websockets

SECRET_KEY = "tests-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "tornado_websockets",
    "tests.testapp",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]
ROOT_URLCONF = "tests.testapp.urls"
# A file, not ":memory:": the server's threads open their own connections, as in production.
_DB_FILE = os.environ.get("TEST_DB_PATH") or os.path.join(
    tempfile.gettempdir(), f"tornado-websockets-tests-{os.getpid()}.sqlite3"
)
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": _DB_FILE,
        "TEST": {"NAME": _DB_FILE},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
STATIC_URL = "/static/"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
CSRF_TRUSTED_ORIGINS = ["https://*.trusted.test"]
TORNADO = {
    "threads": 8,
    "handlers": [tornado_websockets.django_app()],
    **json.loads(os.environ.get("TEST_TORNADO", "{}")),
}
LOGIN_REDIRECT_URL = "/hello/"
LOGOUT_REDIRECT_URL = "/hello/"
