"""As-ViT image classification experiment: the ImageNet recipe (Sec. 5.2).

`asvit_imagenet`: As-ViT Small, 224x224, AdamW (lr 1e-3, weight decay 0.05),
batch 1024, 300 epochs with 20 epochs of linear warm-up then cosine decay,
stochastic depth, Mixup and CutMix, RandAugment, label smoothing and an EMA of
the weights, on a TPU; `official_configs/asvit_*.yaml` override it.
"""

import dataclasses
from typing import List, Optional

from official.core import config_definitions as cfg
from official.core import exp_factory
from official.modeling import hyperparams
from official.vision.configs import image_classification as img_cls_cfg

from asvit_tf.configs import backbones
from asvit_tf.configs import optimization

IMAGENET_TRAIN_EXAMPLES = img_cls_cfg.IMAGENET_TRAIN_EXAMPLES
IMAGENET_VAL_EXAMPLES = img_cls_cfg.IMAGENET_VAL_EXAMPLES


@dataclasses.dataclass
class RetokenizationPhase(hyperparams.Config):
  """Train at `stride` until `until_epoch` or `until_step` (exclusive).

  Epochs count from 0: `until_epoch: 120` covers the paper's epochs 1-120.
  """
  stride: int = 16
  until_epoch: Optional[float] = None
  until_step: Optional[int] = None


@dataclasses.dataclass
class Retokenization(hyperparams.Config):
  """Progressive re-tokenization (Sec. 4): reduced-stride phases in order,
  then stride 4 (full resolution) to the end; empty: the baseline.

  Attributes:
    phases: the reduced phases, strides 16 or 8.
    steps_per_epoch: converts `until_epoch` to steps.
  """
  phases: List[RetokenizationPhase] = dataclasses.field(default_factory=list)
  steps_per_epoch: int = 0


@dataclasses.dataclass
class AsViTClassificationModel(hyperparams.Config):
  """`AsViTClassifier` on a backbone from Model Garden's backbone factory."""
  num_classes: int = 0
  input_size: List[int] = dataclasses.field(
      default_factory=lambda: [224, 224, 3])
  backbone: backbones.Backbone = dataclasses.field(
      default_factory=backbones.Backbone)


@dataclasses.dataclass
class AsViTImageClassificationTask(img_cls_cfg.ImageClassificationTask):
  """Model Garden's classification task with an As-ViT model.

  Attributes:
    retokenization: the stride schedule of training; evaluation always runs
      at stride 4.
    embedded_data_dir: where `input_path: digits:train` (or
      `digits:validation`), the embedded scikit-learn digits, is written as
      TFRecords on first use; empty: `<model_dir>/embedded_data`.
  """
  model: AsViTClassificationModel = dataclasses.field(
      default_factory=AsViTClassificationModel)
  retokenization: Retokenization = dataclasses.field(
      default_factory=Retokenization)
  embedded_data_dir: str = ''


@exp_factory.register_config_factory('asvit_imagenet')
def asvit_imagenet() -> cfg.ExperimentConfig:
  """As-ViT Small on ImageNet-1k at 224: Model Garden's DeiT recipe with the
  paper's differences (Sec. 5.2, Appendix A).

  DeiT's recipe already is the paper's in its data (RandAugment magnitude 9,
  Mixup and CutMix, label smoothing 0.1), its AdamW (weight decay 0.05 on
  kernels, no gradient clipping) and its 300 epochs of cosine decay. As-ViT
  changes the model, the batch (1024, DeiT 4096), the learning rate (1e-3
  after 20 epochs of linear warm-up, DeiT 5), adds an EMA of the weights,
  bfloat16 on a TPU, the best-checkpoint export and the re-tokenization
  schedule (empty: the baseline).
  """
  config = img_cls_cfg.image_classification_imagenet_deit_pretrain()
  batch_size = 1024
  epochs, warmup_epochs = 300, 20
  steps_per_epoch = IMAGENET_TRAIN_EXAMPLES // batch_size
  deit = config.task
  deit.train_data.global_batch_size = batch_size
  deit.validation_data.global_batch_size = batch_size
  config.task = AsViTImageClassificationTask(
      model=AsViTClassificationModel(
          num_classes=deit.model.num_classes,  # 1001: 0 is Model Garden's none
          input_size=deit.model.input_size,
          backbone=backbones.Backbone(
              type='asvit',
              asvit=backbones.AsViT(arch='small', drop_path_rate=0.2))),
      losses=deit.losses, train_data=deit.train_data,
      validation_data=deit.validation_data,
      retokenization=Retokenization(steps_per_epoch=steps_per_epoch))
  config.runtime = cfg.RuntimeConfig(distribution_strategy='tpu',
                                     mixed_precision_dtype='bfloat16')
  warmup_steps = warmup_epochs * steps_per_epoch
  train_steps = epochs * steps_per_epoch
  adamw = config.trainer.optimizer_config.optimizer.adamw
  config.trainer.override({
      'train_steps': train_steps,
      'steps_per_loop': steps_per_epoch,
      'summary_interval': steps_per_epoch,
      'checkpoint_interval': steps_per_epoch,
      'validation_interval': steps_per_epoch,
      'validation_steps': IMAGENET_VAL_EXAMPLES // batch_size,
      'best_checkpoint_eval_metric': 'accuracy',
      'best_checkpoint_metric_comp': 'higher',
  })
  config.trainer.optimizer_config = optimization.adamw_cosine(
      weight_decay=adamw.weight_decay_rate,
      decay_steps=train_steps - warmup_steps, warmup_steps=warmup_steps,
      offset=warmup_steps, ema_decay=0.9999,
      include_in_weight_decay=adamw.include_in_weight_decay,
      gradient_clip_norm=adamw.gradient_clip_norm)
  return config
