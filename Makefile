# Two commands for everything: `make demo` serves the example site, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(CURDIR)/$(VENV)/bin/python
INSTALLED := $(VENV)/.installed
STATIC := src/tornado_websockets/static/tornado_websockets
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test venv system-deps client lint pytest dist docs docs-serve bench bench-quick clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(INSTALLED)

venv: $(INSTALLED)

demo: venv
	cd example && $(PY) manage.py migrate --noinput
	cd example && $(PY) manage.py collectstatic --noinput -v0
	cd example && $(PY) manage.py runtornado 127.0.0.1:8000

# Debian's Chromium drives the browser tests, Redis carries the scale-out tests and nginx checks
# the shipped config; all are installed (and Redis started) here because CI machines start clean.
system-deps:
	@command -v chromium >/dev/null 2>&1 && command -v redis-server >/dev/null 2>&1 && \
		command -v nginx >/dev/null 2>&1 || { \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium redis-server nginx; }
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || \
		redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no

# Rebuild the JS client and fail when the committed build differs from its sources.
client:
	cd client && npm ci --no-audit --no-fund --loglevel=error
	cd client && npm run build && npm run typecheck && npm test
	@git diff --exit-code --stat -- $(STATIC) || { \
		echo "The committed client build differs from client/: run 'npm run build' in client/ and commit."; exit 1; }
	@test -z "$$(git status --porcelain -- $(STATIC))" || { \
		echo "Untracked files in $(STATIC): commit the client build."; exit 1; }

lint: venv
	$(PY) -m ruff check src tests example bench
	$(PY) -m mypy

pytest: venv system-deps
	$(PY) -m pytest

test: venv system-deps client lint pytest

docs: venv
	$(PY) -m mkdocs build --strict

docs-serve: venv
	$(PY) -m mkdocs serve

dist: venv
	rm -rf dist && $(PY) -m build && $(PY) -m twine check --strict dist/*

bench: venv
	$(PY) bench/run.py

bench-quick: venv
	$(PY) bench/run.py --quick

clean:
	rm -rf $(VENV) client/node_modules example/db.sqlite3 example/static_collected test-artifacts
