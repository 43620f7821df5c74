# syntax=docker/dockerfile:1
# The mnist-e2e images, both from this file:
#   default (the last stage; `docker build .`): every step of the pipeline and the web UI
#     train:    python -m model.train ...         (the pipeline's train component)
#     deploy:   python -m pipeline.deploy serve|web-ui ...
#     web UI:   python -m web_ui --host 0.0.0.0 --port 5000   (the default command)
#   web-ui (`docker build --target web-ui .`): the web UI alone, without TensorFlow; the same
#     command, code and pins, a fraction of the size (requirements/web-ui.txt).
# TF Serving itself runs the official tensorflow/serving image (manifests/base/tf-serving.yaml).
#
# Base: Python 3.11 (the project's) on Debian bookworm slim, pinned by digest so a rebuild
# gets the same layers; the tag is kept for humans. Renovate/dependabot can bump both.
# With no registry, `tox -e airgap` passes a local bookworm base with Debian's Python 3.11.
ARG BASE_IMAGE=python:3.11-slim-bookworm@sha256:2e32f7d302adc1c37428355c1e646897c0c53f4fd60b6a551245fb90ee129f91
FROM ${BASE_IMAGE} AS base

LABEL org.opencontainers.image.title="mnist-e2e" \
      org.opencontainers.image.description="Kubeflow MNIST e2e: trainer, deploy steps and web UI" \
      org.opencontainers.image.licenses="Apache-2.0"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONPATH=/app \
    HOME=/tmp

# A fixed non-root user (uid = gid = 10001, as the manifests' runAsUser).
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid 10001 --home-dir /tmp --no-create-home \
       --shell /usr/sbin/nologin app

WORKDIR /app


# -- web-ui: Flask, gRPC and the repo's TF Serving protos; no TensorFlow ---------------------
FROM base AS web-ui

# The lock's closure of what the web UI imports, --no-deps as below; pip check proves it whole.
COPY requirements/web-ui.txt /tmp/web-ui-requirements.txt
RUN pip install --no-cache-dir --no-deps -r /tmp/web-ui-requirements.txt \
    && pip check \
    && rm /tmp/web-ui-requirements.txt

# model/ for its contract and the shipped test digits; nothing here imports its TensorFlow code.
COPY model/ model/
COPY tf_serving_api/ tf_serving_api/
COPY web_ui/ web_ui/

USER 10001:10001
EXPOSE 5000
CMD ["python", "-m", "web_ui", "--host", "0.0.0.0", "--port", "5000"]


# -- default: every step and the web UI ------------------------------------------------------
FROM base AS mnist-e2e

# Runtime dependencies only: the lock's closure of what the image runs, every pin exact and
# --no-deps so nothing unpinned sneaks in; pip check proves the set is complete.
COPY requirements/image.txt /tmp/image-requirements.txt
RUN pip install --no-cache-dir --no-deps -r /tmp/image-requirements.txt \
    && pip check \
    && rm /tmp/image-requirements.txt

# KFP's launcher writes input artifacts under /gcs, /minio and /s3; older backends mount no
# scratch volume there, so the directories exist and belong to the image's user.
RUN mkdir -p /gcs /minio /s3 \
    && chown 10001:10001 /gcs /minio /s3

# The code, owned by root and read-only to the user: the programs cannot rewrite themselves.
# manifests/ ships because the deploy steps apply manifests/rendered/ (there is no kubectl);
# kubekit/ is the Kubernetes toolkit the deploy steps talk to the API server through.
COPY kubekit/ kubekit/
COPY model/ model/
COPY pipeline/ pipeline/
COPY serving/ serving/
COPY tf_serving_api/ tf_serving_api/
COPY web_ui/ web_ui/
COPY manifests/ manifests/

USER 10001:10001
EXPOSE 5000
CMD ["python", "-m", "web_ui", "--host", "0.0.0.0", "--port", "5000"]
