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
# Notebooks run at once (each kernel on one thread) by make book, make nbval and the
# student-pack run; default: the number of cores (nproc). On two cores, two
# single-threaded kernels finish sooner than one kernel after another, since a chapter
# is mostly single-threaded Python.
JOBS   ?= $(shell nproc 2>/dev/null || echo 2)
ONE_THREAD := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
export PATH := $(abspath $(BIN)):$(PATH)
# A relative CAE_CACHE_DIR, CAE_DATA_MIRROR or CAE_DATA_DIR would be read from each notebook's own working
# folder (book/, a temporary folder), not from here: pass them on as absolute paths.
ifneq ($(strip $(CAE_CACHE_DIR)),)
export CAE_CACHE_DIR := $(abspath $(CAE_CACHE_DIR))
endif
ifneq ($(strip $(CAE_DATA_MIRROR)),)
export CAE_DATA_MIRROR := $(abspath $(CAE_DATA_MIRROR))
endif
ifneq ($(strip $(CAE_DATA_DIR)),)
export CAE_DATA_DIR := $(abspath $(CAE_DATA_DIR))
endif

.PHONY: book test unit nbval nbval-seed1 browser setup-cells venv clean book-time margins bench cache kernel lab \
        student grade cache-zip answers
venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $(STAMP)

# The HTML book, checked, and a zip of it that opens from disk (no network). The
# models are trained first, by `make cache` in plain processes (a no-op when they are
# cached): on two cores that is faster than training inside each chapter's kernel.
# Every chapter is then executed, two at a time (chapter 2, which times things, alone),
# into the jupyter-cache that the build reads; a cell error stops here. The student pack
# (make student) is written before the HTML, which links each chapter's student notebook
# and carries the pack (book/_ext/student_links.py).
book: $(STAMP)
	$(MAKE) --no-print-directory cache
	$(BIN)/python tests/execute_chapters.py --jobs $(JOBS)
	$(MAKE) --no-print-directory student
	$(BIN)/jupyter-book build . --builder html --all
	$(BIN)/python tests/check_built_book.py $(HTML)
	$(BIN)/python tests/zip_book.py $(HTML) $(ZIP)
	@echo "Open $(HTML)/index.html"

# Unit tests; then the whole book in realisation CAE_SEED=1, in its own cache folder
# (SEED1_CACHE): `make cache` trains every model of that realisation (cold on a fresh clone),
# `make book` executes every chapter (any cell error or failed hidden assertion fails) and
# must leave that cache as `make cache` filled it (so `make cache` covers the book); then the
# student pack, every notebook of it run top to bottom from that read-only cache, as a class
# would; then the browser tests on the book. CAE_SEED=1 trains other models than a reader's
# default CAE_SEED=0 and draws other noise, so every landing shows that the claims survive
# retraining; the default realisation is what `make book` builds. One realisation, not two,
# keeps CI within its budget: a cold realisation is most of its time. After `make cache`,
# CAE_CACHE_REQUIRED=1: a model or score that the book or the pack would compute (a miss: a
# folder read from the wrong place, a model the catalog lacks) stops the run at once, naming
# the file, instead of training it inside a kernel. SEED1_CACHE is an absolute path, since
# each kernel runs in its notebook's folder.
SEED1 = CAE_SEED=1 CAE_CACHE_DIR=$(abspath $(SEED1_CACHE))
REQUIRED = CAE_CACHE_REQUIRED=1
test: $(STAMP)
	$(PYTEST) --ignore=tests/test_browser.py --ignore=tests/test_student_run.py tests
	$(SEED1) $(MAKE) --no-print-directory cache
	mkdir -p _build
	$(SEED1) $(BIN)/python tests/cache_snapshot.py save _build/cache-snapshot.json
	$(SEED1) $(REQUIRED) $(MAKE) --no-print-directory book
	$(SEED1) $(BIN)/python tests/cache_snapshot.py check _build/cache-snapshot.json
	$(SEED1) $(BIN)/python -m cae_lib.answers book _build/answers
	$(SEED1) $(REQUIRED) CAE_CACHE_READONLY=1 $(ONE_THREAD) $(PYTEST) -n $(JOBS) tests/test_student_run.py
	$(MAKE) --no-print-directory browser

# CAE_TEST_DEVICE=cuda make unit: the unit tests with their models on that device (default
# cpu; the data stay on the CPU, as a user's do; a device this machine lacks is a clear error;
# README, "Devices and GPUs", says which models).
unit: $(STAMP)
	$(PYTEST) --ignore=tests/test_browser.py --ignore=tests/test_student_run.py tests

# make test-gpu, for anyone with a GPU (a teacher checking a Colab-like run, a contributor):
# the unit tests with CAE_TEST_DEVICE=$(GPU_DEVICE), $(GPU_UNIT_JOBS) at a time; make cache;
# every chapter under nbval from the read-only cache. Each part prints its time; make -k
# test-gpu runs the later parts even when one fails. GPU_DEVICE=cuda:1 picks another GPU.
# TEST_PYTHON=python3 make test-gpu uses that existing Python instead of creating .venv (a
# machine without network or pip: it needs torch, torchvision, matplotlib, tqdm, filelock,
# pytest, pytest-xdist, nbval, nbformat, nbclient, ipykernel, ipywidgets, jupyter-cache,
# pyyaml) and imports this checkout's cae_lib through PYTHONPATH.
.PHONY: test-gpu gpu-unit gpu-cache gpu-nbval
TEST_PYTHON   ?=
GPU_DEVICE    ?= cuda
GPU_UNIT_JOBS ?= 4
GPU_PY  := $(if $(TEST_PYTHON),$(TEST_PYTHON),$(BIN)/python)
GPU_DEP := $(if $(TEST_PYTHON),,$(STAMP))
GPU_ENV := $(if $(TEST_PYTHON),PYTHONPATH=$(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH)),)
test-gpu: gpu-unit gpu-nbval
gpu-unit: $(GPU_DEP)
	@t=$$(date +%s); CAE_TEST_DEVICE=$(GPU_DEVICE) $(GPU_ENV) $(GPU_PY) -m pytest -q \
		-n $(GPU_UNIT_JOBS) --ignore=tests/test_browser.py \
		--ignore=tests/test_student_run.py tests && \
		echo "test-gpu: unit tests on $(GPU_DEVICE): $$(($$(date +%s) - t)) s"
gpu-cache: $(GPU_DEP)
	@t=$$(date +%s); CAE_DEVICE=$(GPU_DEVICE) $(GPU_ENV) $(GPU_PY) -m cae_lib.catalog && \
		echo "test-gpu: make cache: $$(($$(date +%s) - t)) s"
gpu-nbval: gpu-cache
	@t=$$(date +%s); CAE_DEVICE=$(GPU_DEVICE) CAE_CACHE_READONLY=1 $(ONE_THREAD) $(GPU_ENV) \
		$(GPU_PY) -m pytest -q -n $(JOBS) --dist loadfile $(NBVAL) book && \
		echo "test-gpu: every chapter under nbval: $$(($$(date +%s) - t)) s"

# One student notebook per chapter, without the solutions: _build/student/ and
# _build/student.zip, written by otter-grader's `otter assign`; for the teacher, each chapter's
# autograder and worked key in _build/autograder/ (see cae_lib/student.py, grading.py).
# Nothing generated is committed.
student: $(STAMP)
	$(BIN)/python -m cae_lib.student book _build/student

# make answers: the answer key, with what each worked solution printed in the last `make book`
# (its CAE_SEED named), and a printable exercise sheet: _build/answers/answers.html (and .md)
# and exercises.html. It reads the executed chapters from make book's jupyter-cache, and asks
# for `make book` first when a chapter was edited since.
answers: $(STAMP)
	$(BIN)/python -m cae_lib.answers book _build/answers

# make grade SUBMISSIONS=folder: grade every student notebook under the folder (named as
# handed out, e.g. 03_training_and_contraction.ipynb, in any subfolders) with `otter run`,
# offline, JOBS at a time, into $(GRADES): one row per notebook, a column per graded question,
# total, possible, error. The notebooks run here, so the model cache must be filled (make
# cache, or CAE_CACHE_DIR at the class's cache).
GRADES ?= _build/grades.csv
grade: $(STAMP)
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=folder [GRADES=file.csv]" >&2; exit 2; }
	@test -f _build/autograder/questions.json || $(MAKE) --no-print-directory student
	$(ONE_THREAD) $(BIN)/python -m cae_lib.grading grade $(SUBMISSIONS) --out $(GRADES) --jobs $(JOBS)

# Every chapter under nbval in another realisation: CAE_SEED=1 retrains every model (in its
# own cache folder, SEED1_CACHE) and redraws every random draw, so every hidden assertion
# must survive retraining. (`make test` builds the whole book in that realisation instead.)
SEED1_CACHE ?= $(or $(CAE_CACHE_DIR),.cache/models)-seed1
nbval-seed1: $(STAMP)
	CAE_SEED=1 CAE_CACHE_DIR=$(abspath $(SEED1_CACHE)) $(BIN)/python -m cae_lib.catalog
	CAE_SEED=1 CAE_CACHE_DIR=$(abspath $(SEED1_CACHE)) CAE_CACHE_READONLY=1 $(ONE_THREAD) \
		$(PYTEST) -n $(JOBS) --dist loadfile $(NBVAL) book

# Every chapter under nbval (a cell error or failed hidden assertion fails), JOBS at a
# time, each notebook whole in one worker (--dist loadfile), from the model cache
# (filled first) in read-only mode, so that nbval's runs write nothing there.
nbval: $(STAMP)
	$(MAKE) --no-print-directory cache
	CAE_CACHE_READONLY=1 $(ONE_THREAD) $(PYTEST) -n $(JOBS) --dist loadfile $(NBVAL) book

# Headless Chromium on the book in _build/html and the zip (make book first).
browser: $(STAMP)
	$(PYTEST) -rs tests/test_browser.py

# Train every model the book uses into the model cache (CAE_CACHE_DIR, else .cache/models)
# that is not there yet, then print a table; a second run trains nothing. See cae_lib/catalog.py (what) and schedule.py (how).
cache: $(STAMP)
	$(BIN)/python -m cae_lib.catalog

# The filled cache as one file for a class: _build/cae-cache-seed<CAE_SEED>.zip (make cache
# first). Students set CAE_CACHE_ZIP=/absolute/path/to/it; the first chapter they open (or
# make cache) unpacks it into their cache folder.
cache-zip: cache
	$(BIN)/python -m cae_lib.cache_zip

# A Jupyter kernel "cae-book" inside .venv (this venv's Python), and JupyterLab on book/ with it
# as the default kernel. Extra options: make lab LAB_ARGS="--no-browser --port=8890";
# the student pack: make lab LAB_DIR=_build/student.
KERNEL   := cae-book
LAB_ARGS ?=
LAB_DIR  ?= book
kernel: $(STAMP)
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) \
		--display-name "Python (CAE book)"

lab: kernel
	$(BIN)/jupyter lab $(LAB_DIR) --MappingKernelManager.default_kernel_name=$(KERNEL) $(LAB_ARGS)

# Rewrite every notebook's setup cell from repository.url of _config.yml.
setup-cells: $(STAMP)
	$(BIN)/python tests/notebook_setup.py

bench: $(STAMP)
	$(BIN)/python benchmarks/penalty_speed.py

book-time: $(STAMP)
	$(BIN)/python benchmarks/book_time.py

# How far each hidden assertion is from failing in realisation CAE_SEED (its models cached:
# make cache first): _build/margins-seed<CAE_SEED>.json. Tabulate several realisations with
# python tests/assert_margins.py --table _build/margins-seed*.json
margins: $(STAMP)
	$(BIN)/python tests/assert_margins.py --out _build/margins-seed$(or $(CAE_SEED),0).json

clean:
	rm -rf _build
