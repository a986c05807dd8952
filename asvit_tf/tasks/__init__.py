"""Model Garden tasks and trainers of As-ViT."""
