# Everything a fresh machine needs: Python 3.11, pip and make.
#   make demo   virtualenv + augcli, expand sample_data/ into out/demo/
#   make test   virtualenv + dev dependencies, the whole test suite
#   make bench  the benchmarks (see benchmarks/README.md)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
RECIPE ?= recipes/flips.yaml

.PHONY: demo test bench clean sample-data readme-ops

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/augcli expand sample_data/ out/demo/ --recipe $(RECIPE) --overwrite
	$(BIN)/augcli preview sample_data/ --recipe recipes/standard.yaml --out out/demo/preview.png
	@echo "demo: outputs in out/demo/, manifest out/demo/manifest.jsonl, contact sheet out/demo/preview.png"

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q

sample-data: $(VENV)/.installed
	$(BIN)/python scripts/make_sample_data.py

readme-ops: $(VENV)/.installed
	$(BIN)/python scripts/update_readme_ops.py

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis
