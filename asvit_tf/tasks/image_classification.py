"""Model Garden's image classification task with an As-ViT model (Sec. 5.2)."""

import os
import tempfile
from typing import Optional

import tensorflow as tf
import tf_keras
from official.core import task_factory
from official.vision.configs import common
from official.vision.modeling.backbones import factory as backbone_factory
from official.vision.tasks import image_classification

from asvit_tf import errors
from asvit_tf.configs import image_classification as exp_cfg
from asvit_tf.modeling import classifier
from asvit_tf.modeling.layers import tokenization
from asvit_tf.tasks import embedded_inputs
from asvit_tf.tasks import float16_ema


@task_factory.register_task_cls(exp_cfg.AsViTImageClassificationTask)
class AsViTClassificationTask(image_classification.ImageClassificationTask):
  """Builds `AsViTClassifier`; reads the embedded digits on `digits:` paths."""

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
    return model

  @classmethod
  def create_optimizer(cls, optimizer_config, runtime_config=None,
                       dp_config=None):
    """Model Garden's optimizer; with float16 and EMA, one that trains."""
    optimizer = super().create_optimizer(optimizer_config, runtime_config,
                                         dp_config)
    return float16_ema.make_loss_scalable(
        optimizer, optimizer_config,
        runtime_config.loss_scale if runtime_config else None)

  def build_inputs(self, params, input_context: Optional[
      tf.distribute.InputContext] = None) -> tf.data.Dataset:
    """Model Garden's classification input; `digits:<split>` is written."""
    if embedded_inputs.is_embedded(params.input_path):
      data_dir = self.task_config.embedded_data_dir or os.path.join(
          self.logging_dir or tempfile.gettempdir(), 'embedded_data')
      params = params.replace(
          input_path=embedded_inputs.resolve(
              params.input_path, data_dir,
              self.task_config.model.input_size[0]),
          decode_jpeg_only=False)  # The digits are PNG.
    return super().build_inputs(params, input_context)
