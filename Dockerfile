FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# collectstatic with DEBUG off, so whitenoise's CompressedManifestStaticFilesStorage writes hashed names and
# gzip copies. The two variables are placeholders for this build step only; the runtime ones come from `docker run`.
RUN DJANGO_SECRET_KEY=collectstatic-at-build-time-only DJANGO_ALLOWED_HOSTS=build \
    python manage.py collectstatic --noinput \
    && chmod 0755 /app/docker-entrypoint.sh \
    && useradd --create-home --uid 10001 dataxpipe \
    && mkdir -p /app/var && chown -R dataxpipe /app/var

USER dataxpipe
EXPOSE 8000
# Set DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS and DATABASE_URL at run time. Before a new version serves, run its
# release step once: `docker run ... dataxpipe-catalog release` (or DATAXPIPE_MIGRATE_ON_START=1 on a single
# instance). Until then /ready answers 503 "migrations pending". See README.md, "Production".
ENTRYPOINT ["/app/docker-entrypoint.sh"]
CMD ["serve"]
# Liveness through the probe that answers any Host header (the container's own 127.0.0.1 included).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 CMD ["/app/docker-entrypoint.sh", "healthcheck"]
