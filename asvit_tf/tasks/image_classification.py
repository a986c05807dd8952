"""Model Garden's image classification task with an As-ViT model (Sec. 5.2).

The task carries the progressive re-tokenization schedule (Sec. 4): its
`train_step` trains at the stride of the optimizer's step, so any trainer that
calls it (Model Garden's `base_trainer.Trainer` under `official/vision/train.py`
or `asvit_tf.train`, an Orbit loop of one's own) follows the phases, and a run
resumed from a checkpoint continues in its phase. Evaluation and export never
see a reduced stride: the model stays at stride 4 outside the training step.
"""

import os
import tempfile
from typing import Any, List, Optional, Tuple

from absl import logging
import tensorflow as tf
import tf_keras
from official.core import task_factory
from official.vision.configs import common
from official.vision.modeling.backbones import factory as backbone_factory
from official.vision.tasks import image_classification

from asvit_tf import errors
from asvit_tf import retokenization
from asvit_tf.configs import image_classification as exp_cfg
from asvit_tf.modeling import classifier
from asvit_tf.modeling.layers import tokenization
from asvit_tf.tasks import embedded_inputs
from asvit_tf.tasks import float16_ema

# Soft labels below Mixup's off value plus this margin count as 0 for the
# binary cross-entropy, as in Model Garden's classification task.
_BCE_OFF_MARGIN = 1e-6


@task_factory.register_task_cls(exp_cfg.AsViTImageClassificationTask)
class AsViTClassificationTask(image_classification.ImageClassificationTask):
  """Builds `AsViTClassifier`, trains through the re-tokenization phases,
  reads the embedded digits on `digits:` paths."""

  def __init__(self, params: exp_cfg.AsViTImageClassificationTask,
               logging_dir: Optional[str] = None, name: Optional[str] = None):
    super().__init__(params, logging_dir=logging_dir, name=name)
    self._schedule = retokenization.Schedule.from_config(params.retokenization)

  @property
  def schedule(self) -> retokenization.Schedule:
    """The phases `train_step` follows."""
    return self._schedule

  def build_model(self) -> classifier.AsViTClassifier:
    """The backbone through Model Garden's factory (type `asvit`), the head."""
    model_config = self.task_config.model
    stride = model_config.backbone.asvit.stride
    if stride != tokenization.FULL_RESOLUTION_STRIDE:
      raise errors.UsageError(
          f'task.model.backbone.asvit.stride={stride}; allowed: 4 (train at '
          'stride 8 or 16 through task.retokenization.phases)')
    input_specs = tf_keras.layers.InputSpec(
        shape=[None] + list(model_config.input_size))
    backbone = backbone_factory.build_backbone(
        input_specs=input_specs, backbone_config=model_config.backbone,
        norm_activation_config=common.NormActivation())
    model = classifier.AsViTClassifier(backbone, model_config.num_classes)
    model(tf_keras.Input(model_config.input_size), training=False)
    kernel = backbone.arch.stages[0].kernel
    self._schedule.check_strides(backbone)  # Before any dataset is built.
    for phase in self._schedule.phases:
      logging.info('re-tokenization phase %d: stride %d, dilation %d from '
                   'step %d until %s', phase.index + 1, phase.stride,
                   tokenization.dilation_for_stride(kernel, phase.stride),
                   phase.start_step, phase.end_step or 'the end')
    return model

  @classmethod
  def create_optimizer(cls, optimizer_config, runtime_config=None,
                       dp_config=None):
    """Model Garden's optimizer; under float16 with an EMA, the EMA wraps the
    loss scaling (float16_ema) so that any trainer averages and swaps it."""
    optimizer = super().create_optimizer(optimizer_config, runtime_config,
                                         dp_config)
    return float16_ema.ema_outside_loss_scaling(
        optimizer, optimizer_config,
        runtime_config.loss_scale if runtime_config else None)

  def build_metrics(self, training: bool = True
                    ) -> List[tf_keras.metrics.Metric]:
    """Model Garden's metrics; in training also the stride of the steps."""
    metrics = super().build_metrics(training)
    if training:
      metrics.append(retokenization.StrideMetric())
    return metrics

  @tf.autograph.experimental.do_not_convert
  def train_step(self, inputs: Tuple[Any, Any], model: tf_keras.Model,
                 optimizer: tf_keras.optimizers.Optimizer,
                 metrics: Optional[List[Any]] = None):
    """Model Garden's classification step at the phase's stride (Sec. 4).

    The phase follows `optimizer.iterations`, Model Garden's global step. The
    forward and backward pass of every phase is traced once at its stride and
    the step picks one (`Schedule.switch`), so one compiled loop runs all
    phases without retracing; the update and the metrics follow the switch.
    The step is graph code throughout, so it is traced without AutoGraph's
    conversion of every layer's `call`: the same losses, about 2.5 s less
    tracing (BUILD.md).
    """
    features, labels = inputs
    labels = self._training_labels(labels)
    phase = self._schedule.phase_index(optimizer.iterations)
    loss, outputs, grads = self._schedule.switch(
        phase, lambda stride: self._loss_and_gradients(
            features, labels, model, optimizer, stride))
    optimizer.apply_gradients(list(zip(grads, model.trainable_variables)))
    for metric in metrics or []:
      if isinstance(metric, retokenization.StrideMetric):
        metric.update_state(self._schedule.stride_of(phase))
      else:
        metric.update_state(labels, outputs)
    return {self.loss: loss}

  def _training_labels(self, labels: tf.Tensor) -> tf.Tensor:
    """Labels as the configured loss takes them: one-hot for `one_hot`, 0/1
    per class for the binary cross-entropy."""
    config = self.task_config
    num_classes = config.model.num_classes
    if config.losses.one_hot and not config.train_data.is_multilabel:
      labels = tf.one_hot(labels, num_classes)
    if not config.losses.use_binary_cross_entropy:
      return labels
    if config.train_data.mixup_and_cutmix is not None:
      off_value = config.train_data.mixup_and_cutmix.label_smoothing / (
          num_classes)
      return tf.where(labels < off_value + _BCE_OFF_MARGIN, 0.0, 1.0)
    if labels.shape.rank == 1:
      return tf.one_hot(labels, num_classes)
    return labels

  def _loss_and_gradients(self, features: tf.Tensor, labels: tf.Tensor,
                          model: tf_keras.Model,
                          optimizer: tf_keras.optimizers.Optimizer,
                          stride: int
                          ) -> Tuple[tf.Tensor, tf.Tensor, List[tf.Tensor]]:
    """Loss, float32 logits and gradients of one step at `stride`."""
    scaler = float16_ema.loss_scaler(optimizer)
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    with retokenization.at_stride(model.backbone, stride):
      with tf.GradientTape() as tape:
        outputs = tf.cast(model(features, training=True), tf.float32)
        loss = self.build_losses(model_outputs=outputs, labels=labels,
                                 aux_losses=model.losses)
        # The optimizer sums the replicas' gradients.
        scaled_loss = loss / replicas
        if scaler is not None:
          scaled_loss = scaler.get_scaled_loss(scaled_loss)
      grads = tape.gradient(scaled_loss, model.trainable_variables)
    if scaler is not None:
      grads = scaler.get_unscaled_gradients(grads)
    return loss, outputs, grads

  @tf.autograph.experimental.do_not_convert
  def build_inputs(self, params, input_context: Optional[
      tf.distribute.InputContext] = None) -> tf.data.Dataset:
    """Model Garden's classification input; `digits:<split>` is written.

    Its decoding, RandAugment and Mixup/CutMix functions are TF graph code,
    so tf.data traces them here without AutoGraph's source conversion: the
    same batches to the bit, about 3 s sooner (BUILD.md).
    """
    if embedded_inputs.is_embedded(params.input_path):
      data_dir = self.task_config.embedded_data_dir or os.path.join(
          self.logging_dir or tempfile.gettempdir(), 'embedded_data')
      params = params.replace(
          input_path=embedded_inputs.resolve(
              params.input_path, data_dir,
              self.task_config.model.input_size[0]),
          decode_jpeg_only=False)  # The digits are PNG.
    return super().build_inputs(params, input_context)
