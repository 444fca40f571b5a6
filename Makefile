# make demo: set up .venv and train + evaluate on the embedded synthetic data.
# make test: set up .venv and run the test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint glas bench

$(BIN)/.installed: setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,litert,imagenet]"
	touch $@

demo: $(BIN)/.installed
	$(BIN)/python train_main.py --config=configs/demo.py --workdir=runs/demo

# Two pytest workers: many tests wait on subprocesses and tracing, so two share the 2 cores well.
test: $(BIN)/.installed
	$(BIN)/python -m pytest -q -n 2

lint: $(BIN)/.installed
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

glas: $(BIN)/.installed
	$(BIN)/python train_main.py --config=configs/glas.py --workdir=runs/glas

bench: $(BIN)/.installed
	$(BIN)/python -m benchmarks.bench
