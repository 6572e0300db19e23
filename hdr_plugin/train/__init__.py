"""Training and evaluation: data, camera-pipeline degradations, losses, trainer, metrics."""
