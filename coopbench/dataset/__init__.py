"""The CooperBench dataset: its folder layout read into tasks, feature groups and subsets,
and the Docker images of its tasks (names, builds, pulls, pins, disk)."""
