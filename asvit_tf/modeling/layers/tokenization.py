"""Overlapping patch embedding and patch re-embedding (Fig. 1, Sec. 3.1, Sec. 4)."""

from typing import Tuple

import tensorflow as tf
import tf_keras

from asvit_tf import errors
from asvit_tf import precision
from asvit_tf.modeling.layers import normalization
from asvit_tf.modeling.layers.linear import linear

FULL_RESOLUTION_STRIDE = 4
ELASTIC_STRIDES = (4, 8, 16)


def dilation_for_stride(kernel: int, stride: int) -> int:
  """Sec. 4: dilation = round((stride/4 - 1) * K1/(K1 - 1)) + 1."""
  if stride not in ELASTIC_STRIDES:
    raise errors.UsageError(f'stride={stride} is not supported; allowed: '
                     f'{", ".join(map(str, ELASTIC_STRIDES))}')
  ratio = stride / FULL_RESOLUTION_STRIDE - 1
  return int(round(ratio * kernel / (kernel - 1))) + 1


def same_padding(kernel: int, stride: int, dilation: int = 1) -> Tuple[int, int]:
  """Zero padding (before, after) so a map of side n*stride gives n tokens.

  At dilation 1 this is the official `(K-s)//2` before, `(K-s+1)//2` after.
  """
  total = max(dilation * (kernel - 1) + 1 - stride, 0)
  return total // 2, (total + 1) // 2


class PatchEmbedding(tf_keras.layers.Layer):
  """Stage-1 tokenizer: K1 x K1 convolution, stride 4, then LayerNorm.

  The stride (and with it the dilation, Sec. 4) is elastic: `stride` may be set
  to 4, 8 or 16 between calls; the weights stay the same. A traced function
  reads the stride when traced, so retrace after changing it.
  """

  def __init__(self, filters: int, kernel_size: int,
               stride: int = FULL_RESOLUTION_STRIDE, **kwargs):
    super().__init__(**kwargs)
    self.filters = filters
    self.kernel_size = kernel_size
    self.stride = stride
    self.norm = normalization.SwitchableLayerNorm(name='norm')

  @property
  def stride(self) -> int:
    return self._stride

  @stride.setter
  def stride(self, value: int) -> None:
    self._dilation = dilation_for_stride(self.kernel_size, value)
    self._stride = value

  @property
  def dilation(self) -> int:
    return self._dilation

  def build(self, input_shape):
    fan_in = self.kernel_size ** 2 * int(input_shape[-1])
    # PyTorch's default convolution init, kept by the authors' code; kept as
    # attributes so asvit_tf.complexity can re-initialize like Dense layers.
    self.kernel_initializer = tf_keras.initializers.VarianceScaling(
        1.0 / 3.0, mode='fan_in', distribution='uniform')
    self.kernel = self.add_weight(
        'kernel', (self.kernel_size, self.kernel_size, int(input_shape[-1]),
                   self.filters), initializer=self.kernel_initializer,
        experimental_autocast=False)  # call() casts it.
    bound = fan_in ** -0.5
    self.bias_initializer = tf_keras.initializers.RandomUniform(-bound, bound)
    self.bias = self.add_weight(
        'bias', (self.filters,), initializer=self.bias_initializer)
    super().build(input_shape)

  def call(self, images):
    if self.dilation == 1:
      # At least float32 under mixed precision too: TF's CPU filter gradient
      # of this 3-channel convolution measured 14x slower in bfloat16, for
      # about 2 % of the model's MACs.
      wide = precision.at_least_float32(images.dtype)
      before, after = same_padding(self.kernel_size, self.stride)
      x = tf.cast(tf.nn.conv2d(
          tf.cast(images, wide), tf.cast(self.kernel, wide),
          strides=self.stride,
          padding=[[0, 0], [before, after], [before, after], [0, 0]]),
                  images.dtype)
    else:
      # TF's CPU kernels cannot differentiate a strided dilated convolution:
      # the same function as a matmul over the gathered dilated taps.
      taps = unfold(images, self.kernel_size, self.stride, self.dilation)
      x = tf.einsum('bhwk,kc->bhwc', taps, tf.reshape(
          tf.cast(self.kernel, images.dtype), [-1, self.filters]))
    x = tf.nn.bias_add(x, tf.cast(self.bias, x.dtype))
    return self.norm(x)

  def get_config(self):
    config = super().get_config()
    config.update(filters=self.filters, kernel_size=self.kernel_size,
                  stride=self.stride)
    return config


def unfold(x: tf.Tensor, kernel: int, stride: int,
           dilation: int = 1) -> tf.Tensor:
  """The K x K (dilated) neighbourhoods of a (B, H, W, D) map at `stride`,
  zero padded.

  Returns (B, H/stride, W/stride, K*K*D), ordered (row tap, column tap,
  channel). One patch-extraction op: measured several times faster than
  per-tap strided slices forward, backward and in forward mode (docs/design.md
  section 2 metrics), and it keeps the traced graph small.
  """
  before, after = same_padding(kernel, stride, dilation)
  x = tf.pad(x, [[0, 0], [before, after], [before, after], [0, 0]])
  return tf.image.extract_patches(
      x, sizes=[1, kernel, kernel, 1], strides=[1, stride, stride, 1],
      rates=[1, dilation, dilation, 1], padding='VALID')


class PatchReEmbedding(tf_keras.layers.Layer):
  """Between stages: unfold K x K at stride 2, LayerNorm, linear to `filters`.

  As the authors' code: LayerNorm over the whole K*K*dim vector, then a linear
  map without bias (docs/design.md section 1).
  """

  def __init__(self, filters: int, kernel_size: int, **kwargs):
    super().__init__(**kwargs)
    self.filters = filters
    self.kernel_size = kernel_size
    self.norm = normalization.SwitchableLayerNorm(name='norm')
    self.proj = linear(filters, 'proj', use_bias=False)

  def call(self, x):
    return self.proj(self.norm(unfold(x, self.kernel_size, 2)))

  def get_config(self):
    config = super().get_config()
    config.update(filters=self.filters, kernel_size=self.kernel_size)
    return config
