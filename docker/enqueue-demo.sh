#!/bin/sh
# The compose stack's `enqueue` service (coopbench-enqueue-demo in the coopbench image):
# build the embedded demo dataset's task images on the Docker engine behind the mounted
# socket (the workers' engine on one machine; cached after the first time), then enqueue
# every demo pair in all three settings with the oracle agent, as `coopbench demo` does.
# COOPBENCH_RUN names the run (default demo); enqueueing the same run again resumes it.
# Arguments are passed on to `coopbench enqueue` (e.g. --force).
set -eu
dataset=$(python -c 'from coopbench.dataset.tasks import demo_dataset_path; print(demo_dataset_path())')
template=${COOPBENCH_DEMO_IMAGE_TEMPLATE:-}
[ -n "$template" ] || template='coopbench-demo-{slug}:task{task_id}'
coopbench images build --dataset "$dataset" --image-template "$template"
exec coopbench enqueue --run "${COOPBENCH_RUN:-demo}" --dataset "$dataset" --agent oracle \
  --settings solo,coop,coop-nocomm --step-limit 1 --cost-limit 0 \
  --image-template "$template" "$@"
