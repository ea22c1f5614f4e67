# A local stand-in for python:3.12-slim, which no registry serves on these machines:
# the local base image (Debian bookworm) with this machine's Python 3.12 build copied in at
# the path it was built for (PYTHON_PREFIX), plus the shared libraries its modules link.
# Made by scripts/python-standin.sh; nothing else uses it.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
ARG PYTHON_PREFIX
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
       libssl3 libffi8 libsqlite3-0 libbz2-1.0 liblzma5 libreadline8 libncursesw6 zlib1g \
       libuuid1 libexpat1 libgdbm6 \
    && rm -rf /var/lib/apt/lists/*
ADD python.tar /
RUN ln -s "$PYTHON_PREFIX/bin/python3.12" /usr/local/bin/python3 \
    && ln -s python3 /usr/local/bin/python \
    && python3 -m ensurepip >/dev/null \
    && ln -s "$PYTHON_PREFIX/bin/pip3" /usr/local/bin/pip
