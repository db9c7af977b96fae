# The two commands: `make run` (portal with demo data and an indexer) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
STAMP  := $(VENV)/.installed
CATALOGS := $(patsubst %.po,%.mo,$(wildcard portal/translations/*/LC_MESSAGES/messages.po))

.PHONY: install opensearch-node run test bench clean

$(STAMP): pyproject.toml package.json package-lock.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

portal/translations/%/LC_MESSAGES/messages.mo: portal/translations/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile -i $< -o $@

install: $(STAMP) $(CATALOGS)

# The OpenSearch node the search tests run against (tests/opensearch, from Maven Central),
# built once when Java and Maven are here; without them those tests skip (fail under CI).
opensearch-node: $(STAMP)
	@if command -v java >/dev/null && command -v mvn >/dev/null; then \
		$(BIN)/python -c 'from tests.opensearch_node import ensure_launcher; ensure_launcher()'; \
	else echo "java or mvn not found: the OpenSearch tests will be skipped (see README)"; fi

# Plain HTTP on loopback, so the session cookie cannot be marked Secure here.
run: export PORTAL_SECURE_COOKIES ?= 0
run: install
	$(BIN)/portal db upgrade
	$(BIN)/portal demo --if-empty
	@echo "Aftaleportalen: http://127.0.0.1:$(PORT)  (log-ins: see README.md or the list above; Ctrl-C stops it)"
	exec env PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho -f Procfile start --no-colour --port $(PORT)

# Lint first (ruff; dead code is a test), then the suite.
test: install opensearch-node
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Benchmarks print ratios against a baseline run in the same process. BENCH picks some:
# `make bench BENCH=load` (the 10-minute load run needs PostgreSQL on 127.0.0.1:5432).
BENCH ?= extract search load
bench: install
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	status=0; for b in $(BENCH); do $(BIN)/python bench/$$b.py || status=1; done; exit $$status

clean:
	rm -rf $(VENV) node_modules instance .pytest_cache tests/opensearch/target
