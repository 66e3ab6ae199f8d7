# Two entry points for a fresh clone: `make demo` and `make test` (see README.md).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint install system-deps browser-deps messages

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP) system-deps

system-deps:
	@sh scripts/system-deps.sh

browser-deps:
	@sh scripts/browser-deps.sh

# Re-extract page text after changing templates, then update every language's catalog.
messages: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg --no-location --sort-output -o idsvc/web/locale/messages.pot .
	$(PY) -m idsvc.web.catalogs update

demo: install
	$(VENV)/bin/idsvc demo

lint: $(STAMP)
	$(VENV)/bin/ruff check idsvc tests bench

test: install browser-deps
	@sh scripts/ensure-postgres.sh
	$(VENV)/bin/ruff check idsvc tests bench
	$(PY) -m pytest $(PYTEST_ARGS)
