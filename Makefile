# Two entry points for users: `make demo` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
DATA   := python/src/port_gitops/data
RES    := resources/io/port/gitops
# Hand-written definitions live in templates/ and resources/; the package carries copies.
DATA_SOURCES := templates/enrichService.yml $(RES)/blueprints.json $(RES)/actions $(RES)/invocation.github.json $(RES)/invocation.gitlab.json

.PHONY: demo test bench sync-data parser-tables resources tools pytest typecheck lint groovy-test test-ranges clean
.PRECIOUS: .venv-%/.installed

demo: $(VENV)/.runtime
	$(VENV)/bin/port-gitops demo

test: tools $(VENV)/.dev
	$(MAKE) --no-print-directory pytest test-ranges typecheck lint groovy-test

# Not a test: prints measured tables with the targets beside them (bench/README.md).
# `make bench BENCH_ARGS=--quick` for a smaller run.
bench: $(VENV)/.runtime
	$(PY) bench/run.py $(BENCH_ARGS)

# Copy the hand-written definitions into the package (one target; a test fails when a copy is stale).
sync-data:
	mkdir -p $(DATA)
	rm -rf $(DATA)/actions
	cp -R $(DATA_SOURCES) $(DATA)/

# jsonpath-ng's LALR tables, so no run generates them again (a test fails when they are stale).
parser-tables: $(VENV)/.dev
	$(PY) python/build_parser_tables.py

# What the Jenkins library ships to agents, generated from python/ (a test fails when it is stale).
resources: sync-data parser-tables $(VENV)/.dev
	$(PY) python/build_resources.py

$(VENV)/.runtime: python/pyproject.toml python/constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else "python3 >= 3.9 is required")'
	@$(PYTHON) -m venv $(VENV) || { echo "make: python3 cannot create a virtual environment; install python3-venv" >&2; exit 2; }
	$(PIP) install -c python/constraints.txt -e python
	touch $@

$(VENV)/.dev: $(VENV)/.runtime
	$(PIP) install -c python/constraints.txt -e 'python[dev]'
	touch $@

# Name whatever the tests need and the machine lacks, instead of failing obscurely later.
tools:
	@missing=""; \
	command -v groovy >/dev/null 2>&1 || missing="$$missing groovy(apt: groovy)"; \
	java -version >/dev/null 2>&1 || missing="$$missing java-17..24(apt: default-jre-headless)"; \
	[ "$$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -ge 20 ] || missing="$$missing node>=20"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	command -v git >/dev/null 2>&1 || missing="$$missing git"; \
	if [ -n "$$missing" ]; then echo "make test: missing:$$missing" >&2; exit 2; fi

pytest: $(VENV)/.dev
	cd tests/python && ../../$(PY) -m pytest -q -rs

# pyproject's ranges are promises: the suites that exercise the runtime dependencies run again on the
# NEWEST versions the ranges admit (what `pip install` gives a user) and on the LOWEST (each `>=` bound),
# besides the main run on python/constraints.txt. Dependencies are read from pyproject (through the
# installed metadata), never named here. Each venv is rebuilt when pyproject.toml changes; delete it
# (or `make clean`) to pick up a release published since.
RANGES       := newest lowest
RANGE_SUITES := test_gwt_*.py test_cli_vars.py test_cli_render.py test_portyml_*.py test_validate.py \
                test_enrich_outcomes.py test_enrich_exits.py test_enrich_faults.py test_enrich_unreachable.py \
                test_retry.py test_http.py test_preconnect.py test_port_api.py test_report_cmd.py test_signature.py \
                test_config.py

# Both ranges run at once (their suites mostly wait on loopback I/O); output is kept per range.
test-ranges:
	@$(MAKE) --no-print-directory -j2 --output-sync=target $(RANGES:%=test-range-%)

test-range-%: .venv-%/.installed
	@echo "test-ranges: $* versions:" $$(.venv-$*/bin/python python/dependency_range.py installed)
	cd tests/python && ../../.venv-$*/bin/python -m pytest -q -p no:cacheprovider $(RANGE_SUITES)

.venv-newest/.installed: python/pyproject.toml python/dependency_range.py
	rm -rf .venv-newest
	$(PYTHON) -m venv .venv-newest
	.venv-newest/bin/python -m pip --disable-pip-version-check -q install --upgrade -e python pytest
	touch $@

.venv-lowest/.installed: python/pyproject.toml python/dependency_range.py | $(VENV)/.dev
	rm -rf .venv-lowest
	$(PYTHON) -m venv .venv-lowest
	$(PY) python/dependency_range.py lowest > .venv-lowest/constraints.txt
	.venv-lowest/bin/python -m pip --disable-pip-version-check -q install -c .venv-lowest/constraints.txt -e python pytest
	touch $@

typecheck: $(VENV)/.dev
	cd python && ../$(PY) -m mypy

lint: $(VENV)/.dev
	$(PY) -m ruff check python tests bench
	$(PY) -m ruff format --check python tests bench

groovy-test:
	@if [ -d tests/groovy ]; then $(MAKE) --no-print-directory -C tests/groovy; fi

clean:
	rm -rf $(VENV) $(RANGES:%=.venv-%) .demo
