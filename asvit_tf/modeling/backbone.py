"""The As-ViT backbone: four stages of window-attention blocks (Fig. 1).

Returns the stage feature maps keyed '2'..'5' (strides 4..32 at full
resolution), as Model Garden backbones do, so detection decoders can use it.
"""

from typing import Dict, Optional, Sequence, Tuple

import tensorflow as tf
import tf_keras
from official.modeling import hyperparams
from official.vision.modeling.backbones import factory

from asvit_tf.modeling import arch as arch_lib
from asvit_tf.modeling import window_policy
from asvit_tf.modeling.layers import block
from asvit_tf.modeling.layers import tokenization

LEVELS = ('2', '3', '4', '5')


def drop_path_rates(depths: Sequence[int], rate: float) -> Tuple[float, ...]:
  """Stochastic depth rising linearly from 0 to `rate` over all blocks."""
  total = sum(depths)
  if total <= 1:
    return (rate,) * total
  return tuple(rate * i / (total - 1) for i in range(total))


class AsViTBackbone(tf_keras.Model):
  """As-ViT feature extractor with an elastic stage-1 stride (Sec. 4)."""

  def __init__(self, arch: arch_lib.ArchSpec,
               input_specs: tf_keras.layers.InputSpec = tf_keras.layers.InputSpec(
                   shape=[None, None, None, 3]),
               drop_path_rate: float = 0.0,
               window_policy_name: str = 'splits',
               window_reference_size: int = 224,
               stride: int = tokenization.FULL_RESOLUTION_STRIDE,
               **kwargs):
    super().__init__(**kwargs)
    window_policy.check_policy(window_policy_name)
    self.arch = arch
    self._input_specs = input_specs
    self._drop_path_rate = drop_path_rate
    self._window_policy = window_policy_name
    self._window_reference_size = window_reference_size
    rates = iter(drop_path_rates(arch.depths, drop_path_rate))
    self.patch_embed = tokenization.PatchEmbedding(
        arch.stage_width(1), arch.stages[0].kernel, stride=stride,
        name='stage_1_embed')
    self.re_embeds = [
        tokenization.PatchReEmbedding(arch.stage_width(n),
                                      arch.stages[n - 1].kernel,
                                      name=f'stage_{n}_embed')
        for n in range(2, arch_lib.NUM_STAGES + 1)]
    self.stage_blocks = [
        [block.TransformerBlock(arch.stage_width(n), arch.stage_heads(n),
                                spec.expansion, next(rates),
                                name=f'stage_{n}_block_{j}')
         for j in range(spec.depth)]
        for n, spec in enumerate(arch.stages, start=1)]
    self._output_specs = None
    shape = input_specs.shape
    if shape is not None and shape[1] is not None and shape[2] is not None:
      self._output_specs = self.feature_shapes(shape[1], shape[2])

  @property
  def stride(self) -> int:
    """Stage-1 token stride in pixels: 4 at full resolution, 8 or 16."""
    return self.patch_embed.stride

  @stride.setter
  def stride(self, value: int) -> None:
    """Sets the stride; raises WindowError if the configured input size
    cannot be tokenized at `value`."""
    self.check_stride(value)
    self.patch_embed.stride = value

  def check_stride(self, stride: int) -> None:
    """Raises WindowError unless the static input size works at `stride`."""
    tokenization.dilation_for_stride(self.arch.stages[0].kernel, stride)
    shape = self._input_specs.shape
    if shape is not None and shape[1] is not None and shape[2] is not None:
      self.stage_windows(shape[1], shape[2], stride)

  def token_map_sizes(self, height: int, width: int,
                      stride: Optional[int] = None
                      ) -> Tuple[Tuple[int, int], ...]:
    """Token-map (height, width) of each stage for an input image, at the
    current stride or at `stride`."""
    stride = stride or self.stride
    sizes = [(height // stride, width // stride)]
    for _ in range(arch_lib.NUM_STAGES - 1):
      sizes.append((sizes[-1][0] // 2, sizes[-1][1] // 2))
    return tuple(sizes)

  def stage_windows(self, height: int, width: int,
                    stride: Optional[int] = None
                    ) -> Tuple[window_policy.Windows, ...]:
    """Windows of every stage for an input image, at the current stride or
    at `stride`; raises WindowError."""
    stride = stride or self.stride
    if min(height, width) < stride * 2 ** (arch_lib.NUM_STAGES - 1):
      raise window_policy.WindowError(
          f'image {height}x{width} is too small for stride {stride}; '
          f'allowed: sides of at least {stride * 8} pixels')
    return tuple(
        window_policy.stage_windows(self.arch, n, h, w, self._window_policy,
                                    self._window_reference_size)
        for n, (h, w) in enumerate(
            self.token_map_sizes(height, width, stride), start=1))

  def feature_shapes(self, height: int,
                     width: int) -> Dict[str, tf.TensorShape]:
    """Shapes of the '2'..'5' outputs for an input image (checks windows)."""
    self.stage_windows(height, width)
    return {
        level: tf.TensorShape([None, h, w, self.arch.stage_width(n)])
        for n, (level, (h, w)) in enumerate(
            zip(LEVELS, self.token_map_sizes(height, width)), start=1)}

  # Graph code: traced without AutoGraph converting every layer (BUILD.md).
  @tf.autograph.experimental.do_not_convert
  def call(self, images, training=None) -> Dict[str, tf.Tensor]:
    height, width = images.shape[1], images.shape[2]
    if height is None or width is None:
      raise window_policy.WindowError(
          'input height and width must be static; allowed: a fixed image '
          'size such as [None, 224, 224, 3]')
    windows = self.stage_windows(height, width)
    x = self.patch_embed(images)
    outputs = {}
    for n, blocks in enumerate(self.stage_blocks, start=1):
      if n > 1:
        x = self.re_embeds[n - 2](x)
      for layer in blocks:
        x = layer(x, window=windows[n - 1], training=training)
      outputs[LEVELS[n - 1]] = x
    return outputs

  @property
  def output_specs(self) -> Optional[Dict[str, tf.TensorShape]]:
    """Shapes of the '2'..'5' feature maps for the configured input size."""
    return self._output_specs

  def get_config(self):
    return {
        'arch': arch_lib.format_arch(self.arch),
        'drop_path_rate': self._drop_path_rate,
        'window_policy_name': self._window_policy,
        'window_reference_size': self._window_reference_size,
        'stride': self.stride,
    }

  @classmethod
  def from_config(cls, config, custom_objects=None):
    config = dict(config)
    config['arch'] = arch_lib.parse_arch(config['arch'])
    return cls(**config)


@factory.register_backbone_builder('asvit')
def build_asvit(
    input_specs: tf_keras.layers.InputSpec,
    backbone_config: hyperparams.Config,
    norm_activation_config: hyperparams.Config,
    l2_regularizer: Optional[tf_keras.regularizers.Regularizer] = None,
) -> AsViTBackbone:
  """Builds the As-ViT backbone from Model Garden's backbone config."""
  del norm_activation_config, l2_regularizer  # LayerNorm only; AdamW decays.
  cfg = backbone_config.get()
  backbone = AsViTBackbone(
      arch_lib.parse_arch(cfg.arch), input_specs=input_specs,
      drop_path_rate=cfg.drop_path_rate, window_policy_name=cfg.window_policy,
      window_reference_size=cfg.window_reference_size, stride=cfg.stride)
  if input_specs.shape[1] is not None:
    backbone(tf_keras.Input(input_specs.shape[1:]), training=False)
  return backbone
