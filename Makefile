# The README's two commands are `make demo` and `make test`; both set everything up first.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
APPS   := $(sort $(dir $(wildcard apps/*/pyproject.toml)))
STAMP  := $(VENV)/.installed

.PHONY: setup demo test lint bench clean

setup: $(STAMP)

# Re-installs when any member's pyproject changes. torch/torchaudio are pinned first so that
# pip takes torch 2.14.1 from the local disk and the CUDA-enabled torchaudio wheel matches it.
$(STAMP): pyproject.toml packages/contrastkit/pyproject.toml $(addsuffix pyproject.toml,$(APPS))
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) (Python 3.11)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet "torch==2.14.1" "torchaudio==2.11.0"
	$(PIP) install --quiet -e ".[dev]" -e "packages/contrastkit[train,eval]" $(foreach m,$(APPS),-e "$(m:/=)")
	touch $(STAMP)

demo: setup
	$(PY) scripts/run_demos.py

test: setup
	$(PY) -m pytest -n 2 --dist loadfile tests

lint: setup
	$(PY) -m pip install --quiet ruff && $(VENV)/bin/ruff check packages apps tests benchmarks scripts

# Peers are installed for benchmarks only, without their dependencies (torch stays pinned).
bench: setup
	$(PIP) install --quiet --no-deps -r benchmarks/requirements.txt
	OMP_NUM_THREADS=1 $(PY) benchmarks/losses.py

clean:
	rm -rf $(VENV) runs
