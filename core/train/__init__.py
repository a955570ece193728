"""Training entry points: each trains one kind of model from corpus folders into a checkpoint."""
