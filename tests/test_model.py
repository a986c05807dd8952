"""The backbone and classifier: shapes, elastic stride, windows, saving."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from asvit_tf.modeling import arch as arch_lib
from asvit_tf.modeling import backbone as backbone_lib
from asvit_tf.modeling import builders
from asvit_tf.modeling import window_policy
from asvit_tf.modeling.layers import attention
from asvit_tf.modeling.layers import linear
from asvit_tf.modeling.layers import tokenization
from tests import helpers


@pytest.mark.parametrize('preset', ['seed', 'small', 'base', 'large'])
def test_presets_build_with_stage_feature_shapes(preset):
  spec = arch_lib.parse_arch(preset)
  backbone = builders.build_backbone(spec, 64)
  features = backbone(tf.zeros([2, 64, 64, 3]))
  widths = [spec.stage_width(n) for n in range(1, 5)]
  expected = {'2': (2, 16, 16, widths[0]), '3': (2, 8, 8, widths[1]),
              '4': (2, 4, 4, widths[2]), '5': (2, 2, 2, widths[3])}
  assert {k: tuple(v.shape) for k, v in features.items()} == expected
  assert {k: tuple(v) for k, v in backbone.output_specs.items()} == {
      k: (None,) + v[1:] for k, v in expected.items()}


def test_dilation_follows_stride_as_in_section_4():
  assert [tokenization.dilation_for_stride(4, s) for s in (16, 8, 4)] == [
      5, 2, 1]
  assert [tokenization.dilation_for_stride(8, s) for s in (16, 8, 4)] == [
      4, 2, 1]


def test_stride_change_changes_tokens_and_keeps_weights(tiny_arch):
  model = builders.build_classifier(tiny_arch, 10, 128)
  images = tf.random.stateless_uniform([2, 128, 128, 3], seed=(1, 2))
  before = [w.numpy().copy() for w in model.weights]
  logits_full = model(images).numpy()
  token_sides = {}
  for stride in (16, 8, 4):
    model.backbone.stride = stride
    assert model.backbone.patch_embed.dilation == (
        tokenization.dilation_for_stride(4, stride))
    token_sides[stride] = model.backbone(images)['2'].shape[1]
    model(images)
  assert token_sides == {16: 8, 8: 16, 4: 32}
  assert len(model.weights) == len(before)
  for now, then in zip(model.weights, before):
    np.testing.assert_array_equal(now.numpy(), then)
  np.testing.assert_allclose(model(images).numpy(), logits_full, rtol=1e-5,
                             atol=1e-6)


def test_odd_token_maps_from_coarse_strides(tiny_arch):
  backbone = builders.build_backbone(tiny_arch, 224, stride=16)
  features = backbone(tf.zeros([1, 224, 224, 3]))
  assert [features[k].shape[1] for k in '2345'] == [14, 7, 3, 1]


def test_sizes_the_splits_do_not_divide_fail_clearly(tiny_arch):
  with pytest.raises(window_policy.WindowError) as error:
    builders.build_backbone(tiny_arch, 68)
  message = str(error.value)
  assert 'stage 1' in message and '17' in message and 'S=2' in message
  spec = arch_lib.parse_arch(helpers.TINY_ARCH_2)
  with pytest.raises(window_policy.WindowError, match='stage 2 .* 6 .*S=4'):
    builders.build_backbone(spec, 48)
  with pytest.raises(window_policy.WindowError, match='too small'):
    builders.build_backbone(tiny_arch, 64, stride=16)


def test_stride_the_input_size_cannot_take_is_refused_before_tracing(
    tiny_arch):
  backbone = builders.build_backbone(tiny_arch, 64)
  with pytest.raises(window_policy.WindowError,
                     match='64x64 is too small for stride 16'):
    backbone.stride = 16
  assert backbone.stride == 4 and backbone.patch_embed.dilation == 1
  with pytest.raises(window_policy.WindowError, match='stage 1 .* 9 .*S=2'):
    builders.build_backbone(tiny_arch, 72).check_stride(8)
  backbone.stride = 8
  assert backbone(tf.zeros([1, 64, 64, 3]))['2'].shape[1] == 8


def test_window_policy_keeps_window_side_and_pads(tiny_arch):
  """At 5x the reference size, windows keep their reference side."""
  backbone = builders.build_backbone(tiny_arch, 320, window_policy_name='window',
                                    window_reference_size=64)
  # Reference 64: stage-1 map 16, splits 2 -> window side 8 tokens.
  windows = backbone.stage_windows(320, 320)
  assert windows[0] == ((10, 8), (10, 8))
  assert windows[3] == ((5, 2), (5, 2))  # map 10 padded to 5 windows of 2
  # 336: the stage-3 map of 21 is padded to 6 windows of side 4.
  odd = backbone.stage_windows(336, 336)
  assert odd[2] == ((6, 4), (6, 4))
  features = backbone(tf.zeros([1, 336, 336, 3]))
  assert [features[k].shape[1] for k in '2345'] == [84, 42, 21, 10]


def test_window_padding_leaves_real_tokens_of_a_global_window_unchanged():
  """One window covering the whole map equals plain global attention."""
  layer = backbone_lib.block.attention.WindowAttention(8, 2)
  x = tf.random.stateless_normal([1, 6, 6, 8], seed=(3, 4))
  whole = layer(x, window=((1, 6), (1, 6)))
  tokens = tf.reshape(x, [1, 36, 8])
  qkv = tf.reshape(layer.qkv(tokens), [1, 36, 3, 2, 4])
  q, k, v = [tf.transpose(qkv[:, :, i], [0, 2, 1, 3]) for i in range(3)]
  attn = tf.nn.softmax(tf.matmul(q, k, transpose_b=True) / 2.0)
  ref = tf.reshape(tf.transpose(tf.matmul(attn, v), [0, 2, 1, 3]), [1, 36, 8])
  ref = tf.reshape(layer.proj(ref), [1, 6, 6, 8])
  np.testing.assert_allclose(whole.numpy(), ref.numpy(), atol=1e-5)


def test_checkpoint_and_saved_model_round_trip(tiny_arch, tmp_path):
  model = builders.build_classifier(tiny_arch, 10, 64)
  images = tf.random.stateless_uniform([2, 64, 64, 3], seed=(5, 6))
  expected = model(images).numpy()
  path = tf.train.Checkpoint(model=model).save(str(tmp_path / 'ckpt'))
  fresh = builders.build_classifier(tiny_arch, 10, 64)
  assert not np.allclose(fresh(images).numpy(), expected)
  tf.train.Checkpoint(model=fresh).restore(path).assert_consumed()
  np.testing.assert_allclose(fresh(images).numpy(), expected, atol=1e-6)

  serve = tf.function(lambda x: model(x, training=False),
                      input_signature=[tf.TensorSpec([None, 64, 64, 3])])
  tf.saved_model.save(model, str(tmp_path / 'saved'),
                      signatures={'serving_default': serve})
  loaded = tf.saved_model.load(str(tmp_path / 'saved'))
  served = list(loaded.signatures['serving_default'](images).values())[0]
  np.testing.assert_allclose(served.numpy(), expected, atol=1e-6)


def test_keras_config_round_trip(tiny_arch):
  backbone = builders.build_backbone(tiny_arch, 64, drop_path_rate=0.2)
  clone = backbone_lib.AsViTBackbone.from_config(backbone.get_config())
  assert clone.arch == tiny_arch
  assert clone.get_config() == backbone.get_config()


def test_drop_path_rises_linearly_and_only_acts_in_training(tiny_arch):
  assert backbone_lib.drop_path_rates((1, 1, 2, 1), 0.2) == pytest.approx(
      (0.0, 0.05, 0.1, 0.15, 0.2))
  model = builders.build_classifier(
      tiny_arch.with_depths((2, 1, 1, 1)), 10, 64, drop_path_rate=0.5)
  images = tf.random.stateless_uniform([4, 64, 64, 3], seed=(7, 8))
  np.testing.assert_allclose(model(images, training=False).numpy(),
                             model(images, training=False).numpy())
  tf.random.set_seed(0)
  assert not np.allclose(model(images, training=True).numpy(),
                         model(images, training=False).numpy())


def test_model_garden_factory_builds_registered_backbone():
  from asvit_tf import registry_imports  # pylint: disable=unused-import,g-import-not-at-top
  from asvit_tf.configs import backbones as backbone_cfg  # pylint: disable=g-import-not-at-top
  from official.vision.modeling.backbones import factory as mg_factory  # pylint: disable=g-import-not-at-top
  config = backbone_cfg.Backbone(
      type='asvit', asvit=backbone_cfg.AsViT(arch=helpers.TINY_ARCH,
                                             drop_path_rate=0.1))
  config.override({'asvit': {'stride': 8}})
  specs = tf_keras.layers.InputSpec(shape=[None, 64, 64, 3])
  backbone = mg_factory.build_backbone(specs, config, norm_activation_config=None)
  assert isinstance(backbone, backbone_lib.AsViTBackbone)
  assert backbone.stride == 8
  assert {k: tuple(v) for k, v in backbone.output_specs.items()} == {
      '2': (None, 8, 8, 8), '3': (None, 4, 4, 16), '4': (None, 2, 2, 32),
      '5': (None, 1, 1, 64)}
  bad = backbone_cfg.Backbone(type='asvit',
                              asvit=backbone_cfg.AsViT(arch='8,2,3|4'))
  with pytest.raises(arch_lib.ArchError):
    mg_factory.build_backbone(specs, bad, norm_activation_config=None)


def _plain_attention(q, k, v):
  return tf.matmul(tf.nn.softmax(tf.matmul(q, k, transpose_b=True)), v)


def test_attention_gradient_equals_autodiff_of_the_plain_formula():
  # attention.attend's hand-written backward against TF's autodiff of the
  # same formula (float64): gradients, forward-mode JVPs and second order.
  q, k, v = (tf.random.stateless_normal([2, 3, 7, 4], [i, 0], dtype=tf.float64)
             for i in range(3))
  tangents = tuple(tf.random.stateless_normal([2, 3, 7, 4], [i, 1],
                                              dtype=tf.float64)
                   for i in range(3))

  def derivatives(fn):
    with tf.GradientTape() as outer:
      outer.watch([q, k, v])
      with tf.GradientTape() as inner:
        inner.watch([q, k, v])
        loss = tf.reduce_sum(tf.sin(fn(q, k, v)))
      grads = inner.gradient(loss, [q, k, v])
      norm = tf.add_n([tf.reduce_sum(g * g) for g in grads])
    with tf.autodiff.ForwardAccumulator((q, k, v), tangents) as acc:
      out = fn(q, k, v)
    return [*grads, *outer.gradient(norm, [q, k, v]), acc.jvp(out), out]

  for mine, plain in zip(derivatives(attention.attend),
                         derivatives(_plain_attention)):
    np.testing.assert_allclose(mine.numpy(), plain.numpy(), rtol=1e-10,
                               atol=1e-12)


def test_linear_kernels_are_the_authors_normal_not_a_two_sigma_cut():
  # docs/design.md section 1: timm's trunc_normal_(std=.02) cuts at +-2
  # absolute, in effect N(0, 0.02^2); a cut at 2 standard deviations has std 0.0176.
  tf_keras.utils.set_random_seed(0)
  layer = linear.linear(1024, 'wide')
  layer.build((None, 2048))
  kernel = layer.kernel.numpy()
  assert kernel.std() == pytest.approx(0.02, rel=0.01)
  # A normal has 4.55 % of its mass beyond 2 standard deviations.
  assert np.mean(np.abs(kernel) > 0.04) == pytest.approx(0.0455, abs=0.002)
  assert linear.ClippedNormal.from_config(
      layer.kernel_initializer.get_config()).bound == 2.0


def test_stage_widths_not_divisible_by_heads_build_and_train_a_step():
  # The authors' attention: heads width // heads wide, projected back.
  spec = arch_lib.parse_arch(helpers.UNEVEN_ARCH)
  model = builders.build_classifier(spec, 10, 32)
  attn = model.backbone.stage_blocks[0][0].attn
  assert (attn.num_heads, attn.head_dim, attn.inner_dim) == (2, 4, 8)
  assert attn.qkv.kernel.shape == (9, 24) and attn.proj.kernel.shape == (8, 9)
  images = tf.random.stateless_normal([4, 32, 32, 3], seed=[1, 2])
  labels = tf.constant([1, 7, 3, 3])
  optimizer = tf_keras.optimizers.SGD(0.05)

  def loss_value():
    return tf.reduce_mean(tf_keras.losses.sparse_categorical_crossentropy(
        labels, model(images, training=True), from_logits=True))

  with tf.GradientTape() as tape:
    before = loss_value()
  grads = tape.gradient(before, model.trainable_variables)
  assert all(np.all(np.isfinite(g)) for g in grads)
  optimizer.apply_gradients(zip(grads, model.trainable_variables))
  assert loss_value() < before
