"""The scheduler: expands a run into jobs, records them in the store and publishes them;
re-publishes what lost its message (the sweeper). It uses the workers' publisher, never the reverse."""
