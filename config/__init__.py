# `celery -A config` finds the application here, and tasks sent by web processes use it; importing it opens
# no connection. A Python without the project's packages gets manage.py's pointer to the virtualenv instead.
try:
    from config.celery import app as celery_app
except ModuleNotFoundError as missing:
    if missing.name != "celery":  # only the absent package; a broken import inside the setup must show
        raise
    celery_app = None

__all__ = ["celery_app"]
