"""Which windows each stage attends in (Fig. 1 splits S_i; Sec. 5.3).

- `splits`: the paper's rule. A stage-i map of side R is cut into S_i x S_i
  windows of side R // S_i; R must be divisible by S_i.
- `window`: for dense prediction at high resolution. The window side in tokens
  stays at its value for a `reference_size` input (224: 28, 28, 14, 7) and the
  map is zero padded up to a whole number of windows, as Swin does; a map no
  larger than one window is attended globally. Costs grow linearly with the
  number of tokens instead of quadratically.
"""

import math
from typing import Tuple

from asvit_tf import errors
from asvit_tf.modeling import arch as arch_lib

POLICIES = ('splits', 'window')
# Per axis: (windows along the axis, window side in tokens).
AxisWindows = Tuple[int, int]
Windows = Tuple[AxisWindows, AxisWindows]


class WindowError(errors.UsageError):
  """A token map that the configured windows cannot cover."""


def check_policy(policy: str) -> None:
  if policy not in POLICIES:
    raise WindowError(f'window_policy={policy!r}; allowed: '
                      f'{", ".join(POLICIES)}')


def _split_axis(stage: int, side: int, splits: int, axis: str) -> AxisWindows:
  if side < splits or side % splits:
    raise WindowError(
        f'stage {stage} token map {axis} {side} is not divisible by its '
        f'splits S={splits}; allowed: a map side that is a multiple of '
        f'{splits} (choose an image size, stride or splits that divides)')
  return splits, side // splits


def _window_axis(side: int, window: int) -> AxisWindows:
  if side <= window:
    return 1, side
  return math.ceil(side / window), window


def stage_windows(arch: arch_lib.ArchSpec, stage: int, height: int,
                  width: int, policy: str = 'splits',
                  reference_size: int = 224) -> Windows:
  """Windows of stage `stage` (1-based) for a `height` x `width` token map."""
  check_policy(policy)
  splits = arch.stages[stage - 1].splits
  if policy == 'splits':
    return (_split_axis(stage, height, splits, 'height'),
            _split_axis(stage, width, splits, 'width'))
  reference_side = reference_size // arch_lib.STAGE_STRIDES[stage - 1]
  window = max(reference_side // splits, 1)
  return _window_axis(height, window), _window_axis(width, window)
