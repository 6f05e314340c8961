# The two commands a new user needs:  make run   and   make test
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000

# Test processes: pytest-xdist workers, one test database each (pytest-django names them test_<db>_gw<N>).
# 2 = the cores of the team's machines and CI's (`auto` picks the same there); see README "Tests".
TEST_WORKERS ?= 2
PG_URL ?= postgres://postgres@127.0.0.1:5432/dataxpipe

.PHONY: venv run test test-pg lint migrations-check bench

# Two stamps: `make run` needs the runtime requirements only; `make test` (through `venv`) adds the tools.
RUNTIME_STAMP := $(VENV)/.runtime-installed

venv: $(VENV)/.installed

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@ $(RUNTIME_STAMP)

# Runtime requirements only; one command builds (or migrates) the embedded SQLite database (prepare_database),
# seeds demo data and prints the demo key (seed_demo --admin-user), and serves on localhost (runserver).
run: $(RUNTIME_STAMP)
	DJANGO_DEBUG=1 $(PY) manage.py run_demo 127.0.0.1:$(PORT)

# Installs and runs the suite in parallel (SQLite by default; PostgreSQL when DATABASE_URL=postgres://...).
# TEST_WORKERS=0 runs it in one process. The code must be ruff-formatted (`ruff format .` fixes it), and
# the apps must keep their layering (`lint-imports`: the contracts in pyproject.toml, docs/architecture.md).
test: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -n $(TEST_WORKERS)

# The PostgreSQL suite on this machine: starts the server if it is not answering (as .ci/run does),
# then `make test` against DATABASE_URL (default: the dataxpipe database on 127.0.0.1).
test-pg: venv
	@pg_isready -h 127.0.0.1 -p 5432 -q || { \
	  echo "PostgreSQL is not answering; starting it."; \
	  pg_ctlcluster --skip-systemctl-redirect "$$(ls /etc/postgresql | head -n 1)" main start; \
	  for _ in $$(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done; }
	@pg_isready -h 127.0.0.1 -p 5432
	DATABASE_URL="$${DATABASE_URL:-$(PG_URL)}" $(MAKE) --no-print-directory test

# Real migrations on a fresh database, and no model change without its migration.
migrations-check: venv
	DJANGO_DEBUG=1 $(PY) manage.py makemigrations --check --dry-run
	DJANGO_DEBUG=1 $(PY) manage.py migrate --noinput

# All benchmarks in one run against gunicorn on PostgreSQL (~15-20 min with the bench databases loaded;
# the first run loads them). Writes docs/benchmarks.md and docs/benchmarks.json. See docs/benchmarks.md.
bench: venv
	$(PY) bench/run_all.py --reuse
