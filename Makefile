# Two commands do all the set-up on a fresh machine with Python 3.11:
#   make demo   builds .venv and runs the main job (examples/demo.py)
#   make test   builds .venv if missing and runs the test suite
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: demo layer-demo test bench clean

$(BIN)/activate-stamp: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,notebooks]'
	$(BIN)/python -m translate.toolkit --install
	touch $@

# make demo [DEMO_MINUTES=20] [LANG_PAIR=en-de | CORPUS=path.tsv] [DEMO_DIR=runs/demo]
DEMO_MINUTES ?= 20
LANG_PAIR ?= en-de
DEMO_DIR ?= runs/demo
demo: $(BIN)/activate-stamp
	$(BIN)/python examples/demo.py --out $(DEMO_DIR) --minutes $(DEMO_MINUTES) \
		$(if $(CORPUS),--tsv $(CORPUS),--lang $(lastword $(subst -, ,$(LANG_PAIR))))

layer-demo: $(BIN)/activate-stamp
	$(BIN)/python benchmarks/gru_demo.py

# make test [TEST_WORKERS=2]: the suite in that many processes (pytest-xdist;
# 1 runs it in this one). Half a test's time is starting Python and
# TensorFlow in the commands it runs, so two processes keep two cores busy.
TEST_WORKERS ?= 2
test: $(BIN)/activate-stamp
	$(BIN)/python -m pytest $(if $(filter-out 1,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist worksteal)

bench: $(BIN)/activate-stamp
	$(BIN)/python benchmarks/gru_layer.py

clean:
	rm -rf $(VENV) .pytest_cache
