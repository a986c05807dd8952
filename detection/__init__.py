"""Cascade Mask R-CNN with the As-ViT backbone on COCO (paper Sec. 5.3)."""
