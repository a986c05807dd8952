"""Cascade Mask R-CNN with the As-ViT backbone on COCO (paper Sec. 5.3)."""

import asvit_tf  # pylint: disable=unused-import  # Quiets TF's log first.
