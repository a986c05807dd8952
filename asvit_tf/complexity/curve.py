"""Complexity of the image of an input circle (Sec. 3.2, App. A).

The circle is h(theta) = s (u0 cos theta + u1 sin theta) with u0, u1 an
orthonormal pair in the N-dimensional input space and s = sqrt(N) (paper) or
1 (authors' code). For a feature function f (images -> (n, D)),
v(theta) = d f(h(theta)) / d theta and a(theta) = d v / d theta are
derivatives along theta itself, every theta in one batch: v as a transposed
reverse-mode pass, a as the same pass over the function that computes v.

The metrics are, as in the authors' code, sums over the sampled thetas; for
evenly spaced thetas in [0, 2 pi) a sum times 2 pi / n is the paper's integral.
"""

import math
from typing import Callable, Tuple

import numpy as np
import tensorflow as tf

from asvit_tf.complexity import settings as settings_lib

FeatureFn = Callable[[tf.Tensor], tf.Tensor]


def sample_thetas(num: int, sampling: str) -> np.ndarray:
  """Angles on the circle: `linspace_inclusive` or `uniform_exclusive`."""
  settings_lib.check_choice('theta_sampling', sampling,
                            settings_lib.THETA_SAMPLINGS)
  return np.linspace(0.0, 2 * math.pi, num,
                     endpoint=sampling == 'linspace_inclusive')


def orthonormal_pair(shape: Tuple[int, ...],
                     seed: int) -> Tuple[np.ndarray, np.ndarray]:
  """u0, u1 of `shape`: QR of a seeded Gaussian N x 2 matrix."""
  size = int(np.prod(shape))
  q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((size, 2)))
  return q[:, 0].reshape(shape), q[:, 1].reshape(shape)


def circle_scale(shape: Tuple[int, ...], sqrt_n_scale: bool) -> float:
  """sqrt(N) for the paper's circle, 1 for the authors' code."""
  return math.sqrt(np.prod(shape)) if sqrt_n_scale else 1.0


def circle_points(thetas: tf.Tensor, u0: tf.Tensor, u1: tf.Tensor,
                  scale: tf.Tensor) -> tf.Tensor:
  """h(theta) for every theta: (n,) + u0.shape."""
  expand = [-1] + [1] * u0.shape.rank
  return scale * (tf.reshape(tf.cos(thetas), expand) * u0 +
                  tf.reshape(tf.sin(thetas), expand) * u1)


def _value_and_derivative(
    g: Callable[[tf.Tensor], tf.Tensor],
    thetas: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
  """g(thetas) and d g(thetas)_i / d theta_i, (n, D) each, for a g whose row
  i depends on theta_i alone: the derivative is the forward-mode product J 1
  as a transposed reverse-mode pass.

  With y = g(thetas), the reverse pass r(w) = J^T w, r_i = sum_d w_id
  dy_id/dtheta_i, is linear in the cotangent w, so its gradient with respect
  to w along 1 is dy_id/dtheta_i, exactly what forward mode gives. On the
  CPU TF traces and runs it about twice as fast as tf.autodiff's forward mode
  for v (benchmarks/README.md); nested for a, it traces 3x faster than two
  nested forward-mode accumulators, which trace a function for every op they
  differentiate. Neither tape watches the model's variables, so the trace
  builds no gradients with respect to weights.
  """
  with tf.GradientTape(watch_accessed_variables=False) as outer:
    with tf.GradientTape(watch_accessed_variables=False) as inner:
      inner.watch(thetas)
      y = g(thetas)
    cotangent = tf.zeros_like(y)
    outer.watch(cotangent)
    pulled_back = inner.gradient(y, thetas, output_gradients=cotangent)
  return y, outer.gradient(pulled_back, cotangent,
                           output_gradients=tf.ones_like(thetas))


def velocity(f: FeatureFn, thetas: tf.Tensor, u0: tf.Tensor, u1: tf.Tensor,
             scale: tf.Tensor) -> tf.Tensor:
  """v(theta), (n, D): one transposed reverse-mode pass."""
  _, v = _value_and_derivative(
      lambda t: f(circle_points(t, u0, u1, scale)), thetas)
  return v


def velocity_and_acceleration(
    f: FeatureFn, thetas: tf.Tensor, u0: tf.Tensor, u1: tf.Tensor,
    scale: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
  """v(theta) and a(theta), (n, D) each: a = d v / d theta as the transposed
  reverse-mode pass over the one that computes v."""
  return _value_and_derivative(
      lambda t: velocity(f, t, u0, u1, scale), thetas)


def _dots(v: np.ndarray, a: np.ndarray):
  v = np.asarray(v, np.float64)
  a = np.asarray(a, np.float64)
  vv = np.einsum('nd,nd->n', v, v)
  aa = np.einsum('nd,nd->n', a, a)
  va = np.einsum('nd,nd->n', v, a)
  # |v|^2 |a|^2 - (v.a)^2 >= 0 (Cauchy-Schwarz); clip the rounding below 0.
  return vv, aa, np.maximum(vv * aa - va ** 2, 0.0)


def length_distortion(v: np.ndarray) -> float:
  """L_E: sum over thetas of ||v(theta)||."""
  return float(np.sum(np.linalg.norm(np.asarray(v, np.float64), axis=1)))


def curvature(v: np.ndarray, a: np.ndarray) -> float:
  """kappa: sum over thetas of (v.v)^(-3/2) sqrt((v.v)(a.a) - (v.a)^2)."""
  vv, _, cross = _dots(v, a)
  return float(np.sum(vv ** -1.5 * np.sqrt(cross)))


def length_distortion_curvature(v: np.ndarray, a: np.ndarray,
                                unit_tangent_derivative: str) -> float:
  """L_E^kappa: sum over thetas of ||d/dtheta (v / ||v||)||.

  'exact': sqrt((v.v)(a.a) - (v.a)^2) / (v.v); 'constant_norm' (authors'
  code, ||v|| held constant): ||a|| / ||v||.
  """
  settings_lib.check_choice('unit_tangent_derivative',
                            unit_tangent_derivative,
                            settings_lib.UNIT_TANGENT_DERIVATIVES)
  vv, aa, cross = _dots(v, a)
  if unit_tangent_derivative == 'exact':
    return float(np.sum(np.sqrt(cross) / vv))
  return float(np.sum(np.sqrt(aa / vv)))
