"""LayerNorm that the complexity metrics can switch to identity (App. A).

The authors' code measures length distortion with every LayerNorm replaced by
the identity and switches them back on for the NTK; `enabled` carries that
switch. It is read when a function is traced, so callers that flip it must
retrace (asvit_tf.complexity keys its traced functions on it).

Under mixed precision on a CPU the layer runs a hand-written LayerNorm whose
forward and backward passes are each one XLA-compiled function (statistics
and arithmetic in float32, as Keras'): about 1.6-1.8x faster than Keras'
LayerNorm and its TF autodiff there (benchmarks/README.md).
"""

from typing import Callable, Tuple

import tensorflow as tf
import tf_keras

from asvit_tf import precision


# Both passes are XLA-compiled: the layer calls them only where
# precision.fuses_on_cpu holds.
@tf.function(jit_compile=True, autograph=False)
def _normalize(inputs: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor,
               epsilon: float) -> Tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
  """LayerNorm over the last axis in float32, the result in `inputs`' dtype;
  also the rows' means and inverse standard deviations."""
  x = tf.cast(inputs, tf.float32)
  mean, variance = tf.nn.moments(x, [-1], keepdims=True)
  inverse_std = tf.math.rsqrt(variance + epsilon)
  return (tf.cast((x - mean) * (inverse_std * gamma) + beta, inputs.dtype),
          mean, inverse_std)


@tf.function(jit_compile=True, autograph=False)
def _normalize_grad(upstream: tf.Tensor, inputs: tf.Tensor, mean: tf.Tensor,
                    inverse_std: tf.Tensor, gamma: tf.Tensor
                    ) -> Tuple[tf.Tensor, tf.Tensor]:
  """dL/dinputs = (g - mean(g) - x_hat mean(g x_hat)) / std, with
  g = upstream gamma, in `inputs`' dtype; and upstream x_hat (float32),
  whose sum over the rows is dL/dgamma."""
  normalized = (tf.cast(inputs, tf.float32) - mean) * inverse_std
  upstream = tf.cast(upstream, tf.float32)
  scaled = upstream * gamma
  grad = inverse_std * (
      scaled - tf.reduce_mean(scaled, -1, keepdims=True) -
      normalized * tf.reduce_mean(scaled * normalized, -1, keepdims=True))
  return tf.cast(grad, inputs.dtype), upstream * normalized


def _fused_layer_norm(epsilon: float) -> Callable[..., tf.Tensor]:
  """LayerNorm of (inputs, gamma, beta) with `_normalize_grad` as gradient."""

  @tf.custom_gradient
  def layer_norm(inputs, gamma, beta):
    outputs, mean, inverse_std = _normalize(inputs, gamma, beta, epsilon)

    def grad(upstream):
      inputs_grad, upstream_normalized = _normalize_grad(
          upstream, inputs, mean, inverse_std, gamma)
      rows = list(range(len(inputs.shape) - 1))
      return (inputs_grad, tf.reduce_sum(upstream_normalized, rows),
              tf.reduce_sum(tf.cast(upstream, tf.float32), rows))

    return outputs, grad

  return layer_norm


class SwitchableLayerNorm(tf_keras.layers.LayerNormalization):
  """LayerNormalization over the last axis with an identity mode."""

  def __init__(self, epsilon: float = 1e-5, **kwargs):
    super().__init__(epsilon=epsilon, **kwargs)
    self.enabled = True

  def call(self, inputs):
    if not self.enabled:
      return inputs
    if precision.fuses_on_cpu(inputs.dtype):
      return _fused_layer_norm(self.epsilon)(
          inputs, tf.convert_to_tensor(self.gamma),
          tf.convert_to_tensor(self.beta))
    return super().call(inputs)


def set_layer_norms(model: tf_keras.layers.Layer, enabled: bool) -> None:
  """Switches every SwitchableLayerNorm inside `model` on or off."""
  for layer in model._flatten_layers(include_self=True, recursive=True):  # pylint: disable=protected-access
    if isinstance(layer, SwitchableLayerNorm):
      layer.enabled = enabled
