"""Upstream's agent adapters (``cooperbench.agents.registry``), run by coopbench: the same
call upstream's runner makes, inside coopbench's claim, container policy and bus."""
