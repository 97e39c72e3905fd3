# Two commands do all set-up on a fresh machine: `make site` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PROFILE ?= full
# Extra arguments for installing torch (the GitHub workflow points pip at PyTorch's CPU index).
TORCH_PIP_ARGS ?=
export NO_MKDOCS_2_WARNING := 1

.PHONY: site data serve deploy test chromium bench clean

# The whole site: every chapter, then mkdocs, built beside the old site/ and swapped in whole.
site: $(VENV)/.installed
	$(PY) -m generator.build --profile $(PROFILE)

data: $(VENV)/.installed
	$(PY) -m generator.networks.data

serve: site
	$(PY) -m mkdocs serve

# Publish from this machine to the gh-pages branch (set FLOWGRAPH_SITE_URL to its address).
# mkdocs empties the folder it builds into: it must be one a build wrote (marked), empty or new.
DEPLOY_DIR := build/gh-deploy
deploy: site
	$(PY) -c 'import sys; from generator.build import claim_folder; sys.exit(claim_folder("$(DEPLOY_DIR)"))'
	$(PY) -m mkdocs gh-deploy --force --site-dir $(DEPLOY_DIR)

# torch first, exactly the local CPU wheel; the constraints file keeps any later step from replacing it.
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q torch==2.13.0 $(TORCH_PIP_ARGS)
	$(VENV)/bin/pip install -q -c constraints.txt -e '.[dev,dask]'
	touch $@

chromium:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

test: $(VENV)/.installed chromium
	$(PY) -m pytest

bench: $(VENV)/.installed
	$(PY) benchmarks/build_times.py
	$(PY) benchmarks/live_speed.py
	$(PY) benchmarks/page_interactive.py

clean:
	rm -rf build site test-artifacts
