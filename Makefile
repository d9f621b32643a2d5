# zhaoshang — every command a developer or CI needs. `make` sets up .venv on first use.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
API := zhaoshang/api/zhaoshang_pb2.py
# checkov pins packaging<24, older than pytest allows: it gets a venv of its own.
CHECKOV := $(VENV)/checkov/bin/checkov
NAME ?=

.PHONY: all install run test lint unit integration e2e bench clean

all: install

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip "setuptools<81" wheel
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

$(API): $(STAMP) proto/zhaoshang/v1/*.proto tools/codegen.py
	$(PY) -m tools.codegen

$(CHECKOV): deploy/checkov-requirements.txt
	$(PYTHON) -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/pip install --quiet --no-deps -r $<

install: $(STAMP) $(API) $(CHECKOV)

run: install
	$(PY) -m tools.run $(ARGS)

lint: install
	$(VENV)/bin/ruff check services zhaoshang tools tests bench
	$(VENV)/bin/ruff format --check services zhaoshang tools tests bench
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

test: lint
	$(PY) -m pytest tests

unit: install
	$(PY) -m pytest tests/unit

integration: install
	$(PY) -m pytest tests/integration

e2e: install
	$(PY) -m pytest tests/e2e

bench: install
	$(PY) -m bench $(if $(NAME),--name $(NAME),)

clean:
	rm -rf $(VENV) var zhaoshang/api
