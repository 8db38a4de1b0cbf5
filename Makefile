# Two commands on a fresh clone:  make book  (HTML into _build/html)  and  make test.
# Each creates the virtualenv .venv from requirements.txt + cae_lib when it is missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: book test unit nbval venv clean book-time bench
venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . --builder html --all
	$(BIN)/python tests/check_built_book.py _build/html
	@echo "Open _build/html/index.html"

test: $(STAMP)
	$(BIN)/python -m pytest -q --nbval-lax --nbval-cell-timeout=1800 tests book

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests

nbval: $(STAMP)
	$(BIN)/python -m pytest -q --nbval-lax --nbval-cell-timeout=1800 book

bench: $(STAMP)
	$(BIN)/python benchmarks/penalty_speed.py

book-time: $(STAMP)
	$(BIN)/python benchmarks/book_time.py

clean:
	rm -rf _build
