# syntax=docker/dockerfile:1
# The gateway image: FastAPI app only. No torch, no Triton: inference runs in the Triton
# container (docker-compose.yml, deploy/k8s/). Build from the repository root:
#   docker build -f deploy/gateway.Dockerfile -t lama-serve-gateway:0.1.0 .
# deploy/gateway.Dockerfile.dockerignore keeps the context to the package sources.
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GATEWAY_HOST=0.0.0.0 \
    GATEWAY_PORT=8080 \
    STATS_DB_PATH=/data/gateway_stats.sqlite3

# Fixed uid so Kubernetes' runAsUser and volume ownership can name it.
RUN groupadd --system --gid 10001 lama \
 && useradd --system --uid 10001 --gid lama --no-create-home --shell /usr/sbin/nologin lama \
 && mkdir /data && chown lama:lama /data

# The project's base dependencies exclude torch (it is only in the `export` extra).
# The sources are bind-mounted for the install only, so they add no layer.
RUN --mount=type=bind,target=/src,rw \
    pip install --no-cache-dir /src

# /data holds the usage-stats SQLite file (STATS_DB_PATH); a named volume mounted here
# inherits the lama ownership.
VOLUME ["/data"]
USER lama
EXPOSE 8080

# python instead of curl: the slim image has no curl. 503 (Triton not ready) fails it.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/api/v1/health' % os.environ.get('GATEWAY_PORT', '8080'), timeout=3)"]

# sh -c so that GATEWAY_HOST/GATEWAY_PORT (the gateway's settings) pick the bind address;
# python runs uvicorn as PID 1 so it receives SIGTERM and drains.
# Connection limits (keep-alive, max connections, header size) come from Settings.
CMD ["python", "-m", "lama_serve.gateway.serve"]
