# Two commands for everything: `make demo` serves the example site, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(CURDIR)/$(VENV)/bin/python
CREATED := $(VENV)/.created
INSTALLED := $(VENV)/.installed
DEMO_INSTALLED := $(VENV)/.installed-demo
STATIC := src/tornado_websockets/static/tornado_websockets
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test venv system-deps client lint pytest versions dist docs docs-serve bench bench-quick clean

$(CREATED):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	touch $(CREATED)

# The demo needs the package alone (Django and Tornado); the tests need the dev extra.
$(DEMO_INSTALLED): pyproject.toml $(CREATED)
	$(PY) -m pip install -q -e .
	touch $(DEMO_INSTALLED)

$(INSTALLED): pyproject.toml $(CREATED)
	$(PY) -m pip install -q -e '.[dev]'
	touch $(INSTALLED)

venv: $(INSTALLED)

demo: $(DEMO_INSTALLED)
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
	$(PY) -m ruff check src tests example bench noxfile.py
	$(PY) -m mypy

# The whole suite on this virtualenv's Python and Django only.
pytest: venv system-deps
	$(PY) -m pytest

# Every supported Python x Django pair (noxfile.py): the whole suite on the newest and the
# oldest, the version-sensitive subset on the others. nox finds pyenv's interpreters itself.
versions: venv system-deps
	$(PY) -m nox --reuse-existing-virtualenvs

test: venv system-deps client lint versions

docs: venv
	$(PY) -m mkdocs build --strict

docs-serve: venv
	$(PY) -m mkdocs serve  # on 127.0.0.1:8001 (mkdocs.yml): the demo keeps 8000

dist: venv
	rm -rf dist && $(PY) -m build && $(PY) -m twine check --strict dist/*

# Another interpreter: `make bench BENCH_PYTHON=3.13` runs it in nox's virtualenv for 3.13.
BENCH_PYTHON ?=
BENCH_ARGS ?=

bench: venv
ifeq ($(BENCH_PYTHON),)
	$(PY) bench/run.py $(BENCH_ARGS)
else
	$(PY) -m nox --reuse-existing-virtualenvs -s bench-$(BENCH_PYTHON) -- $(BENCH_ARGS)
endif

bench-quick:
	$(MAKE) bench BENCH_ARGS="--quick $(BENCH_ARGS)"

clean:
	rm -rf $(VENV) .nox client/node_modules example/db.sqlite3 example/static_collected test-artifacts
