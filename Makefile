# Strata: `make run` installs everything and runs the demo; `make test` installs and runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)

# llama-cpp-python compiles from source once per machine; its portable build flags live in
# pyproject.toml ([tool.uv] config-settings-package) and uv caches the wheel (~/.cache/uv).
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2
# OpenMP spin-waiting collapses generation on a busy 2-core machine (shared/MODELS.md).
export OMP_WAIT_POLICY := PASSIVE
export UV_PYTHON ?= 3.11
CODEGRAPH_TS := servers/codegraph/src/strata/codegraph/typescript

.PHONY: help install run test lint bench clean

help:
	@echo "make run    install everything and run the demo on the bundled model"
	@echo "make test   install everything and run the whole test suite"
	@echo "make lint   ruff + mypy"
	@echo "make bench  run the benchmarks and rewrite docs/benchmarks.md"

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

# The second line compiles codegraph's call analysis in place unless it is current (servers/codegraph/hatch_build.py):
# uv rebuilds it when its source changes, not when `git clean` removed the compiled module.
install: $(UV) $(CODEGRAPH_TS)/node_modules/.package-lock.json
	$(UV) sync --locked --all-packages
	$(UV) run --no-sync python servers/codegraph/hatch_build.py

# The TypeScript compiler codegraph resolves TS/JS calls with (pinned in its package-lock.json), installed inside
# the package from the npm cache; without npm, codegraph indexes those files with tree-sitter instead.
$(CODEGRAPH_TS)/node_modules/.package-lock.json: $(CODEGRAPH_TS)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix $(CODEGRAPH_TS) --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: codegraph will index TypeScript/JavaScript with tree-sitter"; fi

DEMO_REQUEST := find all places that authenticate against the legacy LDAP server and refactor them to use the new SSO module

# The demo edits a fresh copy of the sample repository, never examples/ itself.
run: install
	rm -rf .demo && mkdir -p .demo && cp -R examples/acme-portal .demo/acme-portal
	$(UV) run --no-sync strata ask "$(DEMO_REQUEST)" --repo .demo/acme-portal --yes --voice

test: install
	$(UV) run --no-sync pytest

lint: install
	$(UV) run --no-sync ruff check .
	$(UV) run --no-sync ruff format --check .
	$(UV) run --no-sync mypy shared/src servers/llm/src servers/codegraph/src servers/memory/src servers/router/src servers/voice/src orchestrator/src

bench: install
	$(UV) run --no-sync python bench/bench_llm.py --write docs/benchmarks.md
	$(UV) run --no-sync python bench/bench_codegraph_accuracy.py --write docs/benchmarks.md
	$(UV) run --no-sync python bench/bench_codegraph_realcode.py --write docs/benchmarks.md
	$(UV) run --no-sync python bench/bench_codegraph_speed.py --write docs/benchmarks.md
	$(UV) run --no-sync python bench/bench_codegraph_languages.py --write docs/benchmarks.md
	$(UV) run --no-sync python bench/bench_memory.py --write docs/benchmarks.md
	$(UV) run --no-sync python bench/bench_router.py --write docs/benchmarks.md
	$(UV) run --no-sync python bench/bench_router_quality.py --write docs/benchmarks.md
	$(UV) run --no-sync python bench/bench_telemetry.py --write docs/benchmarks.md
	$(UV) run --no-sync python bench/bench_startup.py --write docs/benchmarks.md
	$(UV) run --no-sync python bench/bench_voice.py --write docs/benchmarks.md

clean:
	rm -rf .venv .tools .pytest_cache .mypy_cache .ruff_cache .bench-cache .demo
