"""Cascade Mask R-CNN with the As-ViT backbone on COCO (paper Sec. 5.3)."""

import asvit_tf  # pylint: disable=unused-import  # TF's environment, before TF.
