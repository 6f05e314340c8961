#!/bin/sh
# The image's entry point. Usage: docker run [options] dataxpipe-catalog [COMMAND [ARGS...]]
#   serve (the default)   check the configuration, then gunicorn (config/gunicorn.conf.py);
#                         DATAXPIPE_MIGRATE_ON_START=1 applies pending migrations first (one instance only)
#   release               apply pending migrations: the release step, once per deploy, before the new version serves
#   healthcheck           exit 0 when this container's gunicorn answers /health (the Dockerfile's HEALTHCHECK)
#   anything else         run as given: python manage.py create_org acme --admin-key first-admin, sh, ...
set -eu
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python}"

case "${1:-serve}" in
  serve)
    [ "$#" -gt 0 ] && shift
    # A missing variable is one clear line here (config/command_line.py), not a worker traceback per boot.
    "$PYTHON" manage.py check --fail-level ERROR >/dev/null
    if [ "${DATAXPIPE_MIGRATE_ON_START:-0}" = "1" ]; then
      echo "DATAXPIPE_MIGRATE_ON_START=1: applying pending migrations before serving."
      "$PYTHON" manage.py migrate --noinput
    fi
    exec "$PYTHON" -m gunicorn -c config/gunicorn.conf.py "$@"
    ;;
  release)
    shift
    exec "$PYTHON" manage.py migrate --noinput "$@"
    ;;
  healthcheck)
    exec "$PYTHON" -c '
import os, sys, urllib.request
port = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000").rsplit(":", 1)[-1]
try:
    urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=4)
except Exception as exc:
    sys.exit(f"unhealthy: {exc}")
'
    ;;
  *)
    exec "$@"
    ;;
esac
