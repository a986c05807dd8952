"""Experiment `cascadercnn_asvit_coco`: As-ViT Cascade Mask R-CNN (Sec. 5.3).

Paper recipe (Sec. 5.3, Appendix A; docs/design.md section 6): Cascade Mask
R-CNN, 1024x1024 input, AdamW with learning rate 1e-3 and weight decay 1e-4, batch
256, 36 epochs, stochastic depth, backbone initialised from an ImageNet
classification checkpoint. The cascade follows Model Garden's `cascadercnn_*`
experiments: three box heads trained at IoU 0.5, 0.6, 0.7 with class-agnostic
boxes and the class scores of all heads averaged at test time.

Choices the paper does not state, named here: cosine decay after a 500-step
linear warm-up, scale jitter 0.1..2.0 with horizontal flips, stochastic depth
0.2, the `window` attention policy (window sides of a 224 input, maps zero
padded) so that stage 1 at 1024 does not attend over 128x128-token windows.
"""

import dataclasses
import math
import os

from official.core import config_definitions as cfg
from official.core import exp_factory
from official.vision.configs import decoders
from official.vision.configs import maskrcnn

from asvit_tf.configs import backbones
from asvit_tf.configs import loading
from asvit_tf.configs import optimization

# The layout of detection/README.md: coco/annotations, coco/tfrecords.
COCO_INPUT_PATH_BASE = 'coco'
COCO_TRAIN_IMAGES = 118287
COCO_VAL_IMAGES = 5000
COCO_NUM_CLASSES = 91  # Category ids 1..90 and the background 0.
# IoU thresholds of the second and third heads; the first uses 0.5.
CASCADE_IOU_THRESHOLDS = (0.6, 0.7)


@dataclasses.dataclass
class AsViTMaskRCNNTask(maskrcnn.MaskRCNNTask):
  """Model Garden's Mask R-CNN task config, field for field; its own class so
  that `detection.task` registers the task that runs it."""


@exp_factory.register_config_factory('cascadercnn_asvit_coco')
def cascadercnn_asvit_coco() -> cfg.ExperimentConfig:
  """As-ViT Large Cascade Mask R-CNN on COCO 2017 with the paper's recipe."""
  train_batch_size = 256
  eval_batch_size = 8
  epochs = 36
  steps_per_epoch = math.ceil(COCO_TRAIN_IMAGES / train_batch_size)
  train_steps = steps_per_epoch * epochs
  warmup_steps = 500
  return cfg.ExperimentConfig(
      runtime=cfg.RuntimeConfig(mixed_precision_dtype='bfloat16'),
      task=AsViTMaskRCNNTask(
          init_checkpoint_modules='backbone',
          annotation_file=os.path.join(COCO_INPUT_PATH_BASE, 'annotations',
                                       'instances_val2017.json'),
          model=maskrcnn.MaskRCNN(
              num_classes=COCO_NUM_CLASSES,
              input_size=[1024, 1024, 3],
              min_level=2,
              max_level=6,
              backbone=backbones.Backbone(
                  type='asvit',
                  asvit=backbones.AsViT(arch='large', drop_path_rate=0.2,
                                        window_policy='window',
                                        window_reference_size=224)),
              decoder=decoders.Decoder(type='fpn', fpn=decoders.FPN()),
              roi_sampler=maskrcnn.ROISampler(
                  foreground_iou_threshold=0.5,
                  cascade_iou_thresholds=list(CASCADE_IOU_THRESHOLDS)),
              detection_head=maskrcnn.DetectionHead(
                  class_agnostic_bbox_pred=True, cascade_class_ensemble=True),
              include_mask=True),
          # AdamW decays the weights; no L2 term in the loss.
          losses=maskrcnn.Losses(l2_weight_decay=0.0),
          train_data=maskrcnn.DataConfig(
              input_path=os.path.join(COCO_INPUT_PATH_BASE, 'tfrecords',
                                  'train-*'),
              is_training=True,
              global_batch_size=train_batch_size,
              parser=maskrcnn.Parser(aug_rand_hflip=True, aug_scale_min=0.1,
                                     aug_scale_max=2.0)),
          validation_data=maskrcnn.DataConfig(
              input_path=os.path.join(COCO_INPUT_PATH_BASE, 'tfrecords',
                                  'val-*'),
              is_training=False,
              global_batch_size=eval_batch_size,
              drop_remainder=False)),
      trainer=cfg.TrainerConfig(
          train_steps=train_steps,
          validation_steps=math.ceil(COCO_VAL_IMAGES / eval_batch_size),
          validation_interval=steps_per_epoch,
          steps_per_loop=steps_per_epoch,
          summary_interval=steps_per_epoch,
          checkpoint_interval=steps_per_epoch,
          best_checkpoint_export_subdir='best_ckpt',
          best_checkpoint_eval_metric='AP',
          best_checkpoint_metric_comp='higher',
          optimizer_config=optimization.adamw_cosine(
              weight_decay=1e-4, decay_steps=train_steps,
              warmup_steps=warmup_steps,
              exclude_from_weight_decay=['gamma', 'beta', 'bias'])),
      restrictions=[
          'task.train_data.is_training != None',
          'task.validation_data.is_training != None',
      ])


def check_levels_and_input_size(params: cfg.ExperimentConfig) -> None:
  """Raises a ConfigError for FPN levels outside the backbone's (maps at
  levels 2-5, the FPN adds coarser ones) or an input side that is not a
  multiple of 2**max_level: Model Garden's Mask R-CNN parser pads images up
  to such a multiple, and the FPN then refuses maps of another size than the
  model was built for."""
  model = params.task.model
  if not 2 <= model.min_level <= 5 or model.max_level < model.min_level:
    raise loading.ConfigError(
        f'task.model.min_level={model.min_level} and max_level='
        f'{model.max_level}; allowed: 2 <= min_level <= 5 (the backbone\'s '
        'finest to coarsest map), max_level >= min_level')
  multiple = 2 ** model.max_level
  sides = list(model.input_size[:2])
  if len(sides) != 2 or any(side <= 0 or side % multiple for side in sides):
    raise loading.ConfigError(
        f'task.model.input_size={list(model.input_size)}: the parser pads '
        f'images to multiples of 2**max_level = {multiple}; allowed: height '
        f'and width positive multiples of {multiple}')
