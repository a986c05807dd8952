"""Training-free complexity metrics: exactness against independent computations.

Sec. 3.2-3.3, docs/design.md section 2. Curve metrics are checked against
reverse-mode Jacobians, central finite differences and the closed forms of a linear
network's ellipse; the NTK against an explicit per-example loop and a linear
network's closed form.
"""

import gc
import math
import multiprocessing
import weakref

import numpy as np
import pytest
import tensorflow as tf

from asvit_tf import errors
from asvit_tf.complexity import curve
from asvit_tf.complexity import grappler
from asvit_tf.complexity import initialization
from asvit_tf.complexity import measurer as measurer_lib
from asvit_tf.complexity import metric as metric_lib
from asvit_tf.complexity import ntk
from asvit_tf.complexity import parallel
from asvit_tf.complexity import settings as settings_lib
from asvit_tf.modeling import arch as arch_lib
from asvit_tf.modeling import builders
from asvit_tf.modeling.layers import normalization
from asvit_tf.search import reinforce
from tests import helpers
from tests.helpers import TINY_ARCH
from tests.helpers import TINY_ARCH_2
from tests.helpers import UNEVEN_ARCH

SIZE = 32
SHAPE = (SIZE, SIZE, 3)


@pytest.fixture(scope='module')
def backbone64():
  """The tiny As-ViT backbone in float64, for exactness checks."""
  # The policy, not floatx: floatx is ignored once any policy has been set.
  with helpers.keras_policy('float64'):
    model = builders.build_backbone(arch_lib.parse_arch(TINY_ARCH), SIZE)
  assert {v.dtype for v in model.variables} == {tf.float64}
  initialization.reinitialize(model, 0)
  return model


def circle64(num: int, sampling: str, seed: int = 0):
  thetas = tf.constant(curve.sample_thetas(num, sampling), tf.float64)
  u0, u1 = (tf.constant(u) for u in curve.orthonormal_pair(SHAPE, seed))
  return thetas, u0, u1, tf.constant(1.0, tf.float64)


def test_velocity_equals_reverse_mode_and_finite_differences(backbone64):
  f = measurer_lib.pooled_features(backbone64, layer_norm=False)
  thetas, u0, u1, scale = circle64(5, 'uniform_exclusive')
  v = curve.velocity(f, thetas, u0, u1, scale).numpy()
  with tf.GradientTape() as tape:
    tape.watch(thetas)
    features = f(curve.circle_points(thetas, u0, u1, scale))
  # Each h(theta_i) depends on theta_i only: the diagonal of the Jacobian.
  jacobian = tape.jacobian(features, thetas).numpy()  # (n, D, n)
  reverse = np.stack([jacobian[i, :, i] for i in range(len(v))])
  eps = 1e-5
  central = (f(curve.circle_points(thetas + eps, u0, u1, scale)) -
             f(curve.circle_points(thetas - eps, u0, u1, scale))) / (2 * eps)
  length = curve.length_distortion(v)
  assert length > 0
  for other in (reverse, central.numpy()):
    assert abs(curve.length_distortion(other) - length) / length < 1e-3
    np.testing.assert_allclose(v, other, rtol=1e-3, atol=1e-3 * abs(v).max())


@pytest.mark.slow
def test_acceleration_equals_finite_differences_of_velocity(backbone64):
  f = measurer_lib.pooled_features(backbone64, layer_norm=False)
  thetas, u0, u1, scale = circle64(4, 'uniform_exclusive', seed=3)
  _, a = curve.velocity_and_acceleration(f, thetas, u0, u1, scale)
  eps = 1e-4
  central = (curve.velocity(f, thetas + eps, u0, u1, scale) -
             curve.velocity(f, thetas - eps, u0, u1, scale)) / (2 * eps)
  np.testing.assert_allclose(a.numpy(), central.numpy(), rtol=1e-4,
                             atol=1e-4 * abs(a.numpy()).max())


class TestLinearEllipse:
  """f(x) = x W maps the circle onto the ellipse p cos t + q sin t."""

  num_features = 5

  def setup_method(self):
    rng = np.random.default_rng(7)
    self.w = tf.constant(rng.standard_normal(
        (int(np.prod(SHAPE)), self.num_features)))

  def f(self, images):
    return tf.matmul(tf.reshape(images, [images.shape[0], -1]), self.w)

  def closed_form(self, thetas, u0, u1, scale):
    p = scale * u0.numpy().reshape(-1) @ self.w.numpy()
    q = scale * u1.numpy().reshape(-1) @ self.w.numpy()
    t = thetas.numpy()[:, None]
    v = -p * np.sin(t) + q * np.cos(t)
    a = -(p * np.cos(t) + q * np.sin(t))
    area = math.sqrt(p @ p * (q @ q) - (p @ q) ** 2)
    return v, a, area

  @pytest.mark.parametrize('sampling', settings_lib.THETA_SAMPLINGS)
  def test_curvature_matches_closed_form(self, sampling):
    thetas, u0, u1, _ = circle64(10, sampling)
    scale = curve.circle_scale(SHAPE, sqrt_n_scale=True)
    v, a = curve.velocity_and_acceleration(
        self.f, thetas, u0, u1, tf.constant(scale, tf.float64))
    v_true, a_true, area = self.closed_form(thetas, u0, u1, scale)
    np.testing.assert_allclose(v.numpy(), v_true, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(a.numpy(), a_true, rtol=1e-9, atol=1e-9)
    speed = np.linalg.norm(v_true, axis=1)
    kappa_true = np.sum(area / speed ** 3)
    assert curve.curvature(v, a) == pytest.approx(kappa_true, rel=1e-9)
    assert curve.length_distortion(v) == pytest.approx(speed.sum(), rel=1e-9)
    assert curve.length_distortion_curvature(
        v, a, 'constant_norm') == pytest.approx(
            np.sum(np.linalg.norm(a_true, axis=1) / speed), rel=1e-9)
    assert curve.length_distortion_curvature(v, a, 'exact') == pytest.approx(
        np.sum(area / speed ** 2), rel=1e-9)

  def test_unit_tangent_turns_once_around_the_ellipse(self):
    # A closed convex plane curve has total curvature 2 pi.
    num = 64
    v, a = curve.velocity_and_acceleration(self.f, *circle64(
        num, 'uniform_exclusive'))
    total = curve.length_distortion_curvature(v, a, 'exact') * 2 * math.pi / num
    assert total == pytest.approx(2 * math.pi, rel=1e-6)


def test_ntk_of_linear_network_is_scaled_gram_matrix():
  rng = np.random.default_rng(1)
  images = tf.constant(rng.standard_normal((6, 4, 4, 3)))
  w = tf.Variable(rng.standard_normal((48, 3)))
  f = lambda x: tf.matmul(tf.reshape(x, [x.shape[0], -1]), w)
  theta = ntk.ntk_matrix(f, [w], images).numpy()
  flat = images.numpy().reshape(6, -1)
  np.testing.assert_allclose(theta, 3 * flat @ flat.T, rtol=1e-10)
  eigenvalues = np.linalg.eigvalsh(flat @ flat.T)
  assert ntk.condition_number(theta) == pytest.approx(
      eigenvalues[-1] / eigenvalues[0], rel=1e-8)


def _tiny_ntk_inputs(arch):
  """Features, NTK weights and 4 images of a seeded `arch` backbone."""
  model = builders.build_backbone(arch, SIZE)
  initialization.reinitialize(model, 5)
  images = tf.constant(np.random.default_rng(2).standard_normal(
      (4,) + SHAPE), tf.float32)
  return (measurer_lib.pooled_features(model, layer_norm=True),
          measurer_lib.ntk_variables(model, 'weights'), images)


def test_ntk_equals_explicit_per_example_loop(tiny_arch):
  f, weights, images = _tiny_ntk_inputs(tiny_arch)
  theta = tf.function(lambda x: ntk.ntk_matrix(f, weights, x))(images)
  rows = []
  for image in images:
    with tf.GradientTape() as tape:
      total = tf.reduce_sum(f(image[tf.newaxis]))
    rows.append(np.concatenate([g.numpy().ravel()
                                for g in tape.gradient(total, weights)]))
  jacobian = np.stack(rows).astype(np.float64)
  eigenvalues = np.linalg.eigvalsh(jacobian @ jacobian.T)
  np.testing.assert_allclose(theta.numpy(), jacobian @ jacobian.T, rtol=1e-4)
  assert ntk.condition_number(theta.numpy()) == pytest.approx(
      eigenvalues[-1] / eigenvalues[0], rel=1e-3)


def test_ntk_does_not_depend_on_the_order_of_the_parameters(tiny_arch):
  # ntk.py: J J^T is summed in float64, so reordering J's columns changes
  # only rounding far below the condition number's reported digits (summed
  # in float32 it moved by up to 0.1 % at 224).
  f, weights, images = _tiny_ntk_inputs(tiny_arch)
  thetas = [tf.function(lambda x, w=w: ntk.ntk_matrix(f, w, x))(images)
            for w in (weights, weights[::-1])]
  assert thetas[0].dtype == tf.float64
  np.testing.assert_allclose(thetas[0].numpy(), thetas[1].numpy(), rtol=1e-12)
  assert ntk.condition_number(thetas[0].numpy()) == pytest.approx(
      ntk.condition_number(thetas[1].numpy()), rel=1e-10)


@pytest.mark.parametrize('arch', [TINY_ARCH, TINY_ARCH_2])
def test_metrics_with_fewer_graph_passes_equal_the_fully_optimized(arch):
  # The Measurer calls L_E's and the NTK's functions with only some of
  # Grappler's passes (grappler.py): the same v and Theta as with all of
  # them, to float32 rounding, and TF's options back as they were, also
  # after an error inside.
  model = builders.build_backbone(arch_lib.parse_arch(arch), SIZE)
  initialization.reinitialize(model, 5)
  curve_f = measurer_lib.pooled_features(model, layer_norm=False)
  ntk_f = measurer_lib.pooled_features(model, layer_norm=True)
  weights = measurer_lib.ntk_variables(model, 'weights')
  images = tf.constant(np.random.default_rng(2).standard_normal(
      (4,) + SHAPE), tf.float32)
  circle = (tf.constant(curve.sample_thetas(4, 'uniform_exclusive'),
                        tf.float32),
            *(tf.constant(u, tf.float32)
              for u in curve.orthonormal_pair(SHAPE, 0)),
            tf.constant(1.0))
  velocity = lambda: tf.function(
      lambda *a: curve.velocity(curve_f, *a))(*circle)
  ntk_of = lambda: tf.function(
      lambda x: ntk.ntk_matrix(ntk_f, weights, x))(images)
  options = tf.config.optimizer.get_experimental_options()
  optimized = velocity().numpy(), ntk_of().numpy()
  with grappler.passes(grappler.LENGTH_DISTORTION_PASSES):
    assert not tf.config.optimizer.get_experimental_options()['remapping']
    fewer_v = velocity().numpy()
  with grappler.passes(grappler.NTK_PASSES):
    assert tf.config.optimizer.get_experimental_options()[
        'disable_meta_optimizer']
    fewer_theta = ntk_of().numpy()
  assert tf.config.optimizer.get_experimental_options() == options
  with pytest.raises(ZeroDivisionError):
    with grappler.passes(grappler.LENGTH_DISTORTION_PASSES):
      _ = 1 / 0
  assert tf.config.optimizer.get_experimental_options() == options
  np.testing.assert_allclose(fewer_v, optimized[0], rtol=1e-5, atol=1e-9)
  assert curve.length_distortion(fewer_v) == pytest.approx(
      curve.length_distortion(optimized[0]), rel=1e-6)
  np.testing.assert_allclose(fewer_theta, optimized[1], rtol=1e-5)
  assert ntk.condition_number(fewer_theta) == pytest.approx(
      ntk.condition_number(optimized[1]), rel=1e-5)


def test_ntk_parameters_are_the_authors_weights(tiny_arch):
  # docs/design.md section 2: every parameter named `weight`: kernels and
  # LayerNorm gammas, not biases or betas.
  model = builders.build_backbone(tiny_arch, SIZE)
  names = [v.name for v in measurer_lib.ntk_variables(model, 'weights')]
  kernels = [v.name for v in measurer_lib.ntk_variables(model, 'kernels')]
  gammas = [n for n in names if n.endswith('gamma:0')]
  # Kernels: patch conv, 3 re-embeddings, 4 blocks x (qkv, proj, fc1, fc2).
  assert len(kernels) == 1 + 3 + 4 * 4
  # Gammas: patch norm, 3 re-embedding norms, 4 blocks x 2 norms.
  assert len(gammas) == 1 + 3 + 4 * 2
  assert sorted(names) == sorted(kernels + gammas)
  assert not any(n.endswith(('bias:0', 'beta:0')) for n in names)
  with pytest.raises(errors.UsageError, match="ntk_parameters='all'"):
    measurer_lib.ntk_variables(model, 'all')


def test_two_search_steps_share_circles_and_ntk_batches(monkeypatch):
  # docs/design.md section 2: the circles and NTK images are drawn once per
  # run, one per initialization index, and reused for every topology.
  inputs = []
  compiled_type = measurer_lib._Compiled  # pylint: disable=protected-access
  original_init = compiled_type.__init__

  def recording_init(self, arch, image_size, settings):
    original_init(self, arch, image_size, settings)
    velocity, ntk_matrix = self.velocity, self.ntk_matrix

    def record_velocity(thetas, u0, u1, scale):
      inputs.append((str(arch), 'circle', u0.numpy(), u1.numpy()))
      return velocity(thetas, u0, u1, scale)

    def record_ntk(images):
      inputs.append((str(arch), 'ntk', images.numpy()))
      return ntk_matrix(images)

    self.velocity, self.ntk_matrix = record_velocity, record_ntk

  monkeypatch.setattr(compiled_type, '__init__', recording_init)
  metric = metric_lib.measurer_metric(SIZE, 'digits', repeats=2,
                                      ntk_batch_size=2, seed=0)
  search = reinforce.Search(reinforce.SearchConfig(steps=2, image_size=SIZE))
  records = [search.step(metric) for _ in range(2)]
  assert records[0]['arch'] != records[1]['arch']
  assert records[0]['metric_seed'] != records[1]['metric_seed']
  by_arch = {}
  for arch, kind, *arrays in inputs:
    by_arch.setdefault(arch, {}).setdefault(kind, []).append(arrays)
  first, second = by_arch.values()
  for kind in ('circle', 'ntk'):
    assert len(first[kind]) == len(second[kind]) == 2  # per initialization
    for repeat in range(2):
      for a, b in zip(first[kind][repeat], second[kind][repeat]):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[kind][0][0], first[kind][1][0])


def test_bad_ntk_is_nan_or_inf_not_an_error():
  assert math.isnan(ntk.condition_number(np.full((3, 3), np.nan)))
  assert math.isinf(ntk.condition_number(np.zeros((3, 3))))
  w = tf.Variable(tf.ones([12, 2]))
  f = lambda x: tf.matmul(tf.reshape(x, [x.shape[0], -1]), w) * np.inf
  theta = ntk.ntk_matrix(f, [w], tf.ones([3, 2, 2, 3]))
  assert math.isnan(ntk.condition_number(theta.numpy()))


def test_reinitialize_draws_the_training_init_seeded(tiny_arch):
  model = builders.build_backbone(tiny_arch, SIZE)
  initialization.reinitialize(model, 11)
  first = [v.numpy() for v in model.variables]
  initialization.reinitialize(model, 12)
  second = [v.numpy() for v in model.variables]
  initialization.reinitialize(model, 11)
  for variable, x, y in zip(model.variables, first, second):
    np.testing.assert_array_equal(variable.numpy(), x)
    name = variable.name
    if 'embed/kernel' in name and 'stage_1' in name:
      bound = np.prod(x.shape[:3]) ** -0.5  # PyTorch's conv default
      assert np.abs(x).max() <= bound and np.abs(x).max() > 0.9 * bound
    elif 'kernel' in name:  # N(0, 0.02^2), clipped at +-2 only
      assert 0.015 < x.std() < 0.025 and np.abs(x).max() < 2
    elif name.endswith('gamma:0'):
      np.testing.assert_array_equal(x, 1.0)
    elif 'stage_1_embed/bias' not in name:  # zero biases and betas
      np.testing.assert_array_equal(x, 0.0)
    if x.std() > 0:
      assert not np.array_equal(x, y)


@pytest.mark.slow
def test_measurer_is_deterministic_and_never_retraces(tiny_arch):
  measurer = measurer_lib.Measurer(SIZE, repeats=2, seed=3)
  names = settings_lib.METRICS
  first = measurer.measure(tiny_arch, names)
  again = measurer.measure(tiny_arch, names)
  other = measurer.measure(tiny_arch, names, seed=4)
  compiled = measurer._compiled(tiny_arch)  # pylint: disable=protected-access
  for function in (compiled.velocity_and_acceleration, compiled.ntk_matrix):
    assert function.experimental_get_tracing_count() == 1
  assert list(first) == list(names)
  for name in names:
    result = first[name]
    assert result.name == name and len(result.values) == 2
    # Same seeds; CPU kernels may reorder sums in the last bits.
    assert result.values == pytest.approx(again[name].values, rel=1e-6)
    assert result.values != other[name].values
    assert result.mean == pytest.approx(np.mean(result.values))
    assert result.std == pytest.approx(np.std(result.values))
    assert result.seconds > 0 and np.all(np.isfinite(result.values))
  assert first['ntk'].mean >= 1
  # Length distortion alone takes the first-order path, same values.
  alone = measurer.measure(tiny_arch, ['length_distortion'])
  assert alone['length_distortion'].values == pytest.approx(
      first['length_distortion'].values, rel=1e-5)


def test_evicted_topologies_leave_no_traced_graph_alive(tiny_arch):
  # A search measures hundreds of topologies in one process: the graphs of
  # those the cache dropped must be freed, or the process grows each step.
  measurer = measurer_lib.Measurer(
      SIZE, settings=settings_lib.Settings(ntk_batch_size=2), repeats=1)
  measurer.measure(tiny_arch)
  compiled = measurer._compiled(tiny_arch)  # pylint: disable=protected-access
  graphs = [weakref.ref(function.get_concrete_function().graph)
            for function in (compiled.velocity, compiled.ntk_matrix)]
  del compiled
  for expansion in range(3, 3 + measurer_lib.CACHE_SIZE):  # tiny has 2
    arch = arch_lib.parse_arch(
        f'4,2,{expansion},1|2,1,2,1|2,1,2,1|2,1,2,1|16,8')
    measurer.measure(arch, ['length_distortion'])
  gc.collect()
  assert [graph() for graph in graphs] == [None, None]


def test_settings_change_what_is_measured(tiny_arch):
  base = settings_lib.Settings(num_thetas=4)
  results = {}
  for label, settings in (
      ('code', base),
      ('scaled', settings_lib.Settings(num_thetas=4, sqrt_n_scale=True)),
      ('ln_on', settings_lib.Settings(num_thetas=4,
                                      layer_norm_off_for_length=False))):
    measurer = measurer_lib.Measurer(SIZE, settings=settings, repeats=1)
    results[label] = measurer.measure(
        tiny_arch, ['length_distortion'])['length_distortion'].mean
    # pylint: disable=protected-access
    model = measurer._compiled(tiny_arch).model
    norms = [l for l in model._flatten_layers()
             if isinstance(l, normalization.SwitchableLayerNorm)]
    # pylint: enable=protected-access
    assert norms and all(l.enabled for l in norms)
  assert len(set(results.values())) == 3
  np.testing.assert_allclose(curve.sample_thetas(4, 'uniform_exclusive'),
                             [0, math.pi / 2, math.pi, 3 * math.pi / 2])
  assert curve.sample_thetas(4, 'linspace_inclusive')[-1] == 2 * math.pi
  assert curve.circle_scale((2, 2, 3), True) == pytest.approx(math.sqrt(12))


def test_bad_input_raises_one_line_usage_errors(tiny_arch):
  measurer = measurer_lib.Measurer(SIZE, repeats=1)
  with pytest.raises(errors.UsageError, match="'lenght'.*allowed: length_"):
    measurer.measure(tiny_arch, ['lenght'])
  with pytest.raises(errors.UsageError, match='theta_sampling'):
    settings_lib.Settings(theta_sampling='random')
  with pytest.raises(errors.UsageError,
                     match=r'\(>= 80, 32, 32, 3\), one NTK batch per'):
    measurer_lib.Measurer(SIZE, images=np.zeros((4,) + SHAPE))


@pytest.mark.parametrize('arch', [TINY_ARCH, TINY_ARCH_2, UNEVEN_ARCH])
def test_velocity_fast_path_equals_forward_mode(arch):
  # curve.velocity transposes a reverse-mode pass; tf.autodiff's forward
  # mode is the reference it must equal on every topology.
  model = builders.build_backbone(arch_lib.parse_arch(arch), SIZE)
  initialization.reinitialize(model, 1)
  f = measurer_lib.pooled_features(model, layer_norm=False)
  thetas = tf.constant(curve.sample_thetas(4, 'linspace_inclusive'),
                       tf.float32)
  u0, u1 = (tf.constant(u, tf.float32)
            for u in curve.orthonormal_pair(SHAPE, 2))
  scale = tf.constant(1.0)
  fast = curve.velocity(f, thetas, u0, u1, scale).numpy()
  with tf.autodiff.ForwardAccumulator(thetas, tf.ones_like(thetas)) as acc:
    features = f(curve.circle_points(thetas, u0, u1, scale))
  reference = acc.jvp(features).numpy()
  np.testing.assert_allclose(fast, reference, rtol=1e-4,
                             atol=1e-5 * abs(reference).max())
  assert curve.length_distortion(fast) == pytest.approx(
      curve.length_distortion(reference), rel=1e-6)


def test_two_worker_processes_measure_what_one_process_measures():
  # asvit_tf.complexity.parallel: L_E and the NTK, each in its own process,
  # are the in-process values on two topologies (the same functions; the
  # thread count moves only last bits, so at most a rounding neighbour of 5
  # digits).
  archs = [arch_lib.parse_arch(a) for a in (TINY_ARCH, TINY_ARCH_2)]
  values = {}
  for workers in (1, 2):
    metric = metric_lib.measurer_metric(SIZE, 'digits', repeats=2,
                                        ntk_batch_size=2, seed=0,
                                        workers=workers)
    values[workers] = [metric(arch, 11) for arch in archs]
  assert values[2] == [pytest.approx(v, rel=1e-4) for v in values[1]]
  assert len({v for pair in values[1] for v in pair}) == 4


def test_a_worker_refusing_its_inputs_is_one_usage_error():
  with pytest.raises(errors.UsageError,
                     match=r'\(>= 4, 32, 32, 3\), one NTK batch per'):
    parallel.TwoProcessMeasurer(SIZE, np.zeros((3,) + SHAPE, np.float32),
                                settings_lib.Settings(ntk_batch_size=2),
                                repeats=2, seed=0)
  assert not [p for p in multiprocessing.active_children()
              if p.name.startswith('asvit-')]


def test_velocity_traces_no_gradients_with_respect_to_weights(tiny_arch):
  # Every search step traces L_E for a never-seen topology: the transposed
  # reverse pass differentiates through theta alone, so each dense layer's
  # matmul is traced three times (forward, its transpose for the reverse
  # pass, that transpose's derivative) and never for a weight gradient.
  compiled = measurer_lib._Compiled(  # pylint: disable=protected-access
      tiny_arch, SIZE, settings_lib.Settings())

  def matmuls(function: tf.types.experimental.GenericFunction) -> int:
    graph = function.get_concrete_function().graph
    return sum(op.type == 'MatMul' for op in graph.get_operations())

  features = measurer_lib.pooled_features(compiled.model, layer_norm=False)
  forward = tf.function(features, autograph=False,
                        input_signature=[tf.TensorSpec((2,) + SHAPE)])
  assert matmuls(forward) > 0
  assert matmuls(compiled.velocity) == 3 * matmuls(forward)
