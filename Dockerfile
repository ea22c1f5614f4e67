# The coopbench image: workers, the scheduler (enqueue, sweep, ...), Flower and the CLI.
# Built FROM python:3.12-slim (upstream's cooperbench package needs Python 3.12); where no
# registry serves it, scripts/compose-images.sh makes a local stand-in of that name.
# Workers start task containers as siblings through the mounted Docker socket, so they run
# as root (access to the socket is root on the host anyway).
#
# Layers go from the slowest-changing to the fastest: the Python dependencies are installed
# from uv.lock alone, so a change to the code only redoes the last, offline step.
# Build with scripts/compose-images.sh (skips the build when nothing changed) or
# `docker-compose build`.
ARG BASE_IMAGE=python:3.12-slim
FROM ${BASE_IMAGE}

# The system CA bundle for https (pip and uv at build time; litellm's, requests' and httpx's
# clients at run time, which would otherwise use certifi's own).
ENV VIRTUAL_ENV=/opt/coopbench \
    UV_PROJECT_ENVIRONMENT=/opt/coopbench \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    PATH=/opt/coopbench/bin:/opt/uv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt \
    PYTHONUNBUFFERED=1 \
    LITELLM_LOCAL_MODEL_COST_MAP=True
# The docker CLI: upstream's agent adapters start their containers with `docker run`
# (Debian's docker.io brings it; its daemon is never started here).
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >/dev/null \
    && rm -rf /var/lib/apt/lists/*
# uv (from PyPI) in a directory of its own, outside the environment it installs.
RUN python3 -m pip install -q --target /opt/uv uv==0.13.9

# Dependencies only, exactly as locked (runtime and the flower extra): this layer is
# rebuilt only when pyproject.toml or uv.lock change.
WORKDIR /opt/coopbench-src
COPY pyproject.toml uv.lock ./
RUN uv sync -q --frozen --no-install-project --extra flower --python "$(command -v python3)"

# The code: installed (not editable) into the environment, without touching the dependencies.
COPY README.md ./
COPY coopbench ./coopbench
COPY workers ./workers
COPY scheduler ./scheduler
RUN uv sync -q --frozen --no-editable --extra flower \
    && rm -rf build *.egg-info \
    && coopbench --help >/dev/null

COPY docker/worker.sh /usr/local/bin/coopbench-worker
COPY docker/enqueue-demo.sh /usr/local/bin/coopbench-enqueue-demo
# Exports and other output of one-shot commands go here (mount a volume to keep them).
WORKDIR /work
CMD ["coopbench-worker"]
