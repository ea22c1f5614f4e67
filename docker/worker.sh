#!/bin/sh
# The compose stack's worker (coopbench-worker in the coopbench image): bring the store's
# schema up to date (idempotent; workers starting together migrate once, under a lock),
# then run a Celery worker. Arguments are passed on to `celery worker`.
# COOPBENCH_CONCURRENCY: jobs at once (default 2). WORKER_HOST_NAME, when set,
# becomes the host part of the worker's name (<container>@<host>), so that Flower and the
# store show which machine ran a job; otherwise it is the container's hostname.
set -eu
coopbench db upgrade
name=$(hostname)@${WORKER_HOST_NAME:-$(hostname)}
exec celery -A workers worker --loglevel INFO -n "$name" "$@"
