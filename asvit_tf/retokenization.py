"""Progressive elastic re-tokenization: the phase schedule (Sec. 4, Table 6).

Training runs through phases at a coarse stage-1 stride (16, then 8) and ends
at full resolution (stride 4); the dilation follows the stride
(docs/design.md section 5, `tokenization.dilation_for_stride`). A phase is looked up from the global
step alone, so a run resumed from a checkpoint continues in the phase of its
step. `Schedule.switch` does that lookup inside a traced function: each
phase's branch is traced once at its stride and the step picks the branch, so
one compiled training loop serves every phase.
"""

import contextlib
import dataclasses
from typing import (Callable, Iterator, Mapping, Optional, Sequence, Tuple,
                    TypeVar)

import tensorflow as tf
import tf_keras

from asvit_tf import errors
from asvit_tf.modeling import window_policy
from asvit_tf.modeling.layers import tokenization

FULL_RESOLUTION_STRIDE = tokenization.FULL_RESOLUTION_STRIDE
REDUCED_STRIDES = tuple(s for s in tokenization.ELASTIC_STRIDES
                        if s != FULL_RESOLUTION_STRIDE)

# Table 6 (As-ViT Large, 300 epochs): (stride, last epoch of the phase) for
# each reduced phase, keyed by the paper's FLOPs saving; stride 4 follows.
PAPER_EPOCHS = 300
TABLE6_SCHEDULES = {
    '18.7%': ((16, 40), (8, 70)),
    '37.4%': ((16, 80), (8, 140)),
    '56.2%': ((16, 120), (8, 210)),
}
TABLE6_TIME_SAVING = {'18.7%': 1 - 36.9 / 42.8, '37.4%': 1 - 31.0 / 42.8,
                      '56.2%': 1 - 25.2 / 42.8}
# Fig. 4: FLOPs of a stride relative to full resolution.
PAPER_FLOPS_RATIO = {16: 0.132, 8: 0.285, 4: 1.0}

Output = TypeVar('Output')


@dataclasses.dataclass(frozen=True)
class Phase:
  """Steps [start_step, end_step) at `stride`; end_step None: to the end."""
  index: int
  stride: int
  start_step: int
  end_step: Optional[int]

  def steps_left(self, step: int) -> Optional[int]:
    """Steps from `step` to the end of the phase; None for the last phase."""
    return None if self.end_step is None else self.end_step - step


class Schedule:
  """Reduced-stride phases, then stride 4 until training ends."""

  def __init__(self, boundaries: Sequence[Tuple[int, int]]):
    """`boundaries`: (stride, end step, exclusive) of each reduced phase."""
    phases, start = [], 0
    for index, (stride, end) in enumerate(boundaries):
      if stride not in REDUCED_STRIDES:
        raise errors.UsageError(
            f'retokenization phase {index + 1} stride={stride}; allowed: '
            f'{", ".join(map(str, REDUCED_STRIDES))} (stride 4 follows the '
            'last phase)')
      if end <= start:
        raise errors.UsageError(
            f'retokenization phase {index + 1} ends at step {end}, not after '
            f'its start {start}; allowed: increasing ends')
      phases.append(Phase(index, stride, start, end))
      start = end
    phases.append(Phase(len(phases), FULL_RESOLUTION_STRIDE, start, None))
    self.phases = tuple(phases)

  @classmethod
  def from_config(cls, config) -> 'Schedule':
    """From a `Retokenization` config: phases of (stride, until_epoch or
    until_step), `steps_per_epoch` converting epochs to steps."""
    boundaries = []
    for index, phase in enumerate(config.phases):
      if (phase.until_epoch is None) == (phase.until_step is None):
        raise errors.UsageError(
            f'retokenization phase {index + 1} needs exactly one of '
            'until_epoch and until_step')
      if phase.until_step is not None:
        end = int(phase.until_step)
      elif config.steps_per_epoch <= 0:
        raise errors.UsageError(
            f'retokenization phase {index + 1} uses until_epoch but '
            f'steps_per_epoch={config.steps_per_epoch}; allowed: a positive '
            'steps_per_epoch')
      else:
        end = int(round(phase.until_epoch * config.steps_per_epoch))
      boundaries.append((phase.stride, end))
    return cls(boundaries)

  def check_strides(self, backbone) -> None:
    """Raises a WindowError unless `backbone` (an `AsViTBackbone`) can take
    every phase's stride at its input size."""
    for phase in self.phases:
      try:
        backbone.check_stride(phase.stride)
      except window_policy.WindowError as e:
        raise window_policy.WindowError(
            f'retokenization phase {phase.index + 1}: {e}') from None

  def phase_at(self, step: int) -> Phase:
    """The phase that global step `step` trains in."""
    for phase in self.phases:
      if phase.end_step is None or step < phase.end_step:
        return phase
    raise AssertionError('the last phase has no end')

  def phase_index(self, step: tf.Tensor) -> tf.Tensor:
    """`phase_at(step).index` as an int32 tensor, for a step tensor."""
    ends = tf.constant([phase.end_step for phase in self.phases[:-1]],
                       tf.int64, shape=[len(self.phases) - 1])
    return tf.reduce_sum(tf.cast(tf.cast(step, tf.int64) >= ends, tf.int32))

  def stride_of(self, index: tf.Tensor) -> tf.Tensor:
    """The stride of the phase at `index` (a tensor)."""
    return tf.gather([phase.stride for phase in self.phases], index)

  def switch(self, index: tf.Tensor, branch: Callable[[int], Output]) -> Output:
    """`branch(stride)` of the phase at `index`.

    Every phase's branch is traced once (`tf.switch_case`); only the one at
    `index` runs. Branch outputs must have the same structure and shapes in
    every phase (XLA's conditional needs equal shapes).
    """
    if len(self.phases) == 1:
      return branch(self.phases[0].stride)
    return tf.switch_case(index, [
        lambda stride=phase.stride: branch(stride) for phase in self.phases])


@contextlib.contextmanager
def at_stride(backbone: tf_keras.Model, stride: int) -> Iterator[None]:
  """Calls (and traces) of `backbone` inside run at `stride`; the previous
  stride is restored on exit."""
  previous = backbone.stride
  backbone.stride = stride
  try:
    yield
  finally:
    backbone.stride = previous


class StrideMetric(tf_keras.metrics.Mean):
  """Mean stage-1 stride of the training steps since the last reset (Model
  Garden's trainer resets it every loop): a loop inside one phase shows that
  phase's stride."""

  def __init__(self, name: str = 'retokenization/stride', **kwargs):
    super().__init__(name=name, **kwargs)


def cost_fraction(phases: Sequence[Tuple[int, int]],
                  cost_by_stride: Mapping[int, float],
                  total_epochs: int = PAPER_EPOCHS) -> float:
  """Training cost of a Table 6 schedule relative to stride 4 throughout.

  `phases`: (stride, last epoch) of the reduced phases; the remaining epochs
  run at stride 4. `cost_by_stride`: cost of one epoch (FLOPs or seconds).
  """
  cost, start = 0.0, 0
  for stride, last_epoch in phases:
    cost += (last_epoch - start) * cost_by_stride[stride]
    start = last_epoch
  cost += (total_epochs - start) * cost_by_stride[FULL_RESOLUTION_STRIDE]
  return cost / (total_epochs * cost_by_stride[FULL_RESOLUTION_STRIDE])
