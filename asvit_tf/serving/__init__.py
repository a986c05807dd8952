"""Export of trained As-ViT checkpoints for serving."""
