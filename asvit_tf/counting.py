"""Parameter and multiply-accumulate counts, read off the model itself.

The paper's "FLOPs" are multiply-accumulates (SPEC section 1). MACs are
counted from the traced graph: every MatMul, BatchMatMul, Conv2D and Einsum
contributes the product of its output size and its contraction length, so the
count follows whatever the layers really compute (windows, strides, padding).
Element-wise work (LayerNorm, softmax, GELU) is not counted, as in the paper's
counter.
"""

import collections
import re
from typing import Dict

import numpy as np
import tensorflow as tf
import tf_keras

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
