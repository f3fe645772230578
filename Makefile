# perfkit — two commands do all the set-up on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PERFKIT := $(VENV)/bin/perfkit
STAMP := $(VENV)/.installed
# CI runs on 2 cores: one pytest worker per core (pytest-xdist); tests marked with one
# xdist_group run on one worker (the numba backend's tests: its kernels compile once).
PYTEST_FLAGS ?= -q -n 2 --dist loadgroup

.PHONY: setup demo test test-fast bench bench-pytest bench-check asv asv-compare report browser lint clean

# Create .venv and install everything pinned (constraints.txt); redone only when those change.
$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "perfkit needs Python 3.11+")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -c constraints.txt -e '.[all]'
	touch $(STAMP)

setup: $(STAMP)

# The headline job on a bundled example: where does a slow pipeline spend its time and memory,
# and what to do about it. The summary goes to stderr; the last line says where the report is.
demo: setup
	$(PERFKIT) profile --memory examples/slow_pipeline.py

test: setup browser
	$(PY) -m pytest $(PYTEST_FLAGS)

test-fast: setup
	$(PY) -m pytest $(PYTEST_FLAGS) -m "not slow"

# Headless Chromium for the browser tests of the HTML reports (Debian's package; root only).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "warning: could not install chromium; browser tests will be skipped"; \
	  else echo "note: chromium not installed; browser tests will be skipped"; fi; }

# Every case at full size on this machine, results in reports/bench/.
bench: setup
	$(PERFKIT) bench

# The pytest-benchmark suite for real: autosave and compare with the last saved run.
bench-pytest: setup
	$(PY) -m pytest tests/benchmarks --benchmark-enable --benchmark-only \
	  --benchmark-autosave --benchmark-compare --benchmark-group-by=group -p no:randomly

# asv against the current environment; the HTML dashboard goes to reports/asv/.
asv: setup
	$(VENV)/bin/asv machine --yes --machine "$$(hostname)" >/dev/null
	$(VENV)/bin/asv run --python=same --quick --set-commit-hash "$$(git rev-parse HEAD)" --machine "$$(hostname)"
	$(VENV)/bin/asv publish

# Gate: run the base commit (BASE=<rev>, default: HEAD for a dirty tree, else the upstream
# merge-base or the previous commit) and this tree on THIS machine in alternating rounds;
# exit 3 on a significant regression (Mann-Whitney U + 10%), 1 on a failed check.
BENCH_ARGS ?= --group playbook --modules perfkit.bench.playbook
bench-check: setup
	$(PY) -m perfkit.bench.gate $(if $(BASE),--base $(BASE)) $(BENCH_ARGS)

# asv across commits: make asv-compare BASE=<commit> [HEAD=<commit>] (fails on a '+' row).
asv-compare: setup
	@test -n "$(BASE)" || { echo "usage: make asv-compare BASE=<commit> [HEAD=<commit>]"; exit 2; }
	benchmarks/asv_compare.sh $(BASE) $(or $(HEAD),HEAD)

# The scoreboard page from every results file in reports/bench/.
report: setup
	$(PERFKIT) report

lint: setup
	$(VENV)/bin/ruff check perfkit tests benchmarks

clean:
	rm -rf $(VENV) .asv reports/asv reports/profiles reports/index.html .pytest_cache .benchmarks
