# syntax=docker/dockerfile:1
# One-shot exporter: checkpoint -> model_repository/lama/<version>/model.onnx, and the
# watermark detector models (`[detect]`: the PP-OCR text net comes from its wheel).
# Used by the `export` service of docker-compose.yml; runs on CPU, so it installs the
# CPU-only torch wheel (about 5x smaller than the CUDA one) before the package.
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Same version as the `export` extra in pyproject.toml; `torch==2.13.0` accepts the
# installed 2.13.0+cpu, so the next step does not pull the CUDA wheel from PyPI.
ARG TORCH_VERSION=2.13.0
RUN pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu "torch==${TORCH_VERSION}"

RUN --mount=type=bind,target=/src,rw \
    pip install --no-cache-dir "/src[export,detect]" \
 && install -m 0755 /src/deploy/export-model.sh /usr/local/bin/export-model

# The compose service overrides the uid with the checkout owner's (LAMA_UID); this is
# the non-root default for any other use.
RUN groupadd --system --gid 10001 lama \
 && useradd --system --uid 10001 --gid lama --no-create-home --shell /usr/sbin/nologin lama
USER lama

CMD ["export-model"]
