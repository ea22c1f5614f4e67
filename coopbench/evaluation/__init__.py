"""Evaluation: a job's patches scored by upstream CooperBench's own procedure.

``evaluate`` (the entry point), ``upstream`` (the seam to upstream's package), ``backend``
(the containers coopbench gives it), ``patches`` (the run's test-file filter choice).
"""
