# Neutone developer commands. `make up` runs the whole system on embedded
# defaults; `make test` runs the whole test suite. Both set everything up first.
SHELL := /bin/bash
VENV := .venv
PYTHON := $(VENV)/bin/python
SYSTEM_PYTHON := /usr/bin/python3.11

.PHONY: setup up test lint proto check-proto format clean

setup: $(VENV)/.installed web/node_modules/.installed

$(VENV)/.installed: pyproject.toml
	scripts/setup-system
	test -x $(PYTHON) || $(SYSTEM_PYTHON) -m venv $(VENV)
	$(PYTHON) -m pip install -q --upgrade pip
	$(PYTHON) -m pip install -q -e '.[dev]'
	touch $@

web/node_modules/.installed: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $@

up: setup
	$(PYTHON) -m runtime.launcher

test: setup
	$(PYTHON) -m pytest

lint: setup check-proto
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/buf lint
	$(VENV)/bin/buf format --diff --exit-code

# Regenerates Python and TypeScript code from protos/.
proto: setup
	scripts/generate-protos

# Fails when the generated code is not what protos/ produces.
check-proto: proto
	@test -z "$$(git status --porcelain -- neutone web/src/gen)" || \
	  { git status --short -- neutone web/src/gen; echo "generated code is stale: run 'make proto' and commit"; exit 1; }

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
	$(VENV)/bin/buf format -w

clean:
	rm -rf $(VENV) web/node_modules var
