# Two commands for a newcomer:  `make demo`  and  `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATA ?= data/synthetic

.PHONY: setup demo test data notebooks clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(VENV)/.installed: requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $@

setup: $(VENV)/.installed

# The main job: the app on http://127.0.0.1:7860 with the shipped checkpoints. The ICT face model (for the
# face-model prior and the photo tab) is fetched once if it can be; without it the app runs the CoarseNets alone.
demo: setup
	-$(BIN)/python -m sketchface fetch-face-model --if-missing
	$(BIN)/python app.py

# The synthetic training world: fetch the face model if needed, render a small set, write a contact sheet.
data: setup
	$(BIN)/python -m sketchface fetch-face-model --if-missing
	$(BIN)/python -m sketchface make-data --out $(DATA) --n 200 --size 256
	$(BIN)/python -m sketchface preview-data $(DATA) --out $(DATA)/sheet.png
	@echo "open $(DATA)/sheet.png"

test: setup
	$(BIN)/python -m ruff check .
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

# Re-execute every notebook top to bottom (CPU: the lite preset, minutes each) and keep the outputs.
notebooks: setup
	$(BIN)/python scripts/notebooks.py --execute all

clean:
	rm -rf $(VENV) .pytest_cache
