"""Parameter and multiply-accumulate counts, read off the model itself.

The paper's "FLOPs" are multiply-accumulates (Table 5). MACs are counted from the traced graph: every MatMul, BatchMatMul, Conv2D and Einsum
contributes the product of its output size and its contraction length, so the
count follows whatever the layers really compute (windows, strides, padding).
Element-wise work (LayerNorm, softmax, GELU) is not counted, as in the paper's
counter.

`arch_params`, `arch_macs` and `arch_attention` give the same counts in
closed form from an architecture alone: the scaling (Algorithm 2) prices up
to 16 candidates a step, some near 100 M parameters, and building each model
to count it would take longer than measuring its stand-in. Tests check that
both ways agree on built models; the closed-form MACs assume the
full-resolution stride 4 and the paper's `splits` windows.
"""

import collections
import re
from typing import Dict, NamedTuple

import numpy as np
import tensorflow as tf
import tf_keras

from asvit_tf.modeling import arch as arch_lib

_STAGE = re.compile(r'stage_(\d)_')
GROUPS = ('stage_1', 'stage_2', 'stage_3', 'stage_4', 'head')


def _group(name: str) -> str:
  match = _STAGE.search(name)
  return f'stage_{match.group(1)}' if match else 'head'


def op_macs(op: tf.Operation) -> int:
  """MACs of one contraction op from its static shapes; 0 for other ops."""
  if op.type not in ('MatMul', 'BatchMatMul', 'BatchMatMulV2', 'BatchMatMulV3',
                     'Conv2D', 'Einsum'):
    return 0
  out = op.outputs[0].shape.as_list()
  if op.type == 'Conv2D':
    kernel = op.inputs[1].shape.as_list()
    return int(np.prod(out)) * kernel[0] * kernel[1] * kernel[2]
  if op.type == 'Einsum':
    # Contraction length: product of input-0 dims absent from the output.
    equation = op.get_attr('equation').decode()
    lhs, result = equation.split('->')
    first = lhs.split(',')[0]
    shape = op.inputs[0].shape.as_list()
    length = int(np.prod([d for c, d in zip(first, shape) if c not in result]))
    return int(np.prod(out)) * length
  a = op.inputs[0].shape.as_list()
  transpose = op.get_attr('transpose_a' if op.type == 'MatMul' else 'adj_x')
  return int(np.prod(out)) * (a[-2] if transpose else a[-1])


def count_macs(model: tf_keras.Model, height: int, width: int,
               channels: int = 3) -> Dict[str, int]:
  """MACs of one image through `model`, per stage, head and 'total'."""
  spec = tf.TensorSpec([1, height, width, channels], tf.float32)
  graph = tf.function(
      lambda x: model(x, training=False)).get_concrete_function(spec).graph
  macs = collections.Counter({group: 0 for group in GROUPS})
  for op in graph.get_operations():
    macs[_group(op.name)] += op_macs(op)
  macs['total'] = sum(macs[g] for g in GROUPS)
  return dict(macs)


def count_params(model: tf_keras.Model) -> Dict[str, int]:
  """Trainable parameters of a built `model`, per stage, head and 'total'."""
  params = collections.Counter({group: 0 for group in GROUPS})
  for weight in model.trainable_weights:
    params[_group(weight.name)] += int(np.prod(weight.shape))
  params['total'] = sum(params[g] for g in GROUPS)
  return dict(params)


IMAGENET_CLASSES = 1000


def _block_params(dim: int, inner: int, expansion: int) -> int:
  hidden = expansion * dim
  norms = 4 * dim
  attention = (3 * dim * inner + 3 * inner) + (inner * dim + dim)
  ffn = (dim * hidden + hidden) + (hidden * dim + dim)
  return norms + attention + ffn


def arch_params(arch: arch_lib.ArchSpec,
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


class AttentionWork(NamedTuple):
  """The window attention's share of one image's forward pass."""
  macs: int     # q k^T and weights v
  weights: int  # elements of the (tokens, tokens) attention weights, all heads


def arch_attention(arch: arch_lib.ArchSpec, image_size: int) -> AttentionWork:
  """Attention MACs and weight elements of one `image_size` square image.

  With a few channels a head, the (tokens, tokens) tensors, not the MACs, set
  the attention's cost: each is written and read from memory whole.
  """
  macs = weights = 0
  for i, stage in enumerate(arch.stages):
    tokens = (image_size // arch_lib.STAGE_STRIDES[i]) ** 2
    window_tokens = tokens // stage.splits ** 2
    macs += stage.depth * 2 * tokens * window_tokens * (
        arch.stage_attention_width(i + 1))
    weights += stage.depth * tokens * window_tokens * arch.stage_heads(i + 1)
  return AttentionWork(macs, weights)


def arch_macs(arch: arch_lib.ArchSpec, image_size: int,
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
    total += stage.depth * tokens * (4 * dim * inner +
                                     2 * stage.expansion * dim * dim)
  last = widths[-1]
  return (total + arch_attention(arch, image_size).macs + last * last +
          last * num_classes)
