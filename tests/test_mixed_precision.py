"""Mixed precision: the `auto` choice, the attention and LayerNorm in
bfloat16 and float16, the classifier under Model Garden's mixed policies at
every stride, the XLA-compiled steps on a CPU."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

import asvit_tf
from asvit_tf import errors
from asvit_tf import precision
from asvit_tf.modeling import builders
from asvit_tf.modeling.layers import attention
from asvit_tf.modeling.layers import normalization
from tests import helpers

# Relative tolerance against float32: twice the dtype's machine epsilon.
TOLERANCE = {tf.bfloat16: 2 * 2.0 ** -7, tf.float16: 2 * 2.0 ** -10}
POLICIES = {tf.bfloat16: 'mixed_bfloat16', tf.float16: 'mixed_float16'}


@pytest.fixture
def policy(request):
  """Sets the Keras policy of `request.param` (a dtype) for one test."""
  with helpers.keras_policy(POLICIES[request.param]):
    yield request.param


def _cpuinfo(tmp_path, flags):
  path = tmp_path / 'cpuinfo'
  path.write_text(''.join(f'processor\t: {i}\nflags\t\t: fpu sse2 avx2 '
                          f'avx512f {flags}\n\n' for i in range(2)))
  return str(path)


@pytest.mark.parametrize('flags, expected', [
    ('avx512_bf16', 'bfloat16'), ('amx_tile amx_bf16', 'bfloat16'),
    ('avx512_vnni amx_int8', 'float32')])
def test_auto_picks_bfloat16_only_on_cpus_with_bfloat16_instructions(
    tmp_path, monkeypatch, flags, expected):
  monkeypatch.setattr(asvit_tf, 'computes_on_cpu', lambda: True)
  assert precision.resolve('auto', _cpuinfo(tmp_path, flags)) == expected
  assert precision.resolve('auto', str(tmp_path / 'missing')) == 'float32'
  for dtype in precision.DTYPES:
    assert precision.resolve(dtype, _cpuinfo(tmp_path, flags)) == dtype
  assert precision.resolve(None) == 'float32'


def test_auto_is_float32_where_a_gpu_or_tpu_computes(tmp_path, monkeypatch):
  # The CPU of a GPU or TPU host is not what trains: its configs name their
  # precision, and `auto` falls back to float32 there.
  monkeypatch.setattr(asvit_tf, 'computes_on_cpu', lambda: False)
  assert precision.resolve('auto', _cpuinfo(tmp_path, 'amx_bf16')) == 'float32'


def test_unknown_precision_fails_in_one_line():
  with pytest.raises(errors.UsageError) as e:
    precision.resolve('bf16')
  assert str(e.value) == ('runtime.mixed_precision_dtype=bf16; allowed: '
                          'auto, float32, bfloat16, float16')


def _plain_attention(q, k, v):
  return tf.matmul(tf.nn.softmax(tf.matmul(q, k, transpose_b=True)), v)


def _attention_and_gradients(fn, dtype):
  """`fn`'s output and gradients of <output, G> for fixed q, k, v, G."""
  q, k, v, upstream = (tf.random.stateless_normal([2, 2, 49, 8], [i, 0])
                       for i in range(4))
  q, k, v = (tf.cast(t, dtype) for t in (q * 8 ** -0.5, k, v))
  with tf.GradientTape() as tape:
    tape.watch([q, k, v])
    out = fn(q, k, v)
    loss = tf.reduce_sum(tf.cast(out, tf.float32) * upstream)
  return [tf.cast(t, tf.float32).numpy()
          for t in [out, *tape.gradient(loss, [q, k, v])]]


@pytest.mark.parametrize('dtype', [tf.bfloat16, tf.float16])
def test_attention_weights_are_the_float32_softmax_rounded_once(dtype):
  # With v the identity, attend returns its attention weights exactly.
  q, k = (tf.cast(tf.random.stateless_normal([2, 49, 49], [i, 1]) * 3, dtype)
          for i in range(2))
  weights = attention.attend(q, k, tf.eye(49, batch_shape=[2], dtype=dtype))
  scores = tf.cast(tf.matmul(q, k, transpose_b=True), tf.float32)
  np.testing.assert_array_equal(
      weights.numpy(), tf.cast(tf.nn.softmax(scores), dtype).numpy())


@pytest.mark.parametrize('dtype', [tf.bfloat16, tf.float16])
def test_attention_and_its_gradient_match_float32(dtype):
  # Against TF's autodiff of the plain formula in float32. dq and dk hang on
  # the softmax normalization's term of the custom gradient: without it they
  # are off by about 60 % of their size.
  expected = _attention_and_gradients(_plain_attention, tf.float32)
  for name, got, want in zip(
      ('out', 'dq', 'dk', 'dv'),
      _attention_and_gradients(attention.attend, dtype), expected):
    np.testing.assert_allclose(
        got, want, rtol=0, atol=TOLERANCE[dtype] * np.abs(want).max(),
        err_msg=name)


def _layer_norm_and_gradients(layer, inputs, upstream):
  """`layer`'s output and gradients of <output, upstream> for its input,
  gamma and beta, in float32."""
  with tf.GradientTape() as tape:
    tape.watch(inputs)
    outputs = layer(inputs)
    loss = tf.reduce_sum(tf.cast(outputs, tf.float32) * upstream)
  return [tf.cast(t, tf.float32).numpy() for t in
          [outputs, *tape.gradient(loss, [inputs, *layer.weights])]]


@pytest.mark.parametrize('policy', [tf.bfloat16, tf.float16], indirect=True)
def test_layer_norm_and_its_gradient_match_float32(policy):
  # Under mixed precision on a CPU the layer computes its own gradient;
  # against Keras' LayerNormalization and TF's autodiff in float32, on the
  # same (rounded) inputs and upstream gradient.
  assert precision.fuses_on_cpu(policy)
  inputs, upstream = (tf.cast(tf.cast(
      tf.random.stateless_normal([2, 5, 7, 48], [i, 2]) * 3 + 1, policy),
                              tf.float32) for i in range(2))
  layer = normalization.SwitchableLayerNorm()
  layer.build(inputs.shape)
  weights = [tf.random.stateless_normal([48], [i, 3]) for i in range(2)]
  layer.set_weights(weights)
  with helpers.keras_policy('float32'):
    full = tf_keras.layers.LayerNormalization(epsilon=layer.epsilon)
    full.build(inputs.shape)
    full.set_weights(weights)
    expected = _layer_norm_and_gradients(full, inputs, upstream)
  got = _layer_norm_and_gradients(layer, tf.cast(inputs, policy), upstream)
  assert got[0].dtype == np.float32 and layer(inputs).dtype == policy
  for name, value, want in zip(('out', 'd_inputs', 'd_gamma', 'd_beta'),
                               got, expected):
    np.testing.assert_allclose(
        value, want, rtol=0, atol=TOLERANCE[policy] * np.abs(want).max(),
        err_msg=name)


@pytest.mark.parametrize('policy', [tf.bfloat16, tf.float16], indirect=True)
@pytest.mark.parametrize('size, strides', [(64, (4, 8)), (128, (16,))])
def test_classifier_under_mixed_policy_matches_float32(tiny_arch, policy,
                                                       size, strides):
  mixed = builders.build_classifier(tiny_arch, 10, size)
  with helpers.keras_policy('float32'):
    full = builders.build_classifier(tiny_arch, 10, size)
  full.set_weights(mixed.get_weights())
  assert {v.dtype for v in mixed.variables} == {tf.float32}
  images = tf.random.stateless_normal([2, size, size, 3], [0, 0])
  for stride in strides:  # The re-tokenization projection at each stride.
    mixed.backbone.stride = full.backbone.stride = stride
    results = []
    for model in (mixed, full):
      with tf.GradientTape() as tape:
        logits = model(images, training=False)
        loss = tf.reduce_sum(tf.math.log_softmax(logits)[:, 0])
      results.append((logits, tape.gradient(loss, model.trainable_variables)))
    (logits, grads), (full_logits, full_grads) = results
    assert logits.dtype == tf.float32
    features = mixed.backbone(images)['5']
    assert features.dtype == policy
    np.testing.assert_allclose(
        logits, full_logits, rtol=0,
        atol=4 * TOLERANCE[policy] * np.abs(full_logits).max())
    flat, full_flat = (np.concatenate([np.ravel(g) for g in gs])
                       for gs in (grads, full_grads))
    assert np.all(np.isfinite(flat))
    cosine = flat @ full_flat / np.linalg.norm(flat) / np.linalg.norm(
        full_flat)
    assert cosine > 0.99, (stride, cosine)


@pytest.mark.parametrize('policy', [tf.bfloat16, tf.float16], indirect=True)
def test_cpu_fuses_element_wise_steps_with_the_plain_steps_values(
    tiny_arch, policy):
  # LayerNorm, the GELU and the attention gradient's product run
  # XLA-compiled under mixed precision on a CPU; without the fusion (as
  # exported) and in float32 the same model traces none, and the values
  # agree.
  model = builders.build_classifier(tiny_arch, 10, 64)
  images = tf.random.stateless_normal([2, 64, 64, 3], [0, 0])

  @tf.function
  def step(images):
    # Scaled as float16 training scales its loss: unscaled, some gradients
    # fall into float16's subnormal range.
    with tf.GradientTape() as tape:
      loss = 2.0 ** 10 * tf.reduce_sum(
          tf.math.log_softmax(model(images))[:, 0])
    return [loss, *tape.gradient(loss, model.trainable_variables)]

  fused = step.get_concrete_function(images)
  with precision.without_xla_fusion():
    plain = tf.function(step.python_function).get_concrete_function(images)
  with helpers.keras_policy('float32'):
    full = builders.build_classifier(tiny_arch, 10, 64)
    full_graph = tf.function(full).get_concrete_function(images).graph
  assert helpers.xla_compiled_calls(fused.graph.as_graph_def()) > 0
  assert helpers.xla_compiled_calls(plain.graph.as_graph_def()) == 0
  assert helpers.xla_compiled_calls(full_graph.as_graph_def()) == 0
  for got, want in zip(fused(images), plain(images)):
    np.testing.assert_allclose(
        got, want, rtol=0, atol=4 * TOLERANCE[policy] * np.abs(want).max())
