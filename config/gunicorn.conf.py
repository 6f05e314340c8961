"""gunicorn settings; every value can be overridden with GUNICORN_* environment variables."""

import gc
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
# A request stuck longer than this (a hung warehouse, a dead database) frees its worker.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = 500
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
# The access log never records query strings' secrets: headers are not logged, and keys travel in headers.
# The one header logged is our own response's X-Request-ID, which ties the line to the application's log lines.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms %({x-request-id}o)s'
wsgi_app = "config.wsgi:application"

# gunicorn's control socket (`gunicornc`: scale workers, reload, shut down) defaults to ONE path per
# user ($XDG_RUNTIME_DIR/gunicorn.ctl or ~/.gunicorn/gunicorn.ctl): a second instance on the host
# unlinks the first's socket and takes it over, so commands meant for one instance reach another,
# and stopping either removes the other's. Off unless GUNICORN_CONTROL_SOCKET names this instance's
# own path (owner-only, 0600).
_control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "").strip()
if _control_socket:
    control_socket = _control_socket
    control_socket_mode = 0o600
else:
    control_socket_disable = True


def post_worker_init(worker):
    """The loaded application's objects (modules, classes, URL patterns: ~200,000) leave the garbage
    collector's view: they live as long as the worker, yet every full collection walked them all,
    hundreds of milliseconds on a busy 2-vCPU host, landing on whichever request allocated past the
    threshold (a 500-event batch allocates enough to trigger one every other request)."""
    gc.freeze()
