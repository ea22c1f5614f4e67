"""Docker containers for agents and evaluations: start with coopbench's labels and limits,
run commands with a timeout, count against the host's slots, remove orphans."""
