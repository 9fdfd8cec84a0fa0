# The two commands of the README:
#   make course   set everything up, then open the course in JupyterLab
#   make test     set everything up, then run every test (what CI runs)
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

PYTEST_ARGS := -n $(JOBS) --dist loadfile \
	--nbval --nbval-current-env --nbval-cell-timeout=300 \
	--nbval-sanitize-with tests/nbval_sanitize.cfg \
	tests notebooks solutions

.PHONY: course test setup system-packages refresh release check-notebooks lock bench

course: setup
	$(BIN)/jupyter lab notebooks/00_start_here.ipynb

# make test installs Chromium and bubblewrap, so a missing browser or sandbox fails the
# browser and sandbox tests instead of skipping them
test: setup
	COURSE_REQUIRE_BROWSER=1 COURSE_REQUIRE_SANDBOX=1 $(BIN)/pytest $(PYTEST_ARGS)

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

# torch first, pinned to the CPU build: a range could pull a CUDA build of several GB.
$(STAMP): pyproject.toml requirements/lock.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -c requirements/lock.txt -e ".[test]"
	touch $(STAMP)

# Maintainer commands (see README, "For maintainers").
refresh: setup
	$(BIN)/python -m course_utils.notebooks refresh $(NOTEBOOKS)

release: setup
	$(BIN)/python -m course_utils.exercises.release

check-notebooks: setup
	$(BIN)/python -m course_utils.notebooks check

lock: setup
	{ head -2 requirements/lock.txt; $(BIN)/pip freeze --exclude-editable | sed 's/+cpu//'; } > requirements/lock.new
	mv requirements/lock.new requirements/lock.txt

bench: setup
	$(BIN)/python -m benchmarks.run
