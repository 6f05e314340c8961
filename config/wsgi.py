import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

from django.conf import settings  # noqa: E402 (configured by get_wsgi_application)

if not settings.CELERY_BROKER_URL:
    # The embedded mode (gunicorn or `make run` without a broker): this process (one per box, see
    # config/embedded_beat.py) runs the periodic work, once at start for what a restart left queued.
    from config import embedded_beat

    embedded_beat.start(run_now=True)
