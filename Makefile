# Two commands do all the set-up: `make run` (the embedded default, end to end) and
# `make test`. Both create the venv first (torch pinned to the 2.13.0 CPU wheel).

VENV    ?= .venv
PYTHON  ?= python3
CORES   ?= $(shell nproc)
CONFIG  ?= config.yaml
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: run test lint format venv dry-run plan clean

venv: $(VENV)/.installed

# pip byte-compiles one file at a time (34 s of a 69 s install on 2 cores); compileall on
# every core takes 19 s. Compiled here, not left to first imports: with PYTHONDONTWRITEBYTECODE
# set, every job would compile its imports again. Like pip, it skips files written for a
# newer Python (torch ships some), hence -qq and `|| true`.
$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check --no-compile -r requirements.txt
	$(VENV)/bin/pip install -q --disable-pip-version-check --no-compile --no-deps -e .
	$(VENV)/bin/python -m compileall -qq -j 0 $(VENV)/lib || true
	touch $@

# After any crash, `make run` again: a lock left by a killed Snakemake is cleared (never while
# a run or one of its jobs is alive here), and incomplete outputs are redone.
# REDO="file ..." remakes files a stage reported as damaged, and everything downstream of them.
REDO    ?=
# The config's `results_dir` (results for config.yaml), read when a recipe needs it (after the
# venv is built; by its python: make 4.3 does not pass the exported PATH to $(shell)).
RESULTS_DIR = $(shell '$(abspath $(VENV))/bin/python' -c "from pscale.config import load_config; print(load_config('$(CONFIG)')['results_dir'])" 2>/dev/null || echo results)
# The run and its report read one copy of CONFIG, taken when the run starts: an edit made
# while it runs waits for the next `make run`, and the report describes the tables it shows.
RUN_CONFIG = $(RESULTS_DIR)/work/run-config.yaml
# A job asked to redo finished work adopts it (pscale.receipts); REDO's files are made anew.
# CONFIG and REDO are quoted: a config path may hold spaces (CONFIG="my runs/a b.yaml").
run: venv
	python -m pscale.snakelock --configfile '$(CONFIG)'
	$(if $(strip $(REDO)),PSCALE_RESULTS_DIR='$(RESULTS_DIR)' python -m pscale.receipts --forget $(foreach f,$(REDO),'$(f)'))
	mkdir -p '$(RESULTS_DIR)/work' && cp '$(CONFIG)' '$(RUN_CONFIG)'
	snakemake --cores $(CORES) --configfile '$(RUN_CONFIG)' --rerun-incomplete --printshellcmds --show-failed-logs \
		$(if $(strip $(REDO)),--forcerun $(foreach f,$(REDO),'$(f)'))
	snakemake --cores 1 --configfile '$(RUN_CONFIG)' --report '$(RESULTS_DIR)/report.html'
	@echo "Done: open $(RESULTS_DIR)/report.html (tables in $(RESULTS_DIR)/tables, figures in $(RESULTS_DIR)/figures)."

test: lint
	pytest -q --durations=15

# Lint and formatting checks, also run by `make test` (so CI runs them). `make format` fixes.
lint: venv
	ruff check src tests scripts benchmarks
	ruff format --check src tests scripts benchmarks
	snakefmt --check Snakefile workflow/rules
	codespell
	snakemake --lint

format: venv
	ruff check --fix src tests scripts benchmarks
	ruff format src tests scripts benchmarks
	snakefmt Snakefile workflow/rules

dry-run: venv
	snakemake -n --configfile '$(CONFIG)'

# What CONFIG will cost before it runs: GPU-hours, disk and translation API dollars (pscale plan).
plan: venv
	pscale plan --configfile '$(CONFIG)'

clean:
	rm -rf '$(RESULTS_DIR)' .snakemake
