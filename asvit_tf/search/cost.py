"""Closed-form parameter and MAC counts of an As-ViT classifier (SPEC section 1).

The scaling run (Algorithm 2) prices up to 16 candidates per step, some of
them near 100 M parameters; building each model to count it would take longer
than measuring its proxy. These formulas follow the layer shapes of
asvit_tf.modeling and agree exactly with asvit_tf.counting on built models
(tests/test_scale_cost.py); MACs assume the full-resolution stride 4 and the
paper's `splits` windows.
"""

from asvit_tf.modeling import arch as arch_lib

IMAGENET_CLASSES = 1000


def _block_params(dim: int, inner: int, expansion: int) -> int:
  hidden = expansion * dim
  norms = 4 * dim
  attention = (3 * dim * inner + 3 * inner) + (inner * dim + dim)
  ffn = (dim * hidden + hidden) + (hidden * dim + dim)
  return norms + attention + ffn


def count_params(arch: arch_lib.ArchSpec,
                 num_classes: int = IMAGENET_CLASSES) -> int:
  """Trainable parameters of `AsViTClassifier(arch, num_classes)`."""
  widths = [arch.stage_width(n) for n in range(1, arch_lib.NUM_STAGES + 1)]
  kernel = arch.stages[0].kernel
  total = kernel * kernel * 3 * widths[0] + widths[0] + 2 * widths[0]
  for i, stage in enumerate(arch.stages):
    if i:
      unfolded = stage.kernel ** 2 * widths[i - 1]
      total += 2 * unfolded + unfolded * widths[i]
    total += stage.depth * _block_params(
        widths[i], arch.stage_attention_width(i + 1), stage.expansion)
  last = widths[-1]
  return total + 2 * last + (last * last + last) + (last * num_classes +
                                                     num_classes)


def count_macs(arch: arch_lib.ArchSpec, image_size: int,
               num_classes: int = IMAGENET_CLASSES) -> int:
  """Multiply-accumulates of one `image_size` square image, stride 4."""
  widths = [arch.stage_width(n) for n in range(1, arch_lib.NUM_STAGES + 1)]
  sides = [image_size // s for s in arch_lib.STAGE_STRIDES]
  kernel = arch.stages[0].kernel
  total = sides[0] ** 2 * kernel * kernel * 3 * widths[0]
  for i, stage in enumerate(arch.stages):
    dim, tokens = widths[i], sides[i] ** 2
    inner = arch.stage_attention_width(i + 1)
    if i:
      total += tokens * stage.kernel ** 2 * widths[i - 1] * dim
    window_tokens = tokens // stage.splits ** 2
    linear = tokens * (4 * dim * inner + 2 * stage.expansion * dim * dim)
    attention = 2 * tokens * window_tokens * inner
    total += stage.depth * (linear + attention)
  last = widths[-1]
  return total + last * last + last * num_classes
