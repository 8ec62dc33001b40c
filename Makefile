# Two commands: `make demo` and `make test`. Both set up .venv first; a second run reinstalls nothing.
VENV ?= .venv
PY := $(VENV)/bin/python
FORGE := $(VENV)/bin/forge
DEMO_OUT ?= demo-out

.PHONY: setup demo test bench lint cluster-up cluster-down clean

setup: $(VENV)/.models-ready

$(VENV)/.installed: requirements.lock pyproject.toml scripts/setup.sh
	VENV=$(VENV) bash scripts/setup.sh
	touch $@

$(VENV)/.models-ready: $(VENV)/.installed
	$(FORGE) prepare
	touch $@

demo: setup
	$(FORGE) demo --out $(DEMO_OUT) --overwrite

test: setup
	$(PY) -m pytest

bench: setup
	for b in bench/*.py; do $(PY) $$b || exit 1; done

lint: setup
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

cluster-up: setup
	$(PY) -m jobs.cluster up --state .cluster

cluster-down:
	$(PY) -m jobs.cluster down --state .cluster

clean:
	rm -rf $(VENV) .cluster $(DEMO_OUT) .pytest_cache
