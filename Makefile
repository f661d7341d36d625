# The few verbs users type. `make book` and `make test` work on a fresh clone: they create the
# virtual environment from requirements.lock first (about a minute, once).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: help env book pdf book-clean lectures slides test lint lock clean

help:  ## list the verbs
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/'

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	@bash scripts/system-deps.sh
	touch $(STAMP)

env: $(STAMP)  ## create the virtual environment (.venv) and install system packages

book: $(STAMP)  ## build the executed book into _build/html (warnings are errors), PDF included
	$(BIN)/jupyter-book build . --builder html -W -n --keep-going
	$(BIN)/python scripts/pdf.py

pdf: $(STAMP)  ## the whole book as one PDF, _build/html/optbook.pdf (printed by Chromium)
	$(BIN)/python scripts/pdf.py

lectures: $(STAMP)  ## executed instructor notebooks (page + exercise with solutions) in _build/lectures
	$(BIN)/python scripts/lectures.py

slides: $(STAMP)  ## the lecture notebooks plus reveal.js slide decks in _build/lectures
	$(BIN)/python scripts/lectures.py --slides

book-clean:  ## drop the built book, its execution cache and the released student notebooks
	rm -rf _build/html _build/singlehtml _build/.jupyter_cache _build/jupyter_execute book/_generated

test: $(STAMP)  ## run the whole test suite (includes building the book)
	$(BIN)/python -m pytest

lint: $(STAMP)  ## ruff over the Python code
	$(BIN)/ruff check .

lock:  ## re-pin requirements.lock from the current environment
	$(BIN)/pip freeze --exclude-editable | grep -v '^optbook' > requirements.lock

clean:  ## remove the environment and all build outputs
	rm -rf $(VENV) _build
