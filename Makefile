# Two commands on a fresh machine: `make demo` (render the sample plates) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[ui,dask,otio,flip,dev,blender]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/hdr-plugin render samples/plates/pan.####.png -o renders/sample/pan.####.exr

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py
	$(BIN)/python benchmarks/bench_batch.py
	$(BIN)/python benchmarks/bench_cost.py

clean:
	rm -rf $(VENV) renders bench_results
