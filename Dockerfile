# syntax=docker/dockerfile:1
#
# Neutone's service images: one file, one target per process. From the repository root:
#
#   docker build --target usersvc        -t <registry>/neutone-usersvc:<version> .
#   docker build --target billingsvc     -t <registry>/neutone-billingsvc:<version> .
#   docker build --target songsvc        -t <registry>/neutone-songsvc:<version> .
#   docker build --target songsvc-worker -t <registry>/neutone-songsvc-worker:<version> .
#   docker build --target gateway        -t <registry>/neutone-gateway:<version> .
#   docker build --target migrations     -t <registry>/neutone-migrations:<version> .
#
# The model tier (Triton with torch, transformers and diffusers) has its own image:
# triton/Dockerfile. helm/neutone deploys all of them (README.md, "Kubernetes (Helm)").

# Pin these by digest in a release build (--build-arg PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:...).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG NODE_IMAGE=node:22-bookworm-slim

# ---- build: the services' virtual environment and code ------------------------------------
FROM ${PYTHON_IMAGE} AS python-build

# pyproject.toml is the one list of pins. The engines share the project, so it also lists the
# model stack; the services import none of it (tests/helm checks that), so it stays out of
# these images.
ARG MODEL_ONLY_PACKAGES="torch transformers diffusers accelerate huggingface-hub pillow soxr grpcio-tools"

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /opt/neutone/app
COPY pyproject.toml ./
RUN python -m venv /opt/neutone/venv \
    && python -c 'import re, sys, tomllib; skip = set(sys.argv[1].split()); deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]; print("\n".join(d for d in deps if re.split(r"[<>=!~\[; ]", d, maxsplit=1)[0].lower() not in skip))' \
        "${MODEL_ONLY_PACKAGES}" > /opt/neutone/requirements.txt \
    && /opt/neutone/venv/bin/pip install --no-compile -r /opt/neutone/requirements.txt

# The code runs from this tree (not an installed wheel) so that every package, the Alembic
# migrations beside them and the built web app keep their repository layout.
COPY neutone ./neutone
COPY runtime ./runtime
COPY usersvc ./usersvc
COPY billingsvc ./billingsvc
COPY songsvc ./songsvc
COPY gateway ./gateway
COPY engines ./engines
# Compiled now: the root filesystem is read-only at run time.
RUN /opt/neutone/venv/bin/python -m compileall -q /opt/neutone/app /opt/neutone/venv

# ---- build: the browser app (web/dist) -----------------------------------------------------
FROM ${NODE_IMAGE} AS web-build
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web ./
RUN npm run build

# ---- run: what every service image shares --------------------------------------------------
# No compilers, no pip cache, no sources besides the services' own packages.
FROM ${PYTHON_IMAGE} AS service

RUN groupadd --gid 10001 neutone \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin neutone

COPY --from=python-build /opt/neutone /opt/neutone

# Production by default: without NEUTONE_DATABASE_URL a service refuses to start instead of
# starting an embedded database. /tmp is the only writable place (an emptyDir in the chart).
ENV PATH=/opt/neutone/venv/bin:$PATH \
    PYTHONPATH=/opt/neutone/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp \
    NEUTONE_ENVIRONMENT=production \
    NEUTONE_LOG_FORMAT=json \
    NEUTONE_DATA_DIR=/tmp/neutone

WORKDIR /opt/neutone/app
USER 10001:10001

# ---- targets -------------------------------------------------------------------------------
FROM service AS usersvc
ENV NEUTONE_LISTEN_ADDRESS=0.0.0.0:50051
EXPOSE 50051
CMD ["python", "-m", "usersvc.server"]

FROM service AS billingsvc
ENV NEUTONE_LISTEN_ADDRESS=0.0.0.0:50053
EXPOSE 50053
CMD ["python", "-m", "billingsvc.server"]

FROM service AS songsvc
ENV NEUTONE_LISTEN_ADDRESS=0.0.0.0:50052
EXPOSE 50052
CMD ["python", "-m", "songsvc.server"]

# No server: it claims jobs from PostgreSQL and calls Triton.
FROM service AS songsvc-worker
CMD ["python", "-m", "songsvc.worker"]

# Migrates every service's schema, then sets up each service's database role (runtime/roles.py)
# and exits: the chart's pre-install/pre-upgrade Job.
FROM service AS migrations
CMD ["python", "-m", "runtime.database", "upgrade", "--roles"]

FROM service AS gateway
COPY --from=web-build /web/dist /opt/neutone/app/web/dist
ENV NEUTONE_LISTEN_ADDRESS=0.0.0.0:8080
EXPOSE 8080
CMD ["python", "-m", "gateway.server"]
