"""LayerNorm that the complexity metrics can switch to identity (App. A).

The authors' code measures length distortion with every LayerNorm replaced by
the identity and switches them back on for the NTK; `enabled` carries that
switch. It is read when a function is traced, so callers that flip it must
retrace (asvit_tf.complexity keys its traced functions on it).
"""

import tf_keras


class SwitchableLayerNorm(tf_keras.layers.LayerNormalization):
  """LayerNormalization over the last axis with an identity mode."""

  def __init__(self, epsilon: float = 1e-5, **kwargs):
    super().__init__(epsilon=epsilon, **kwargs)
    self.enabled = True

  def call(self, inputs):
    if not self.enabled:
      return inputs
    return super().call(inputs)


def set_layer_norms(model: tf_keras.layers.Layer, enabled: bool) -> None:
  """Switches every SwitchableLayerNorm inside `model` on or off."""
  for layer in model._flatten_layers(include_self=True, recursive=True):  # pylint: disable=protected-access
    if isinstance(layer, SwitchableLayerNorm):
      layer.enabled = enabled
