"""Model Garden tasks of As-ViT."""
