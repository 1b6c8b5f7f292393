# The two commands of the README: `make run` and `make test`. Both bootstrap .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint typecheck bench bench-analytics profile format clean screenshots messages

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/oppflow serve --demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest -n auto --durations=10

# One sequential client per operation beside the bare FastAPI app (api.py), a stage move's SQL
# replayed by the driver alone in that app (move_floor.py), concurrent clients
# on 1 and 2 workers (load.py), webhook delivery by 1 and 2 workers (webhooks.py), quotes and
# their documents (quotes.py, quote_documents.py), the Dataverse face (dataverse.py), and the
# import of a CSV of opportunities beside a raw executemany or COPY of its rows (imports.py).
# The import's file size: issue 12 sets its target at 1,000,000 rows (about 45 min on both
# databases at today's rates); `make bench IMPORT_ROWS=100000` for a shorter run.
IMPORT_ROWS ?= 1000000
bench: $(STAMP)
	$(BIN)/python bench/api.py
	$(BIN)/python bench/move_floor.py
	$(BIN)/python bench/load.py
	$(BIN)/python bench/webhooks.py
	$(BIN)/python bench/quotes.py
	$(BIN)/python bench/quote_documents.py
	$(BIN)/python bench/dataverse.py
	$(BIN)/python bench/imports.py --rows $(IMPORT_ROWS)

# Every report at 1M opportunities (SQLite) and 10M (PostgreSQL) beside the raw GROUP BY, and the
# dashboard's and board's page times; the data sets are generated once, then reused.
bench-analytics: $(STAMP)
	$(BIN)/python bench/analytics.py

# Where a served app spends its time on stage moves, creates and list pages (bench/profiles/).
profile: $(STAMP)
	$(BIN)/python bench/profiling.py

# PNGs of the dashboard, the board and an opportunity (English and French) for the README;
# needs Debian's chromium at /usr/bin/chromium.
screenshots: $(STAMP)
	$(BIN)/python docs/screenshots/take.py

# Extract the web pages' messages, merge them into the catalogs, compile the .mo files.
messages: $(STAMP)
	$(BIN)/pybabel -q extract -F babel.cfg -k N_ -k NP_:1c,2 --no-location --sort-output \
		--project oppflow --copyright-holder oppflow -o src/oppflow/locale/messages.pot .
	$(BIN)/pybabel -q update -i src/oppflow/locale/messages.pot -d src/oppflow/locale -D messages \
		--no-fuzzy-matching
	$(BIN)/pybabel -q compile -d src/oppflow/locale -D messages

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
