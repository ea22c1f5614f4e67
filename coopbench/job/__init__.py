"""What one job does, as plain functions of (job id, services): claim, run the agents of its
setting in containers, evaluate, and record the outcome in the store."""
