"""Backbone config of As-ViT for Model Garden's backbone factory."""

import dataclasses
from typing import Optional

from official.modeling import hyperparams
from official.vision.configs import backbones


@dataclasses.dataclass
class AsViT(hyperparams.Config):
  """As-ViT backbone.

  Attributes:
    arch: a preset (seed, small, base, large) or an architecture string
      `K,S,E[,L]|K,S,E[,L]|K,S,E[,L]|K,S,E[,L]|heads[,C]` (Table 1, Table 4).
    drop_path_rate: stochastic depth rate of the last block; it rises linearly
      from 0 over the blocks.
    window_policy: `splits` (the paper's S_i x S_i windows; classification) or
      `window` (window side fixed at its `window_reference_size` value, maps
      zero padded; dense prediction at high resolution, Sec. 5.3).
    window_reference_size: the input size whose window sides `window` keeps.
    stride: stage-1 token stride, 4 at full resolution; 8 or 16 for
      progressive re-tokenization (Sec. 4), the dilation follows.
  """
  arch: str = 'small'
  drop_path_rate: float = 0.1
  window_policy: str = 'splits'
  window_reference_size: int = 224
  stride: int = 4


@dataclasses.dataclass
class Backbone(backbones.Backbone):
  """Model Garden's backbone oneof with `asvit` added."""
  type: Optional[str] = 'asvit'
  asvit: AsViT = dataclasses.field(default_factory=AsViT)
