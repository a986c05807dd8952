"""Parameters and GMACs of the Cascade Mask R-CNN, per component (Table 8).

Counts one image through the inference graph of Model Garden's model: the
backbone, the FPN, the RPN head on every anchor, the three cascade box heads
on the `test_num_proposals` proposals and the mask head on the
`max_num_detections` detections. MACs of MatMul/Conv2D/Einsum ops as in
asvit_tf.counting (element-wise work, ROI-Align and NMS not counted).
Paper (Table 8): 1094.2 GFLOPs (MACs) and 138.8 M parameters at 1024x1024.
The binary is `python -m detection.cost`.
"""

import collections
from typing import Dict

import numpy as np
import tensorflow as tf
import tf_keras
from official.core import config_definitions as cfg
from official.core import task_factory
from official.modeling import hyperparams
from official.vision.ops import anchor

from asvit_tf import counting
from detection import registry_imports  # pylint: disable=unused-import

EXPERIMENT = 'cascadercnn_asvit_coco'
PAPER = {'params': 138.8e6, 'gmacs': 1094.2}
COMPONENTS = ('backbone', 'fpn', 'rpn_head', 'cascade_heads', 'mask_head')


def _component_layers(model: tf_keras.Model) -> Dict[str, str]:
  """Component of each top-level layer name of `model` (Keras suffixes a
  name with `_N` when a process builds a second model, so names are read off
  the model rather than assumed)."""
  names = {model.backbone.name: 'backbone', model.decoder.name: 'fpn',
           model.rpn_head.name: 'rpn_head', model.mask_head.name: 'mask_head'}
  names.update((head.name, 'cascade_heads') for head in model.detection_head)
  return names


def _component(op_name: str, layers: Dict[str, str]) -> str:
  """Component of an op named `<model>/<layer>/...`."""
  parts = op_name.split('/')
  return layers.get(parts[1], 'other') if len(parts) > 1 else 'other'


def _weights(layers) -> int:
  return sum(int(np.prod(w.shape)) for layer in layers
             for w in layer.trainable_weights)


def model_params(model: tf_keras.Model) -> Dict[str, int]:
  """Trainable parameters per component and 'total'."""
  params = {
      'backbone': _weights([model.backbone]),
      'fpn': _weights([model.decoder]),
      'rpn_head': _weights([model.rpn_head]),
      'cascade_heads': _weights(model.detection_head),
      'mask_head': _weights([model.mask_head]),
  }
  params['total'] = _weights([model])
  return params


def model_macs(model: tf_keras.Model,
               model_config: hyperparams.Config) -> Dict[str, int]:
  """MACs of one image at inference, per component and 'total'."""
  height, width = model_config.input_size[:2]
  boxes = anchor.Anchor(
      min_level=model_config.min_level, max_level=model_config.max_level,
      num_scales=model_config.anchor.num_scales,
      aspect_ratios=model_config.anchor.aspect_ratios,
      anchor_size=model_config.anchor.anchor_size,
      image_size=(height, width)).multilevel_boxes
  boxes = {level: b[tf.newaxis] for level, b in boxes.items()}
  shape = tf.constant([[height, width]], tf.float32)
  spec = tf.TensorSpec([1, height, width, 3], tf.float32)
  graph = tf.function(lambda x: model(
      x, image_shape=shape, anchor_boxes=boxes,
      training=False)).get_concrete_function(spec).graph
  layers = _component_layers(model)
  macs = collections.Counter({c: 0 for c in COMPONENTS + ('other',)})
  for op in graph.get_operations():
    macs[_component(op.name, layers)] += counting.op_macs(op)
  macs['total'] = sum(macs.values())
  return dict(macs)


def detector_cost(params: cfg.ExperimentConfig) -> Dict[str, Dict[str, float]]:
  """Params (M) and GMACs of the configured model, per component."""
  task = task_factory.get_task(params.task)
  model = task.build_model()
  return {
      'params_m': {k: v / 1e6 for k, v in model_params(model).items()},
      'gmacs': {k: v / 1e9 for k, v in
                model_macs(model, params.task.model).items()},
  }
