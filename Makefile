# `make demo` and `make test` work on a fresh clone: they create .venv when missing,
# install the locked toolkit dependencies and the project (with its dev extra) into it,
# then run the doit task of the same name.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

PREFETCH := .cache/prefetched

.PHONY: demo test bench install clean

demo: $(STAMP)
	$(BIN)/doit demo

test: $(STAMP) $(PREFETCH)
	$(BIN)/doit test

bench: $(STAMP)
	$(BIN)/doit bench

install: $(STAMP)

# setuptools' editable build warns once that a folder named like the package (tight/, the
# package itself here) could shadow it: in a checkout of Tight that is the point, so it is
# filtered by its text.
$(STAMP): setup.py pyproject.toml requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.txt
	PYTHONWARNINGS="ignore:Editable installation" \
	  $(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

# What the local-DynamoDB tests install offline: moto's wheels and dynalite's npm packages,
# fetched once from the registries so that the tests themselves need no network. Without
# npm, the dynalite tests are skipped (they say why) and everything else runs.
$(PREFETCH): $(STAMP)
	mkdir -p .cache
	$(BIN)/python -m pip download --quiet --disable-pip-version-check -d .cache/wheels-dynamo "moto[server]>=5,<6"
	if command -v npm >/dev/null; then \
		npm install --silent --no-audit --no-fund --prefix .cache/npm-prefill --cache .cache/npm dynalite@4; \
	else \
		echo "npm not found: the dynalite tests will be skipped (install Node.js to run them)"; \
	fi
	touch $@

clean:
	rm -rf $(VENV) .cache .doit.db* build *.egg-info .mypy_cache .ruff_cache .pytest_cache
