FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
RUN DJANGO_DEBUG=1 python manage.py collectstatic --noinput \
    && useradd --create-home --uid 10001 dataxpipe \
    && mkdir -p /app/var && chown -R dataxpipe /app/var

USER dataxpipe
EXPOSE 8000
# Set DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS and DATABASE_URL at run time; run migrations as a release step:
#   docker run ... python manage.py migrate
CMD ["gunicorn", "-c", "config/gunicorn.conf.py"]
