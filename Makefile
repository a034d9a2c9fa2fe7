# Two commands set everything up on a fresh machine: `make demo` and `make test`.
# uv is the only tool needed; it is installed into .tools/ when missing. The machine's own Python is
# used (no toolchain downloads), and the environment comes from the committed uv.lock.

SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE ?= copy

UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
RUN := $(UV) run --frozen --no-sync

.PHONY: help env lint typecheck test test-suite test-compat test-fast demo up bench bench-quick bench-dli bench-dws clean system-packages bench-cli soak test-arm64

help:
	@echo "make demo   - run the example pipeline on the local emulator (no cloud account needed)"
	@echo "make up     - the emulator and Airflow (UI, scheduler, triggerer) with every example DAG; Ctrl-C stops"
	@echo "make test   - lint, type checks and the whole test suite (the provider's also on Airflow 3.0)"
	@echo "make test-suite / test-compat - the whole suite / the provider's on Airflow 3.0 (ARGS for pytest)"
	@echo "make bench  - benchmarks against their peers (1 GiB objects; about half an hour)"
	@echo "make bench-dli - DLI SQL on the emulator vs DuckDB and Spark local (ARGS=--quick: 1M rows)"
	@echo "make bench-dws - OBS <-> DWS transfers vs psql \\copy on local disk (ARGS=--quick: 200k rows)"
	@echo "make bench-cli - hwcloud obs cp vs aws s3 cp (awscli) on the emulator (ARGS=--quick: 128 MiB)"
	@echo "make soak   - 30 minutes of mixed OBS traffic from 16 clients: no error, flat memory, no leak (ARGS=--minutes 1)"
	@echo "make test-arm64 - smoke tests on an emulated arm64 (Kunpeng) Debian root; needs root, cached in /var/cache (docs/arm64.md)"
	@echo "make env    - only create the environment (.venv)"

$(CURDIR)/.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check uv

.venv/.synced: uv.lock pyproject.toml toolkit/pyproject.toml emulator/pyproject.toml provider/pyproject.toml | $(UV)
	$(UV) sync --locked
	@touch $@

env: .venv/.synced

# Debian packages some tests drive for real: groovy (the Jenkins library, on the machine's Java), chromium
# (the emulator console in a headless browser) and redis-server (the CeleryExecutor's broker). Installed
# here when missing and possible; otherwise the tests that need one fail naming the package.
SYSTEM_PACKAGES := groovy chromium redis-server
system-packages:
	@missing="$$(for p in $(SYSTEM_PACKAGES); do command -v $$p >/dev/null || echo $$p; done)"; \
	[ -z "$$missing" ] || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; } || \
	  echo "env: not installed: $$missing (apt-get install $$missing): the tests that need them will fail"

lint: env
	$(RUN) ruff check .
	$(RUN) ruff format --check .

typecheck: env
	$(RUN) mypy

# The suite runs on TEST_WORKERS processes (pytest-xdist): most tests wait on an emulator, Airflow or Spark
# process, so two workers keep two cores busy. Each worker has its own session emulator; a worker that runs
# out of tests takes some of the other's (worksteal), so neither waits idle at the end.
TEST_WORKERS ?= 2
XDIST = -n $(TEST_WORKERS) --dist worksteal

# Lint, type checks and the two suites run side by side: the suites' tests wait on processes often enough
# that one suite alone leaves the cores idle a fifth of the time. Each part's output is printed whole when it
# ends; make fails if any part failed.
test: system-packages
	$(MAKE) --no-print-directory -j4 --output-sync=target lint typecheck test-suite test-compat

# The whole suite on the workspace's Airflow (the newest).
test-suite: env system-packages
	$(RUN) pytest $(XDIST) $(ARGS)

# The provider's tests on the oldest Airflow it supports (3.0.x), in compat/airflow-3.0's environment (its
# own lock), from here so that pyproject.toml's pytest settings apply; `make test` runs them beside the
# suite above, which is on the newest. Deselected, for what Airflow 3.0 does not have:
# - [no bucket]: its ObjectStoragePath never hands a path to the provider's path class (OBSPath), which
#   refuses obs:///key when the path is made;
# - the remote-log handler found by the obs:// scheme: Airflow 3.0 finds none by scheme; it takes
#   logging_config_class, which test_task_logs_are_written_to_and_read_back_from_obs runs end to end.
COMPAT := compat/airflow-3.0
COMPAT_DESELECT := \
	--deselect "provider/tests/test_bad_input.py::test_bad_obs_urls_are_refused_by_object_storage_paths[no bucket]" \
	--deselect provider/tests/test_remote_logging.py::test_airflow_finds_the_handler_by_the_obs_scheme
test-compat: system-packages | $(UV)
	cd $(COMPAT) && $(UV) sync --locked
	$(COMPAT)/.venv/bin/pytest provider/tests $(XDIST) $(COMPAT_DESELECT) $(ARGS)

# The tests without lint and type checks, e.g. `make test-fast ARGS="-k obs -x"`.
test-fast: env system-packages
	$(RUN) pytest $(ARGS)

demo: env
	$(RUN) python examples/demo.py

# State is kept in .demo/up between runs; `make up ARGS=--fresh` starts from nothing.
up: env
	$(RUN) python examples/up.py $(ARGS)

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

# The OBS soak of issue 21 (bench/README.md): 30 minutes by default, not part of `make test`.
soak: env
	$(RUN) python -m bench.soak $(ARGS)

# Kunpeng (issue 22): a smoke subset in an arm64 Debian root under qemu user-mode emulation; not in `make test`.
test-arm64: | $(UV)
	UV="$(UV)" scripts/test_arm64.sh

# hwcloud obs cp beside aws s3 cp (awscli, installed into a throwaway venv at bench time; ~10 minutes).
bench-cli: env
	$(RUN) python -m bench.cli_cp $(ARGS)

clean:
	rm -rf .venv .tools .demo
