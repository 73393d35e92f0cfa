# Everything a fresh machine needs: Python 3.11, pip and make.
#   make demo   virtualenv + augcli, expand sample_data/ into out/demo/ (RECIPE=recipes/standard.yaml
#               for another recipe), and a contact sheet of the same recipe
#   make demo-detection  the same for an annotated sample made by scripts/make_sample_annotated.py into
#               out/sample_annotated/ (YOLO boxes, then masks) into out/detection/, out/segmentation/
#   make test   virtualenv + dev dependencies, the whole test suite
#   make bench  the benchmarks (see benchmarks/README.md)
#   make mutants  plant one-line bugs one at a time; the suite must catch >= 95% (not CI)
#   make evidence is augmentation worth it? digits and faces, with and without augcli (docs/evidence.md)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
RECIPE ?= recipes/flips.yaml

.PHONY: demo demo-detection demo-balance test mutants bench bench-ops clean sample-data readme-ops evidence

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
	$(BIN)/augcli preview sample_data/ --recipe $(RECIPE) --out out/demo/preview.png
	@echo "demo: outputs in out/demo/, manifest out/demo/manifest.jsonl, contact sheet out/demo/preview.png"
	@echo "demo: to run augcli yourself, first: . $(VENV)/bin/activate   (or call $(BIN)/augcli)"

# an annotated dataset (coins with YOLO boxes and palette masks, made byte-identically each time by
# scripts/make_sample_annotated.py): boxes and masks move with the pixels; the tree fits two
# layouts, so each run names one
demo-detection: $(VENV)/.installed
	$(BIN)/python scripts/make_sample_annotated.py out/sample_annotated
	$(BIN)/augcli expand out/sample_annotated/ out/detection/ --layout yolo --recipe recipes/detection.yaml --overwrite
	$(BIN)/augcli expand out/sample_annotated/ out/segmentation/ --layout masks --recipe recipes/detection.yaml --overwrite
	$(BIN)/augcli stats out/detection
	$(BIN)/augcli preview out/sample_annotated/ --layout yolo --recipe recipes/detection.yaml -n 4 -k 3 --out out/detection/preview.png
	$(BIN)/augcli preview out/sample_annotated/ --layout masks --recipe recipes/detection.yaml -n 4 -k 3 --out out/segmentation/preview.png
	@echo "demo-detection: YOLO tree in out/detection/ (labels/, data.yaml), masks in out/segmentation/; contact sheets preview.png in each"

# class balancing on an unbalanced copy of sample_data: cat 8, coffee 3, rocket 1 image(s)
demo-balance: $(VENV)/.installed
	rm -rf out/unbalanced && mkdir -p out/unbalanced/coffee out/unbalanced/rocket
	cp -r sample_data/cat out/unbalanced/
	cp sample_data/coffee/coffee_00[1-3].* out/unbalanced/coffee/
	cp sample_data/rocket/rocket_001.jpg out/unbalanced/rocket/
	$(BIN)/augcli expand out/unbalanced out/balanced --recipe recipes/balance.yaml --dry-run --overwrite
	$(BIN)/augcli expand out/unbalanced out/balanced --recipe recipes/balance.yaml --overwrite
	$(BIN)/augcli stats out/balanced

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q

# a mutation run (scripts/mutate.py): 4-5 minutes on 2 cores, not part of test or CI
mutants: $(VENV)/.installed-dev
	$(BIN)/python scripts/mutate.py

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $@ $(VENV)/.installed

# augcli vs the codec floor, albumentations and Augmentor (benchmarks/README.md)
bench: $(VENV)/.installed-bench
	$(BIN)/python benchmarks/run.py --preset small --preset grainy --reps 3 --memory --scaling --annotated

bench-ops: $(VENV)/.installed-bench
	$(BIN)/python benchmarks/ops.py

$(VENV)/.installed-evidence: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[evidence]'
	touch $@ $(VENV)/.installed

# the experiment of README "Is it worth it?": minutes on 2 cores, not part of test or CI
evidence: $(VENV)/.installed-evidence
	$(BIN)/python scripts/evidence.py

sample-data: $(VENV)/.installed
	$(BIN)/python scripts/make_sample_data.py

readme-ops: $(VENV)/.installed
	$(BIN)/python scripts/update_readme_ops.py

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis
