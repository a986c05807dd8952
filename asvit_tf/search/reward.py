"""The search reward of Algorithm 1 (line 5-6) with the authors' details.

Each metric is turned into its change relative to the range of recent values,
`(x_t - x_{t-1}) / (max - min over the last `window` values + 1e-6)` (the
window includes x_t), and the reward is `dL_E - dkappa`: L_E higher is better,
the NTK condition number lower. The first step has no previous value and gets
reward 0. A non-finite value marks a bad architecture: it counts as the worst
finite value seen so far in the whole run (largest kappa, smallest L_E), and
as later values widen that worst case it follows them, as the authors' buffer
does. The moving-average baseline (momentum 0.9, with the authors' bias
correction) lives here too.
"""

import dataclasses
import math
from typing import List, Sequence

WINDOW = 20
EPSILON = 1e-6


def effective_values(values: Sequence[float], higher_is_better: bool
                     ) -> List[float]:
  """`values` with non-finite entries replaced by the worst finite one.

  Returns NaN entries only while no finite value exists at all.
  """
  finite = [v for v in values if math.isfinite(v)]
  if not finite:
    return [math.nan] * len(values)
  worst = min(finite) if higher_is_better else max(finite)
  return [v if math.isfinite(v) else worst for v in values]


def normalized_change(values: Sequence[float], window: int = WINDOW) -> float:
  """(x_t - x_{t-1}) / (range of the last `window` values + 1e-6); 0 at t=0."""
  if len(values) < 2 or not all(math.isfinite(v) for v in values[-2:]):
    return 0.0
  recent = [v for v in values[-window:] if math.isfinite(v)]
  return (values[-1] - values[-2]) / (max(recent) - min(recent) + EPSILON)


def reward(length_distortions: Sequence[float],
           condition_numbers: Sequence[float], window: int = WINDOW) -> float:
  """Reward of the latest step from the whole history of both metrics."""
  d_length = normalized_change(
      effective_values(length_distortions, higher_is_better=True), window)
  d_kappa = normalized_change(
      effective_values(condition_numbers, higher_is_better=False), window)
  return d_length - d_kappa


@dataclasses.dataclass
class MovingAverage:
  """Exponential moving average with bias correction (numerator/denominator)."""
  momentum: float
  numerator: float = 0.0
  denominator: float = 0.0

  def update(self, value: float) -> None:
    self.numerator = self.momentum * self.numerator + (1 - self.momentum) * value
    self.denominator = (self.momentum * self.denominator +
                        (1 - self.momentum))

  @property
  def value(self) -> float:
    return self.numerator / self.denominator
