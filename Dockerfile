# The coopbench image: workers, the scheduler (enqueue, sweep, ...), Flower and the CLI.
# Built FROM the local base image (scripts/setup-docker.sh makes it with debootstrap; no
# registry is used). Workers start task containers as siblings through the mounted Docker
# socket, so they run as root (access to the socket is root on the host anyway).
#
# Layers go from the slowest-changing to the fastest: the Python dependencies are installed
# from pyproject.toml alone, so a change to the code only redoes the last, offline step.
# Build with scripts/compose-images.sh (skips the build when nothing changed) or
# `docker-compose build`.
ARG BASE_IMAGE=coopbench/base:bookworm
FROM ${BASE_IMAGE}

# python3-venv brings ensurepip (pip and setuptools wheels) for Debian's Python 3.11.
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv \
    && rm -rf /var/lib/apt/lists/*

# The system CA bundle for https (pip at build time; litellm's, requests' and httpx's
# clients at run time, which would otherwise use certifi's own): the base image's, which
# scripts/setup-docker.sh makes from the build host's /etc/ssl/certs/ca-certificates.crt.
ENV VIRTUAL_ENV=/opt/coopbench \
    PATH=/opt/coopbench/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt \
    PYTHONUNBUFFERED=1 \
    LITELLM_LOCAL_MODEL_COST_MAP=True
RUN python3 -m venv /opt/coopbench

# Dependencies only (runtime and the flower extra, plus the build backend so that the code
# step below needs no network): this layer is rebuilt only when pyproject.toml changes.
WORKDIR /opt/coopbench-src
COPY pyproject.toml ./
RUN python -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb")); \
print("\n".join(p["project"]["dependencies"] + p["project"]["optional-dependencies"]["flower"] \
+ p["build-system"]["requires"] + ["wheel"]))' > /tmp/requirements.txt \
    && pip install -q -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The code: installed (not editable) into the venv, without touching the dependencies.
COPY README.md ./
COPY coopbench ./coopbench
COPY workers ./workers
COPY scheduler ./scheduler
RUN pip install -q --no-deps --no-build-isolation '.[flower]' \
    && rm -rf build *.egg-info \
    && coopbench --help >/dev/null

COPY docker/worker.sh /usr/local/bin/coopbench-worker
COPY docker/enqueue-demo.sh /usr/local/bin/coopbench-enqueue-demo
# Exports and other output of one-shot commands go here (mount a volume to keep them).
WORKDIR /work
CMD ["coopbench-worker"]
