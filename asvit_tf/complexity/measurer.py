"""Training-free complexity of As-ViT architectures, mean over initializations.

Sec. 3.2-3.3 and Appendix A; docs/design.md. Each metric is measured on the
GAP of the backbone's last stage ('5', before the final LayerNorm and head)
for `repeats` seeded initializations of one built model. As the authors'
code, the inputs belong to the run, not to the architecture: initialization
r of every architecture sees the same input circle and the same NTK batch,
drawn once from the Measurer's seed, so differences between architectures
are not circle-to-circle noise. The traced functions are cached per
architecture: re-initializing assigns variables and never retraces, and
measuring an architecture again reuses everything. Each initialization
serves every requested metric (one re-initialization each).
"""

import collections
import contextlib
import dataclasses
import time
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf
import tf_keras

from tensorflow.python.framework import ops  # pylint: disable=g-direct-tensorflow-import

from asvit_tf import errors
from asvit_tf.complexity import curve
from asvit_tf.complexity import grappler
from asvit_tf.complexity import initialization
from asvit_tf.complexity import ntk as ntk_lib
from asvit_tf.complexity import settings as settings_lib
from asvit_tf.data import sources
from asvit_tf.modeling import arch as arch_lib
from asvit_tf.modeling import builders
from asvit_tf.modeling.layers import normalization

# Built models kept at once; a search measures each architecture few times.
CACHE_SIZE = 4
# One initialization's values of a group of metrics: repeat -> {name: value}.
MeasureOnce = Callable[[int], Dict[str, float]]


@dataclasses.dataclass
class MetricResult:
  """One metric of one architecture over the initializations."""
  name: str
  values: List[float]   # one per initialization
  mean: float           # NaN/inf allowed for 'ntk' = bad architecture
  std: float
  seconds: float        # wall time spent on this metric for this architecture


def pooled_features(model: tf_keras.Model,
                    layer_norm: bool) -> Callable[[tf.Tensor], tf.Tensor]:
  """images -> (n, D): GAP of the '5' map, LayerNorms on or off.

  The LayerNorm switch is read when traced, so it is set around the call.
  """

  def features(images: tf.Tensor) -> tf.Tensor:
    normalization.set_layer_norms(model, layer_norm)
    try:
      return tf.reduce_mean(model(images, training=False)['5'], axis=[1, 2])
    finally:
      normalization.set_layer_norms(model, True)

  return features


_NTK_VARIABLE_PREFIXES = {'weights': ('kernel', 'gamma'),
                          'kernels': ('kernel',)}


def ntk_variables(model: tf_keras.Model, which: str) -> List[tf.Variable]:
  """The NTK's parameters: 'weights' (kernels and LayerNorm gammas, what the
  authors' code names `weight`) or 'kernels' (weight matrices only)."""
  settings_lib.check_choice('ntk_parameters', which,
                            settings_lib.NTK_PARAMETERS)
  prefixes = _NTK_VARIABLE_PREFIXES[which]
  return [v for v in model.trainable_variables
          if v.name.split('/')[-1].startswith(prefixes)]


class _Compiled:
  """A built backbone and its traced metric functions.

  The metric code has no tensor-dependent Python control flow, so the
  functions are traced without autograph: measured 0.2 s less tracing per new
  architecture (a search traces a new one every step).
  """

  def __init__(self, arch: arch_lib.ArchSpec, image_size: int,
               settings: settings_lib.Settings):
    self.model = builders.build_backbone(arch, image_size)
    image = tf.TensorSpec([image_size, image_size, 3], tf.float32)
    circle = (tf.TensorSpec([settings.num_thetas], tf.float32), image, image,
              tf.TensorSpec([], tf.float32))
    curve_features = pooled_features(
        self.model, layer_norm=not settings.layer_norm_off_for_length)
    self.velocity = tf.function(
        lambda *args: curve.velocity(curve_features, *args),
        input_signature=circle, autograph=False)
    self.velocity_and_acceleration = tf.function(
        lambda *args: curve.velocity_and_acceleration(curve_features, *args),
        input_signature=circle, autograph=False)
    ntk_features = pooled_features(self.model, layer_norm=True)
    weights = ntk_variables(self.model, settings.ntk_parameters)
    self.ntk_matrix = tf.function(
        lambda images: ntk_lib.ntk_matrix(ntk_features, weights, images),
        input_signature=[tf.TensorSpec(
            [settings.ntk_batch_size, image_size, image_size, 3],
            tf.float32)], autograph=False)


@contextlib.contextmanager
def custom_gradients_released() -> Iterator[None]:
  """Unregisters, on exit, the gradient functions traced inside.

  In a traced function every call of a `tf.custom_gradient` function (the
  attention's, asvit_tf.modeling.layers.attention) registers its gradient
  function in TF's process-wide gradient registry under a new name, and
  nothing ever removes it; the function holds tensors of the graph being
  traced, so every traced graph stayed alive with its C++ graph. A search
  traces new graphs every step: at 224 its two metric processes grew by
  about 60 MB a step together until, 336 steps in, they held all 24 GB of
  the machine. The metric functions build their gradients inside their own
  trace, so once a call returns its registrations are not needed.
  """
  registry = ops.gradient_registry._registry  # pylint: disable=protected-access
  before = set(registry)
  try:
    yield
  finally:
    for name in set(registry) - before:
      del registry[name]


def ntk_image_count(settings: settings_lib.Settings, repeats: int) -> int:
  """Images a Measurer needs: one NTK batch per initialization."""
  return settings.ntk_batch_size * repeats


def _summary(name: str, values: List[float], seconds: float) -> MetricResult:
  array = np.asarray(values, np.float64)
  with np.errstate(invalid='ignore'):
    return MetricResult(name, [float(x) for x in values],
                        float(np.mean(array)), float(np.std(array)), seconds)


def _seed(*entropy: int) -> int:
  return int(np.random.SeedSequence(list(entropy)).generate_state(1)[0])


class Measurer:
  """Measures the metrics of architectures at one image size."""

  def __init__(self, image_size: int, images: Optional[np.ndarray] = None,
               settings: settings_lib.Settings = settings_lib.Settings(),
               repeats: int = 5, seed: int = 0):
    """`images`: `repeats` NTK batches back to back, batch r for
    initialization r (default: digits drawn from `seed`); `seed` also draws
    the input circles."""
    if repeats < 1:
      raise errors.UsageError(f'repeats={repeats} is too small; allowed: 1 '
                              'or more')
    self.image_size = image_size
    self.settings = settings
    self.repeats = repeats
    self.seed = seed
    batch = settings.ntk_batch_size
    count = ntk_image_count(settings, repeats)
    if images is None:
      images = sources.load_images('digits', image_size, count, seed)
    images = np.asarray(images, np.float32)
    if images.ndim != 4 or images.shape[0] < count or (
        images.shape[1:] != (image_size, image_size, 3)):
      raise errors.UsageError(
          f'images of shape {images.shape} do not fit; allowed: '
          f'(>= {count}, {image_size}, {image_size}, 3), one NTK batch per '
          'initialization')
    self._ntk_batches = [tf.constant(images[r * batch:(r + 1) * batch])
                         for r in range(repeats)]
    self._image_shape = (image_size, image_size, 3)
    self._circles = [
        tuple(tf.constant(u, tf.float32) for u in curve.orthonormal_pair(
            self._image_shape, _seed(seed, repeat, 1)))
        for repeat in range(repeats)]
    self._thetas = tf.constant(
        curve.sample_thetas(settings.num_thetas, settings.theta_sampling),
        tf.float32)
    self._scale = tf.constant(
        curve.circle_scale(self._image_shape, settings.sqrt_n_scale),
        tf.float32)
    self._cache = collections.OrderedDict()

  def _compiled(self, arch: arch_lib.ArchSpec) -> _Compiled:
    key = arch_lib.format_arch(arch)
    if key in self._cache:
      self._cache.move_to_end(key)
    else:
      self._cache[key] = _Compiled(arch, self.image_size, self.settings)
      while len(self._cache) > CACHE_SIZE:
        self._cache.popitem(last=False)
    return self._cache[key]

  def circle(self, repeat: int) -> Tuple[tf.Tensor, tf.Tensor]:
    """u0, u1 of initialization `repeat`'s input circle, fixed for the run."""
    return self._circles[repeat]

  def ntk_batch(self, repeat: int) -> tf.Tensor:
    """Initialization `repeat`'s NTK images, fixed for the run."""
    return self._ntk_batches[repeat]

  def _curve_values(self, compiled: _Compiled, names: Sequence[str],
                    repeat: int) -> Dict[str, float]:
    args = (self._thetas, *self.circle(repeat), self._scale)
    if any(n in settings_lib.SECOND_ORDER_METRICS for n in names):
      v, a = (t.numpy() for t in compiled.velocity_and_acceleration(*args))
    else:
      with grappler.passes(grappler.LENGTH_DISTORTION_PASSES):
        v, a = compiled.velocity(*args).numpy(), None
    values = {}
    for name in names:
      if name == 'length_distortion':
        values[name] = curve.length_distortion(v)
      elif name == 'curvature':
        values[name] = curve.curvature(v, a)
      else:
        values[name] = curve.length_distortion_curvature(
            v, a, self.settings.unit_tangent_derivative)
    return values

  def _ntk_value(self, compiled: _Compiled,
                 repeat: int) -> Dict[str, float]:
    with grappler.passes(grappler.NTK_PASSES):
      theta = compiled.ntk_matrix(self.ntk_batch(repeat)).numpy()
    return {'ntk': ntk_lib.condition_number(theta)}

  def _over_initializations(
      self, compiled: _Compiled, seed: int,
      groups: Sequence[Tuple[Sequence[str], MeasureOnce]]
  ) -> Dict[str, MetricResult]:
    """Runs every group's `measure_once(repeat)` after each seeded
    re-initialization.

    One re-initialization serves every group (the values equal measuring each
    group alone); its time is shared equally among the groups' seconds.
    """
    values = collections.defaultdict(list)
    seconds = [0.0] * len(groups)
    for repeat in range(self.repeats):
      start = time.perf_counter()
      initialization.reinitialize(compiled.model, _seed(seed, repeat))
      share = (time.perf_counter() - start) / len(groups)
      for index, (_, measure_once) in enumerate(groups):
        start = time.perf_counter()
        for name, value in measure_once(repeat).items():
          values[name].append(value)
        seconds[index] += share + time.perf_counter() - start
    return {name: _summary(name, values[name], group_seconds)
            for (names, _), group_seconds in zip(groups, seconds)
            for name in names}

  def measure(self, arch: arch_lib.ArchSpec,
              metrics: Sequence[str] = ('length_distortion', 'ntk'),
              seed: Optional[int] = None) -> Dict[str, MetricResult]:
    """{metric: result}; same (arch, seed) gives the same values.

    `seed` (default: the Measurer's) draws the initializations only; the
    circles and NTK batches are the run's. Curve metrics share one pass per
    initialization and report its time.
    """
    metrics = settings_lib.check_metrics(metrics)
    seed = self.seed if seed is None else seed
    compiled = self._compiled(arch)
    groups = []
    curve_names = [m for m in metrics if m in settings_lib.CURVE_METRICS]
    if curve_names:
      groups.append((curve_names, lambda r: self._curve_values(
          compiled, curve_names, r)))
    if 'ntk' in metrics:
      groups.append((['ntk'], lambda r: self._ntk_value(compiled, r)))
    with custom_gradients_released():
      results = self._over_initializations(compiled, seed, groups)
    return {name: results[name] for name in metrics}
