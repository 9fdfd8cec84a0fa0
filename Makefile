# The two commands of the README:
#   make course   set everything up, then open the course in JupyterLab
#   make test     set everything up, then run every test (what CI runs): the full suite on
#                 the default Python, then make test-numerics and make test-pythons
# Set-up is idempotent: a second run only checks stamps and takes a second or two.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SYSTEM_STAMP := $(VENV)/.system-packages
# Debian packages: Graphviz draws the model graphs, Chromium drives the browser tests,
# bubblewrap sandboxes the kernels that grade submissions.
APT_PACKAGES := graphviz chromium bubblewrap
JOBS ?= auto

# --warm-kernels: each notebook's kernel is forked from a warm parent that imported torch once
# (grading's warm kernels running plain ipykernel; course_utils/grade/pytest_side/validation_kernels.py)
PYTEST_ARGS := -n $(JOBS) --dist loadfile \
	--nbval --nbval-current-env --warm-kernels --nbval-cell-timeout=300 \
	--nbval-sanitize-with tests/nbval_sanitize.cfg \
	tests notebooks solutions

# make test-numerics: every notebook with stored outputs once more, with MKL, ATen and oneDNN on
# other code paths (the "compatible" variant of course_utils/stability.py). Float sums then come
# out different in their last bits, as on another CPU or torch build: a compared output that
# changes fails here, on one machine. About a minute on 2 cores.
NUMERIC_VARIANT := MKL_CBWR=COMPATIBLE ATEN_CPU_CAPABILITY=default ONEDNN_MAX_CPU_ISA=AVX2
NUMERIC_ARGS := -n $(JOBS) --dist loadfile \
	--nbval --nbval-current-env --warm-kernels --nbval-cell-timeout=300 \
	--nbval-sanitize-with tests/nbval_sanitize.cfg \
	notebooks solutions

# make test-pythons: the oldest and newest supported Python besides the default one
TEST_PYTHONS ?= 3.10 3.13
TEST_PYTHONS_VENVS := .venvs
TEST_PYTHONS_ARGS := -n $(JOBS) --dist loadfile \
	--nbval --nbval-current-env --warm-kernels --nbval-cell-timeout=300 \
	--nbval-sanitize-with tests/nbval_sanitize.cfg \
	tests/unit tests/notebooks/test_conventions.py notebooks/02_manual_forward.ipynb \
	tests/grading/test_grading.py::test_plugin_alone_writes_a_gradebook

# make lock: the torch release whose CPU build the course is tested with, and uv, which
# writes one lock for every supported Python (lines with a marker apply to some only)
TORCH_VERSION := 2.13.0
UV := uv==0.13.9

.PHONY: course test test-numerics test-pythons setup system-packages refresh release release-graded check-notebooks lock bench

course: setup
	$(BIN)/jupyter lab notebooks/00_start_here.ipynb

# make test installs Chromium and bubblewrap, so a missing browser or sandbox fails the
# browser and sandbox tests instead of skipping them
test: setup
	COURSE_REQUIRE_BROWSER=1 COURSE_REQUIRE_SANDBOX=1 $(BIN)/pytest $(PYTEST_ARGS)
	$(MAKE) test-numerics
	$(MAKE) test-pythons

test-numerics: setup
	@echo "== notebooks/ and solutions/ under other numeric code paths: $(NUMERIC_VARIANT)"
	env $(NUMERIC_VARIANT) $(BIN)/pytest $(NUMERIC_ARGS)

# For each of TEST_PYTHONS: a fresh venv from the lock, installed by the set-up's own script
# with uv (its wheel cache makes the second run quick; see requirements/install.sh), then
# import course_utils, the unit tests, the repository's conventions (tomli on 3.10), one
# lesson under nbval and one grading test. Where PyTorch's CPU index cannot be reached that
# venv gets the CUDA build, and tests it. About 8 min on 2 cores, 11 min with an empty cache.
test-pythons: setup
	$(BIN)/pip install -q "$(UV)"
	@set -e; for version in $(TEST_PYTHONS); do \
	  python=$$(requirements/find-python.sh $$version); \
	  venv=$(TEST_PYTHONS_VENVS)/py$$version; \
	  echo "== Python $$version ($$python): fresh $$venv"; \
	  start=$$(date +%s); \
	  rm -rf $$venv; \
	  COURSE_INSTALLER=uv UV=$(BIN)/uv requirements/install.sh $$venv $$python; \
	  $$venv/bin/python -c "import course_utils, course_utils.pictures, course_utils.widgets; print('import course_utils: ok')"; \
	  installed=$$(date +%s); \
	  $$venv/bin/pytest $(TEST_PYTHONS_ARGS); \
	  echo "== Python $$version: installed in $$(( installed - start )) s, tested in $$(( $$(date +%s) - installed )) s"; \
	done

setup: system-packages $(STAMP)

# apt-get only when a program is missing, so a second run is quick and needs no root.
system-packages:
	@missing=""; \
	command -v dot >/dev/null || missing="$$missing graphviz"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v bwrap >/dev/null || missing="$$missing bubblewrap"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# torch first, the CPU build from PyTorch's CPU index where it can be reached (see the script)
$(STAMP): pyproject.toml requirements/lock.txt requirements/install.sh
	requirements/install.sh $(VENV) $(PYTHON)
	touch $(STAMP)

# Maintainer commands (see README, "For maintainers").
refresh: setup
	$(BIN)/python -m course_utils.notebooks refresh $(NOTEBOOKS)

release: setup
	$(BIN)/python -m course_utils.exercises.release

# make release-graded: the graded release for students in GRADED_OUT (notebooks, a wheel without
# solutions whose checks replay expectations recorded now; docs/graded_course.md). About a minute.
GRADED_OUT ?= build/graded-release
release-graded: setup
	$(BIN)/python -m course_utils release-graded $(GRADED_OUT) $(if $(SOLUTIONS_PUBLISHED),--solutions-published "$(SOLUTIONS_PUBLISHED)")

check-notebooks: setup
	$(BIN)/python -m course_utils.notebooks check

# One universal lock from pyproject.toml's ranges, for Python 3.10 and newer on any platform.
# Pins already in the lock are kept where they still fit (LOCK_ARGS=--upgrade takes the newest).
# The CUDA libraries that PyPI's Linux torch wheel depends on are left out: the course
# installs the CPU build, and a CUDA fallback gets the exact versions that torch names.
LOCK_ARGS ?=
lock: setup
	$(BIN)/pip install -q "$(UV)"
	echo "torch==$(TORCH_VERSION)" > $(VENV)/torch-pin.txt
	cp requirements/lock.txt $(VENV)/lock.universal
	$(BIN)/uv pip compile pyproject.toml --extra test --universal --python-version 3.10 \
	  --constraint $(VENV)/torch-pin.txt --no-header --no-annotate --quiet $(LOCK_ARGS) \
	  --output-file $(VENV)/lock.universal
	{ sed '/^[^#]/,$$d' requirements/lock.txt; \
	  grep -v -E '^(nvidia-|cuda-|triton)' $(VENV)/lock.universal; } > $(VENV)/lock.new
	mv $(VENV)/lock.new requirements/lock.txt

bench: setup
	$(BIN)/python -m benchmarks.run
