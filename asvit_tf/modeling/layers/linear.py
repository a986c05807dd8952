"""Linear layers with the authors' training init (SPEC section 1)."""

import tf_keras


def linear(units: int, name: str, use_bias: bool = True,
           activation=None) -> tf_keras.layers.Dense:
  """Dense layer, truncated normal std 0.02 kernel, zero bias."""
  return tf_keras.layers.Dense(
      units, name=name, use_bias=use_bias, activation=activation,
      kernel_initializer=tf_keras.initializers.TruncatedNormal(stddev=0.02),
      bias_initializer='zeros')
