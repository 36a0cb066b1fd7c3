# `make demo` and `make test` work on a fresh clone: they create .venv when missing,
# install the locked toolkit dependencies and the project (with its dev extra) into it,
# then run the doit task of the same name.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench install clean

demo: $(STAMP)
	$(BIN)/doit demo

test: $(STAMP)
	$(BIN)/doit test

bench: $(STAMP)
	$(BIN)/doit bench

install: $(STAMP)

$(STAMP): setup.py pyproject.toml requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

clean:
	rm -rf $(VENV) .doit.db* build *.egg-info .mypy_cache .ruff_cache .pytest_cache
