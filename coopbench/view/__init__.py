"""``coopbench view``: a run's jobs as pages, one per job with its agents side by side.

Modules, one purpose each: ``steps`` (an agent's ATIF steps as the page shows them),
``messages`` (which step sent and which step received each message), ``layout`` (each
step's row, time flowing down), ``hunks`` (the agents' patches as hunks, the conflicting
ones marked), ``run_rows`` and ``job_data`` (reading the store), ``render`` with
``templates`` and ``assets`` (the HTML), ``pages`` (writing them for offline use) and
``server`` (serving them on 127.0.0.1).
"""
