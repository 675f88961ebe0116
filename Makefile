# Two entry points for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt | cksum | cut -d' ' -f1)
STORE := data/store

PORT ?= 8501
ADDRESS ?= 127.0.0.1
# Debian packages the tests need: chromium (browser tests) and postgresql (the Optuna
# tests start a throwaway PostgreSQL server of their own; see tests/postgres.py).
DEBIAN_NEEDS = $(strip $(shell [ -x /usr/bin/chromium ] || echo chromium) \
	$(shell ls /usr/lib/postgresql/*/bin/initdb > /dev/null 2>&1 || echo postgresql))

.PHONY: setup run test test-fast lint bench clean-data system-deps

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# Adds every bundled sample the store lacks (new samples reach an existing store too).
$(STORE): $(STAMP) data/samples/samples.json
	$(BIN)/python -m lab.data.samples build
	touch $(STORE)

setup: $(STAMP) $(STORE)

run: setup
	@$(BIN)/python -c "import socket; s = socket.socket(); s.bind(('$(ADDRESS)', $(PORT)))" 2>/dev/null \
		|| { echo "Port $(PORT) is taken: choose another, e.g. make run PORT=$$(($(PORT) + 100))"; exit 1; }
	@echo "Serving the lab at http://$(ADDRESS):$(PORT)  (Ctrl-C stops it)"
	$(BIN)/streamlit run app.py --server.address $(ADDRESS) --server.port $(PORT)

lint: $(STAMP)
	$(BIN)/lint-imports

# Installs Debian's chromium and postgresql when they are missing (as root); otherwise
# prints the one command to run and stops.
system-deps:
	@need="$(DEBIAN_NEEDS)"; \
	if [ -n "$$need" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "make: installing Debian's $$need"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$need; \
	  else \
	    echo "make test needs Debian's $$need. Run:"; \
	    echo "    sudo apt-get install -y $$need"; \
	    echo "then make test again."; exit 1; \
	  fi; \
	fi

test: system-deps setup lint
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
