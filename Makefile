# The two commands a new user needs:  make run   and   make test
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: venv run test lint migrations-check bench

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# Installs, migrates the embedded SQLite database, seeds demo data, prints the demo key, serves on localhost.
run: venv
	DJANGO_DEBUG=1 $(PY) manage.py migrate --noinput
	DJANGO_DEBUG=1 $(PY) manage.py seed_demo --admin-user
	DJANGO_DEBUG=1 $(PY) manage.py runserver 127.0.0.1:$(PORT)

# Installs and runs the suite (SQLite by default; PostgreSQL when DATABASE_URL=postgres://...).
test: venv
	$(PY) -m ruff check .
	$(PY) -m pytest

# Real migrations on a fresh database, and no model change without its migration.
migrations-check: venv
	DJANGO_DEBUG=1 $(PY) manage.py makemigrations --check --dry-run
	DJANGO_DEBUG=1 $(PY) manage.py migrate --noinput

# All benchmarks in one run against gunicorn on PostgreSQL (~15-20 min with the bench databases loaded;
# the first run loads them). Writes docs/benchmarks.md and docs/benchmarks.json. See docs/benchmarks.md.
bench: venv
	$(PY) bench/run_all.py --reuse
