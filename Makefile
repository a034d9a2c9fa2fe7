# Two commands set everything up on a fresh machine: `make demo` and `make test`.
# uv is the only tool needed; it is installed into .tools/ when missing. The machine's own Python is
# used (no toolchain downloads), and the environment comes from the committed uv.lock.

SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE ?= copy

UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
RUN := $(UV) run --frozen --no-sync

.PHONY: help env lint typecheck test test-fast demo bench bench-quick bench-dli bench-dws clean groovy bench-cli

help:
	@echo "make demo   - run the example pipeline on the local emulator (no cloud account needed)"
	@echo "make test   - lint, type checks and the whole test suite"
	@echo "make bench  - benchmarks against their peers (1 GiB objects; about half an hour)"
	@echo "make bench-dli - DLI SQL on the emulator vs DuckDB and Spark local (ARGS=--quick: 1M rows)"
	@echo "make bench-dws - OBS <-> DWS transfers vs psql \\copy on local disk (ARGS=--quick: 200k rows)"
	@echo "make bench-cli - hwcloud obs cp vs aws s3 cp (awscli) on the emulator (ARGS=--quick: 128 MiB)"
	@echo "make env    - only create the environment (.venv)"

$(CURDIR)/.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check uv

.venv/.synced: uv.lock pyproject.toml toolkit/pyproject.toml emulator/pyproject.toml provider/pyproject.toml | $(UV)
	$(UV) sync --locked
	@touch $@

env: .venv/.synced

# The Jenkins library's tests (toolkit/tests/test_cli_jenkins.py) run Debian's groovy on the machine's Java;
# installed here when missing and possible, else those tests fail naming the package.
groovy:
	@command -v groovy >/dev/null || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && apt-get update -qq && apt-get install -y -qq groovy >/dev/null; } || \
	  echo "env: groovy is not installed (apt-get install groovy): the Jenkins library tests will fail"

lint: env
	$(RUN) ruff check .

typecheck: env
	$(RUN) mypy

test: lint typecheck groovy
	$(RUN) pytest

# The tests without lint and type checks, e.g. `make test-fast ARGS="-k obs -x"`.
test-fast: env groovy
	$(RUN) pytest $(ARGS)

demo: env
	$(RUN) python examples/demo.py

# Benchmarks print a table of ratios against peers measured in the same run (bench/README.md).
# wrk and curl drive the server-side rows; without them bench/rawhttp.py does (the row names its driver).
bench: env
	@command -v wrk >/dev/null && command -v curl >/dev/null || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && apt-get update -qq && apt-get install -y -qq wrk curl >/dev/null; } || \
	  echo "bench: wrk/curl not installed; using the Python drivers"
	$(RUN) python -m bench.run $(ARGS)

bench-quick: env
	$(RUN) python -m bench.run --quick $(ARGS)

# DLI SQL: the emulator beside DuckDB in-process and Spark local mode (10M rows, about 3 minutes).
bench-dli: env
	$(RUN) python -m bench.dli_sql $(ARGS)

# DWS: the provider's OBS -> DWS load and DWS -> OBS unload beside psql's \copy (1M rows, 1-3 minutes).
bench-dws: env
	$(RUN) python -m bench.dws_copy $(ARGS)

# hwcloud obs cp beside aws s3 cp (awscli, installed into a throwaway venv at bench time; ~10 minutes).
bench-cli: env
	$(RUN) python -m bench.cli_cp $(ARGS)

clean:
	rm -rf .venv .tools .demo
