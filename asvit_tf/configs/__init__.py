"""Model Garden configs of As-ViT."""
