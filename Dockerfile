# One image for web, worker, beat and (dev profile) pvesim.

FROM node:20-bookworm-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY scripts/vendor-assets.sh scripts/
RUN scripts/vendor-assets.sh

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_PROJECT_ENVIRONMENT=/venv \
    PATH=/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=portal.settings.production \
    PORTAL_DATA_DIR=/var/lib/portal
RUN pip install --no-cache-dir "uv>=0.9,<0.14" \
    && useradd --system --home-dir /app --shell /usr/sbin/nologin portal \
    && mkdir -p /var/lib/portal && chown portal /var/lib/portal
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-cache
COPY . .
COPY --from=assets /src/static/vendor static/vendor
# Static files are collected at build time; these values exist only for this step.
RUN DJANGO_SECRET_KEY=build-only-$(head -c 48 /dev/urandom | base64 | tr -d '\n') \
    DJANGO_ALLOWED_HOSTS=build DATABASE_URL=postgres://build/build REDIS_URL=redis://build \
    python manage.py collectstatic --no-input --verbosity 0
USER portal
EXPOSE 8000
CMD ["sh", "-c", "exec uvicorn portal.asgi:application --host 0.0.0.0 --port 8000 --proxy-headers --forwarded-allow-ips='*' --workers ${WEB_CONCURRENCY:-2}"]
