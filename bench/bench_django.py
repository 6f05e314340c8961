"""Django set up for a bench script run as `python bench/NAME.py`: the repository on the import path,
bench-only settings where the environment gives none (DATABASE_URL is the caller's), metrics off."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key")
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
    os.environ.setdefault("METRICS_ENABLED", "0")

    import django

    django.setup()
