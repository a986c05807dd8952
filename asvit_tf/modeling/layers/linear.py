"""Linear layers with the authors' training initialization (paper App. A).

The authors initialize linear weights with timm's `trunc_normal_(std=.02)`,
whose cut-off is +-2 in absolute value: 100 standard deviations, so in effect
an untruncated N(0, 0.02^2). Keras' `TruncatedNormal(stddev=0.02)` cuts at
two standard deviations instead (std 0.0176), a different distribution that
shrinks the length distortion the search measures (docs/design.md).
"""

import tensorflow as tf
import tf_keras

LINEAR_STDDEV = 0.02
LINEAR_BOUND = 2.0


@tf_keras.utils.register_keras_serializable(package='asvit')
class ClippedNormal(tf_keras.initializers.RandomNormal):
  """N(mean, stddev^2) clipped to [-bound, bound] in absolute value."""

  def __init__(self, mean: float = 0.0, stddev: float = LINEAR_STDDEV,
               bound: float = LINEAR_BOUND, seed=None):
    super().__init__(mean=mean, stddev=stddev, seed=seed)
    self.bound = bound

  def __call__(self, shape, dtype=None, **kwargs):
    values = super().__call__(shape, dtype=dtype, **kwargs)
    return tf.clip_by_value(values, -self.bound, self.bound)

  def get_config(self):
    return {**super().get_config(), 'bound': self.bound}


def linear(units: int, name: str, use_bias: bool = True,
           activation=None) -> tf_keras.layers.Dense:
  """Dense layer: kernel N(0, 0.02^2) clipped at +-2, zero bias."""
  return tf_keras.layers.Dense(
      units, name=name, use_bias=use_bias, activation=activation,
      kernel_initializer=ClippedNormal(), bias_initializer='zeros')
