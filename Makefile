# make demo  — the main job (creates .venv on first use): thomson compare on MNIST-1D, results in results/demo
# make readme-demo — make demo, then paste its table (results/demo/table.txt) into README.md's demo section
# make test  — every check: ruff, mypy, pytest
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
LINTED := $(wildcard src tests examples benchmarks)

.PHONY: demo readme-demo test lint typecheck pytest clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/thomson compare --config configs/mnist1d-demo.toml --out results/demo

readme-demo: demo
	$(BIN)/python benchmarks/paste_between_markers.py README.md demo-table results/demo/table.txt --fence
	cp results/demo/energy_curves.png docs/images/demo-energy-curves.png

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q -n 2 --dist loadfile

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
