"""Builds As-ViT models from an ArchSpec and an input size."""

import tensorflow as tf
import tf_keras

from asvit_tf.modeling import arch as arch_lib
from asvit_tf.modeling import backbone as backbone_lib
from asvit_tf.modeling import classifier as classifier_lib


def build_backbone(arch: arch_lib.ArchSpec, image_size: int,
                   **kwargs) -> backbone_lib.AsViTBackbone:
  """A built backbone for square `image_size` inputs; checks the windows."""
  specs = tf_keras.layers.InputSpec(shape=[None, image_size, image_size, 3])
  backbone = backbone_lib.AsViTBackbone(arch, input_specs=specs, **kwargs)
  backbone(tf.zeros([1, image_size, image_size, 3]), training=False)
  return backbone


def build_classifier(arch: arch_lib.ArchSpec, num_classes: int,
                     image_size: int,
                     **kwargs) -> classifier_lib.AsViTClassifier:
  """A built classifier for square `image_size` inputs."""
  model = classifier_lib.AsViTClassifier(
      build_backbone(arch, image_size, **kwargs), num_classes)
  model(tf.zeros([1, image_size, image_size, 3]), training=False)
  return model
