# Two entry points for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt | cksum | cut -d' ' -f1)
STORE := data/store

.PHONY: setup run test test-fast lint bench clean-data

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

$(STORE): $(STAMP)
	$(BIN)/python -m lab datasets > /dev/null

setup: $(STAMP) $(STORE)

run: setup
	$(BIN)/streamlit run app.py --server.address 127.0.0.1 --server.port 8501

lint: $(STAMP)
	$(BIN)/lint-imports

test: setup lint
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

test-fast: setup
	$(BIN)/python -m pytest -n 2 -q -m "not e2e"

bench: setup
	$(BIN)/python benchmarks/backtest_speed.py
	$(BIN)/python benchmarks/engines.py
	$(BIN)/python benchmarks/page_latency.py

clean-data:
	rm -rf data/store data/catalog.duckdb

# MLflow UI on the local run store (<data>/mlflow, the one lab.tracking writes).
MLFLOW_DIR = $(abspath $(or $(LAB_DATA_DIR),data))/mlflow
.PHONY: mlflow
mlflow: $(STAMP)
	mkdir -p $(MLFLOW_DIR)/artifacts
	$(BIN)/mlflow server --backend-store-uri sqlite:///$(MLFLOW_DIR)/mlflow.db \
		--artifacts-destination $(MLFLOW_DIR)/artifacts --host 127.0.0.1 --port 5000 --workers 1
