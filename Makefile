# The README's two commands are `make demo` and `make test`; both set everything up first.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
APPS   := $(sort $(dir $(wildcard apps/*/pyproject.toml)))
STAMP  := $(VENV)/.installed

.PHONY: setup deps demo test lint bench clean

setup: $(STAMP)

# Re-installs when any member's pyproject changes. torch/torchaudio are pinned first so that
# pip takes torch 2.14.1 from the local disk and the CUDA-enabled torchaudio wheel matches it.
# Third-party dependencies only, read from the members' pyproject files (the container's cached layer).
deps:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) (Python 3.11)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet "torch==2.14.1" "torchaudio==2.11.0"
	$(PY) scripts/workspace_deps.py > $(VENV)/requirements.txt
	$(PIP) install --quiet -r $(VENV)/requirements.txt

$(STAMP): pyproject.toml packages/contrastkit/pyproject.toml $(addsuffix pyproject.toml,$(APPS))
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) (Python 3.11)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet "torch==2.14.1" "torchaudio==2.11.0"
	$(PIP) install --quiet -e ".[dev]" -e "packages/contrastkit[train,eval]" $(foreach m,$(APPS),-e "$(m:/=)")
	touch $(STAMP)

# THREADS=N gives every demo N torch threads (default: the cores this process may use)
demo: setup
	$(PY) scripts/run_demos.py $(if $(THREADS),--threads $(THREADS))

# docker-compose (Debian's 1.29, no engine needed) validates the compose files in the tests;
# THREADS=N gives each test process N torch threads (the suite must pass at any count)
test: setup
	@command -v docker-compose >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq docker-compose >/dev/null; } \
	  || echo "could not install docker-compose: tests/test_containers.py will say so"
	$(if $(THREADS),OMP_NUM_THREADS=$(THREADS) MKL_NUM_THREADS=$(THREADS)) $(PY) -m pytest -n 2 --dist loadfile tests

lint: setup
	$(PY) -m pip install --quiet ruff && $(VENV)/bin/ruff check packages apps tests benchmarks scripts

# Peers are installed for benchmarks only, without their dependencies (torch stays pinned).
bench: setup
	$(PIP) install --quiet --no-deps -r benchmarks/requirements.txt
	OMP_NUM_THREADS=1 $(PY) benchmarks/losses.py

clean:
	rm -rf $(VENV) runs
