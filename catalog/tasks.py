"""Celery tasks of the catalog (beat: config/settings.py CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from catalog.late_detection import detect_late_pipelines


@shared_task(name="catalog.detect_late_pipelines")
def detect_late_pipelines_task() -> dict:
    summary = detect_late_pipelines()
    return {"judged": summary.judged, "became_late": summary.became_late, "cleared": summary.cleared}
