# HookSentry Gateway: a slim, non-root image configured only by HOOKSENTRY_* environment variables.
#
#   docker build -t hooksentry-gateway .
#   docker run -e HOOKSENTRY_DATABASE_URL=... -e HOOKSENTRY_REDIS_URL=... \
#              -e HOOKSENTRY_JWT_SECRET=... -e HOOKSENTRY_INGEST_UPSTREAM=... -p 8080:8080 hooksentry-gateway
#
# The code reads config/default.toml and sql/ next to its packages, so the source lives in /app and
# is installed in editable mode into a virtualenv: the same paths in the builder and at run time.

# --- builder: dependencies and the package, into /opt/venv ---------------------------------------
FROM python:3.11-slim AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app

# Dependencies first, from pyproject.toml alone: this layer is reused until they change.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt

COPY config ./config
COPY sql ./sql
COPY gateway ./gateway
COPY admin_api ./admin_api
RUN pip install --no-deps -e /app \
 && python -m compileall -q /app/gateway /app/admin_api

# --- runtime -------------------------------------------------------------------------------------
FROM python:3.11-slim AS runtime

RUN groupadd --system --gid 10001 hooksentry \
 && useradd --system --uid 10001 --gid hooksentry --no-create-home --home-dir /app \
            --shell /usr/sbin/nologin hooksentry

COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /app /app

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOOKSENTRY_HOST=0.0.0.0 \
    HOOKSENTRY_PORT=8080 \
    HOOKSENTRY_LOG_FORMAT=json \
    HOOKSENTRY_DATA_DIR=/tmp/hooksentry

WORKDIR /app
USER 10001:10001
EXPOSE 8080
STOPSIGNAL SIGTERM

# /healthz answers while the process runs; readiness (/readyz) is for the load balancer.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('HOOKSENTRY_PORT', '8080'), timeout=2)"]

CMD ["hooksentry-gateway", "serve"]
