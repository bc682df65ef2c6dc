# ingest: one worker per container. Build: docker build -t ingest .  Run several against PostgreSQL
# with docker-compose.yml (docker compose up --scale worker=4).

# Build the wheels in a throwaway stage: the runtime image gets no pip cache and no build files.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY ingest ingest
COPY storage storage
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    INGEST_DAEMON__HTTP_LISTEN=0.0.0.0:9108
RUN useradd --system --uid 10001 --user-group --home-dir /app --create-home ingest
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
WORKDIR /app
# The default config (SQLite under data/, the seeds directory); compose points it at PostgreSQL
# with INGEST_DATABASE_URL and mounts the operator's own config/ over this one.
COPY --chown=ingest:ingest config config
COPY --chown=ingest:ingest seeds seeds
RUN install -d -o ingest -g ingest /app/data
USER ingest
EXPOSE 9108
# Liveness from the daemon's own listener; the image has no curl, Python does the request.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request as r; r.urlopen('http://127.0.0.1:9108/healthz', timeout=4)"]
# SIGTERM: the daemon stops claiming, finishes or releases its work within daemon.shutdown_grace.
STOPSIGNAL SIGTERM
CMD ["ingest", "daemon"]
