"""tf_keras layers of As-ViT, one job each."""
