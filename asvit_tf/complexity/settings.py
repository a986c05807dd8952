"""Metric names, and settings where the paper and the authors' code differ.

docs/design.md section 2: each setting defaults to what the authors' search
code does; the paper's choice is the other value.
"""

import dataclasses
from typing import Sequence, Tuple

from asvit_tf import errors

METRICS = ('length_distortion', 'curvature', 'length_distortion_curvature',
           'ntk')
# Metrics read off the image of the input circle (Sec. 3.2).
CURVE_METRICS = METRICS[:3]
# Metrics that need the second derivative a(theta).
SECOND_ORDER_METRICS = ('curvature', 'length_distortion_curvature')

# 'linspace_inclusive': linspace(0, 2*pi, n), both ends (authors' code);
# 'uniform_exclusive': n evenly spaced thetas in [0, 2*pi) (paper, App. A).
THETA_SAMPLINGS = ('linspace_inclusive', 'uniform_exclusive')
# d/dtheta (v/||v||): 'constant_norm' holds ||v|| constant, giving ||a||/||v||
# (authors' code detaches the norm); 'exact' is the paper's derivative of the
# unit tangent, ||a - (a.v/v.v) v|| / ||v||.
UNIT_TANGENT_DERIVATIVES = ('constant_norm', 'exact')
# Parameters the NTK differentiates: 'weights', every variable the authors'
# code names `weight` (linear and convolution kernels and LayerNorm gammas);
# 'kernels', the linear and convolution kernels only.
NTK_PARAMETERS = ('weights', 'kernels')
NTK_PARAMETERS_HELP = (
    'NTK parameters: kernels and LayerNorm gammas, every parameter the '
    'authors\' code names "weight" (weights), or kernels only (kernels).')


@dataclasses.dataclass(frozen=True)
class Settings:
  """How the metrics are measured (docs/design.md section 2)."""
  num_thetas: int = 10
  sqrt_n_scale: bool = False                      # paper: True
  theta_sampling: str = 'linspace_inclusive'      # paper: 'uniform_exclusive'
  layer_norm_off_for_length: bool = True          # paper: silent; code: off
  ntk_batch_size: int = 16
  unit_tangent_derivative: str = 'constant_norm'  # paper: 'exact'
  ntk_parameters: str = 'weights'                 # paper: silent

  def __post_init__(self):
    check_choice('theta_sampling', self.theta_sampling, THETA_SAMPLINGS)
    check_choice('unit_tangent_derivative', self.unit_tangent_derivative,
                  UNIT_TANGENT_DERIVATIVES)
    check_choice('ntk_parameters', self.ntk_parameters, NTK_PARAMETERS)
    if self.num_thetas < 2:
      raise errors.UsageError(f'num_thetas={self.num_thetas} is too small; '
                              'allowed: 2 or more')
    if self.ntk_batch_size < 2:
      raise errors.UsageError(f'ntk_batch_size={self.ntk_batch_size} is too '
                              'small; allowed: 2 or more')


def check_choice(name: str, value: str, allowed: Sequence[str]) -> None:
  """Raises a one-line UsageError unless `value` is one of `allowed`."""
  if value not in allowed:
    raise errors.UsageError(f'{name}={value!r} is not recognised; allowed: '
                            f'{", ".join(allowed)}')


def check_metrics(metrics: Sequence[str]) -> Tuple[str, ...]:
  """The metric names, checked; raises a one-line UsageError."""
  if isinstance(metrics, str):
    metrics = (metrics,)
  for name in metrics:
    if name not in METRICS:
      raise errors.UsageError(f'metric {name!r} is not recognised; allowed: '
                              f'{", ".join(METRICS)}')
  if not metrics:
    raise errors.UsageError(f'no metric requested; allowed: '
                            f'{", ".join(METRICS)}')
  return tuple(dict.fromkeys(metrics))
