# ecssim: the two commands a user needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
RSTAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest notebooks bench bench-quick clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The install compiles ecssim's one C file (setup.py): editing it reinstalls, which rebuilds it.
SOURCES := pyproject.toml setup.py ecssim/_native.c

$(RSTAMP): $(SOURCES) | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(STAMP): $(SOURCES) | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev,dask]"
	touch $@ $(RSTAMP)

demo: $(RSTAMP)
	$(BIN)/ecssim run scenarios/quickstart.yaml --out runs/quickstart

test: $(STAMP)
	$(MAKE) lint
	$(MAKE) typecheck
	$(MAKE) pytest

lint: $(STAMP)
	$(BIN)/ruff check ecssim tests benchmarks tools setup.py
	$(BIN)/ruff format --check ecssim tests benchmarks tools setup.py

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

bench-quick: $(STAMP)
	$(BIN)/python -m benchmarks.run --quick

clean:
	rm -rf $(VENV) runs build .pytest_cache .mypy_cache .ruff_cache
	rm -f ecssim/_native.*.so
