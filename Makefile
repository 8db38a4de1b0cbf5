# Two commands on a fresh clone:  make book  (HTML into _build/html)  and  make test.
# Each creates the virtualenv .venv from requirements.txt + cae_lib when it is missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HTML   := _build/html
ZIP    := _build/cae-book-html.zip
PYTEST := $(BIN)/python -m pytest -q
NBVAL  := --nbval-lax --nbval-cell-timeout=1800
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: book test unit nbval browser setup-cells venv clean book-time bench
venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $(STAMP)

# The HTML book, checked, and a zip of it that opens from disk (no network).
book: $(STAMP)
	$(BIN)/jupyter-book build . --builder html --all
	$(BIN)/python tests/check_built_book.py $(HTML)
	$(BIN)/python tests/zip_book.py $(HTML) $(ZIP)
	@echo "Open $(HTML)/index.html"

# Unit tests; then the book: building it executes every chapter (cold on a fresh
# clone) and fails on any cell error, hidden assertions included
# (nb_execution_raise_on_error), which is what an nbval pass checked; then the
# browser tests on that book. One execution of the chapters instead of two (nbval,
# then a warm build) keeps CI under 20 minutes. `make nbval` runs them under nbval.
test: $(STAMP)
	$(PYTEST) --ignore=tests/test_browser.py tests
	$(MAKE) --no-print-directory book
	$(MAKE) --no-print-directory browser

unit: $(STAMP)
	$(PYTEST) --ignore=tests/test_browser.py tests

nbval: $(STAMP)
	$(PYTEST) $(NBVAL) book

# Headless Chromium on the book in _build/html and the zip (make book first).
browser: $(STAMP)
	$(PYTEST) -rs tests/test_browser.py

# Rewrite every notebook's setup cell from repository.url of _config.yml.
setup-cells: $(STAMP)
	$(BIN)/python tests/notebook_setup.py

bench: $(STAMP)
	$(BIN)/python benchmarks/penalty_speed.py

book-time: $(STAMP)
	$(BIN)/python benchmarks/book_time.py

clean:
	rm -rf _build
