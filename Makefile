# Neutone developer commands. `make up` runs the whole system on embedded
# defaults; `make test` runs the whole test suite. Both set everything up first.
SHELL := /bin/bash
VENV := .venv
PYTHON := $(VENV)/bin/python
SYSTEM_PYTHON := /usr/bin/python3.11

.PHONY: setup up test lint proto check-proto format clean

setup: $(VENV)/.installed web/node_modules/.installed web/dist/index.html triton-deps models

$(VENV)/.installed: pyproject.toml
	scripts/setup-system
	test -x $(PYTHON) || $(SYSTEM_PYTHON) -m venv $(VENV)
	$(PYTHON) -m pip install -q --upgrade pip
	$(PYTHON) -m pip install -q -e '.[dev]'
	touch $@

web/node_modules/.installed: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The browser app the gateway serves; rebuilt when any of its sources changed.
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) \
  web/index.html web/vite.config.ts web/tsconfig.json
web/dist/index.html: web/node_modules/.installed $(WEB_SOURCES)
	cd web && npm run --silent build

# The model tier. The tritonserver binary comes from the nvidia-pytriton wheel, installed
# without its Python dependencies: only the binary is used (DESIGN.md, Model tier).
.PHONY: triton-deps models triton bench-models bench-gpu
PYTRITON := nvidia-pytriton==0.7.0

triton-deps: $(VENV)/.triton-installed

$(VENV)/.triton-installed: $(VENV)/.installed
	$(PYTHON) -m pip install -q --no-deps $(PYTRITON)
	touch $@

# checkov, the policy scanner tests/helm runs on the rendered chart, in a virtual environment
# of its own: its many pinned dependencies would change the project's.
.PHONY: scan-deps
SCAN_VENV := .venv-scan
CHECKOV := checkov==3.3.30

scan-deps: $(SCAN_VENV)/.installed

$(SCAN_VENV)/.installed: Makefile
	test -x $(SCAN_VENV)/bin/python || $(SYSTEM_PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install -q --upgrade pip
	$(SCAN_VENV)/bin/python -m pip install -q $(CHECKOV)
	touch $@

# Tiny random-weight models for tests and the local server (a no-op when up to date).
models: $(VENV)/.installed
	$(PYTHON) -m engines.build_tiny --out var/models

# Triton alone on CPU with the tiny models: HTTP 8000, gRPC 8001, metrics 8002.
triton: triton-deps models
	$(PYTHON) triton/launch.py

# Dynamic batching vs none, per model and for the ensemble (prints figures).
bench-models: triton-deps models
	$(PYTHON) -m bench.model_tier

# The three models at their real sizes on one GPU (random weights unless NEUTONE_MODELS_DIR
# holds real checkpoints): latency, tokens/s and memory against the targets, the cost of a
# song, and the memory plan. Needs a CUDA build of torch; about 5 minutes on an H100.
bench-gpu: $(VENV)/.installed
	$(PYTHON) -m bench.gpu

up: setup
	$(PYTHON) -m runtime.launcher

# The tests also run the policy scanner on the rendered chart (scan-deps).
test: setup scan-deps
	$(PYTHON) -m pytest --numprocesses=auto --maxprocesses=4 --dist=loadscope --no-loadscope-reorder

lint: setup check-proto
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/buf lint
	$(VENV)/bin/buf format --diff --exit-code
	$(VENV)/bin/hadolint --failure-threshold warning Dockerfile $(wildcard triton/Dockerfile)
	# The browser app: types, then its component tests (Vitest, a few seconds).
	cd web && npx tsc --noEmit -p . && npm run --silent test

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
	rm -rf $(VENV) $(SCAN_VENV) web/node_modules var
