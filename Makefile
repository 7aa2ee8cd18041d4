# Every target sets itself up: a .venv made with the standard library's venv,
# the project installed into it (editable) with the extras the tests need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install test demo bench lint browser clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,dask,viz]'
	$(BIN)/python -m environments.warmup
	touch $(STAMP)

install: $(STAMP)

# Debian's Chromium, for the browser tests (playwright cannot download browsers here),
# and the dashboard's front-end files, fetched once with npm into .venv (no CDN here).
browser: $(STAMP)
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian's$$missing for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@$(BIN)/python -c 'from analysis.dashboard import ensure_frontend_assets as f; import sys; sys.exit(1 if f() else 0)'

test: install browser
	$(BIN)/python -m pytest

# A fresh folder each time: a results folder refuses a spec that changed.
demo: install
	rm -rf results/demo
	$(BIN)/concession sweep backfire-map --size quick --out results/demo
	$(BIN)/concession report results/demo

bench: install
	$(BIN)/python benchmarks/run_all.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) results .pytest_cache .numba-cache
