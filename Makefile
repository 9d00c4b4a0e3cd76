# The two commands of the README. Each builds the virtual environment it needs in .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ARGS ?=
PYTEST_ARGS ?=
# Held to mypy --strict by `make test`.
TYPED := bot domain storage policy

.PHONY: run test lint bench clean

run: $(VENV)/.installed-run
	$(BIN)/steward run $(ARGS)

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Style, the import contracts (pyproject.toml [tool.importlinter]) and strict typing of the core and its layers.
lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy $(TYPED)

bench: $(VENV)/.installed-test
	$(BIN)/python -m benchmarks

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The bot alone: no model, no test tools.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# Everything the suite exercises. torch goes first, pinned to the CPU build these machines carry.
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet 'torch==2.13.0'
	$(BIN)/python -m pip install --quiet -e '.[dev,toxicity,export,redis,postgres]'
	touch $@ $(VENV)/.installed-run

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
