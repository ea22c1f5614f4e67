"""What a finished run becomes on disk: the results manifest, upstream's log layout
(result.json, eval.json, patches, trajectories), the summary table and the report."""
