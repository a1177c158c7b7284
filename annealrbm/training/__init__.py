"""The training loop (`trainer`) and its checksummed checkpoints (`checkpoint`)."""
