# syntax=docker/dockerfile:1
# Triton for docker-compose.yml and deploy/k8s/: NVIDIA's image plus the tiny preload
# library (lama_serve/triton/secret_argv.c) that keeps the admin key off tritonserver's
# command line, which every user of the host can read. Nothing else changes. Build from
# the repository root:
#   docker build -f deploy/triton.Dockerfile -t lama-serve-triton:0.1.0 .

# Same Ubuntu (22.04, glibc 2.35) as the NGC 24.10 image, so the library links against it.
FROM ubuntu:22.04 AS shim
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
COPY lama_serve/triton/secret_argv.c /src/secret_argv.c
RUN cc -shared -fPIC -O2 -o /libsecret_argv.so /src/secret_argv.c

FROM nvcr.io/nvidia/tritonserver:24.10-py3
# The command (docker-compose.yml, k8s/base/triton.yaml) preloads it with the key from the
# mounted secret in LAMA_TRITON_SECRET; it swaps the key for @LAMA_TRITON_SECRET@ in argv
# before main() and removes both variables, so backend stubs inherit neither.
COPY --from=shim /libsecret_argv.so /opt/lama/libsecret_argv.so
