"""Training: optimizer, train state, the sharded step, checkpoints, metrics and the loop."""
