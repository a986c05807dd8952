"""Pre-norm transformer block with stochastic depth (Fig. 1, Sec. 3.1)."""

from typing import Tuple

import tensorflow as tf
import tf_keras
from official.vision.modeling.layers import nn_layers

from asvit_tf import precision
from asvit_tf.modeling.layers import attention
from asvit_tf.modeling.layers.linear import linear
from asvit_tf.modeling.layers import normalization


@precision.fused_on_cpu
def _gelu(hidden: tf.Tensor) -> tf.Tensor:
  """Exact GELU computed in at least float32, returned in `hidden`'s dtype.

  TF's CPU erf runs about 2.5x slower in bfloat16 than in float32; on a CPU
  the casts and the GELU run as one XLA loop under mixed precision
  (benchmarks/README.md).
  """
  wide = precision.at_least_float32(hidden.dtype)
  return tf.cast(tf_keras.activations.gelu(tf.cast(hidden, wide),
                                           approximate=False), hidden.dtype)


class FeedForward(tf_keras.layers.Layer):
  """Linear(dim, E*dim) - GELU - Linear(E*dim, dim)."""

  def __init__(self, dim: int, expansion: int, **kwargs):
    super().__init__(**kwargs)
    self.dim = dim
    self.expansion = expansion
    self.fc1 = linear(expansion * dim, 'fc1')
    self.fc2 = linear(dim, 'fc2')

  def call(self, x):
    return self.fc2(_gelu(self.fc1(x)))

  def get_config(self):
    config = super().get_config()
    config.update(dim=self.dim, expansion=self.expansion)
    return config


class TransformerBlock(tf_keras.layers.Layer):
  """x + DropPath(Attn(LN(x))), then x + DropPath(FFN(LN(x)))."""

  def __init__(self, dim: int, num_heads: int, expansion: int,
               drop_path_rate: float = 0.0, **kwargs):
    super().__init__(**kwargs)
    self.dim = dim
    self.num_heads = num_heads
    self.expansion = expansion
    self.drop_path_rate = drop_path_rate
    self.norm1 = normalization.SwitchableLayerNorm(name='norm1')
    self.attn = attention.WindowAttention(dim, num_heads, name='attn')
    self.norm2 = normalization.SwitchableLayerNorm(name='norm2')
    self.ffn = FeedForward(dim, expansion, name='ffn')
    self.drop_path = nn_layers.StochasticDepth(drop_path_rate, name='drop_path')

  def call(self, x, window: Tuple[Tuple[int, int], Tuple[int, int]],
           training=None):
    x = x + self.drop_path(self.attn(self.norm1(x), window=window),
                           training=training)
    return x + self.drop_path(self.ffn(self.norm2(x)), training=training)

  def get_config(self):
    config = super().get_config()
    config.update(dim=self.dim, num_heads=self.num_heads,
                  expansion=self.expansion,
                  drop_path_rate=self.drop_path_rate)
    return config
