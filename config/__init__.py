# `celery -A config` finds the application here; importing it opens no connection.
from config.celery import app as celery_app

__all__ = ["celery_app"]
