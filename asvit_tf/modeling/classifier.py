"""Image classifier: As-ViT backbone and the authors' head (Fig. 1).

Head: LayerNorm on the last stage, global average pool, then
Linear(8C, 8C) - tanh - Linear(8C, classes). The logits are float32 under
any mixed precision policy, as Keras advises for the model's output.
"""

import tensorflow as tf
import tf_keras

from asvit_tf.modeling import backbone as backbone_lib
from asvit_tf.modeling.layers import normalization
from asvit_tf.modeling.layers.linear import linear


class AsViTClassifier(tf_keras.Model):
  """Backbone plus classification head; returns float32 logits."""

  def __init__(self, backbone: backbone_lib.AsViTBackbone, num_classes: int,
               **kwargs):
    super().__init__(**kwargs)
    self.backbone = backbone
    self.num_classes = num_classes
    width = backbone.arch.stage_width(4)
    self.norm = normalization.SwitchableLayerNorm(name='head_norm')
    self.pre_logits = linear(width, 'pre_logits', activation='tanh')
    self.logits = linear(num_classes, 'logits')

  # Graph code: traced without AutoGraph converting every layer (BUILD.md).
  @tf.autograph.experimental.do_not_convert
  def call(self, images, training=None):
    features = self.backbone(images, training=training)['5']
    pooled = tf.reduce_mean(self.norm(features), axis=[1, 2])
    return tf.cast(self.logits(self.pre_logits(pooled)), tf.float32)

  @property
  def checkpoint_items(self):
    """Sub-modules for Model Garden's `init_checkpoint_modules`."""
    return {'backbone': self.backbone}
