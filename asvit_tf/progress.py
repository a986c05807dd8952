"""Training progress with an ETA, as an Orbit action of the training loop.

Model Garden's controller logs each training loop's step and steps/second
but not when training will end. `TrainingEta` is called after every training
loop (an `orbit.Action`, like Model Garden's own checkpointing actions) and
prints one line: the step, the steps to go and the time left at the recent
pace. The pace is the seconds a step over the last few loops measured
wall to wall, so it follows a re-tokenization phase switch within a few loops
and counts checkpoint saves; the first loop (tracing) and the evaluations in
between (`evaluated`, an eval action) are left out of it.
"""

import collections
import sys
import time
from typing import Any, Callable, Optional, TextIO, Tuple

import tensorflow as tf

from asvit_tf import job as job_lib

# Training loops whose pace the ETA follows.
PACE_LOOPS = 8


class TrainingEta:
  """Prints 'train | step N/total | ETA ...' after each training loop."""

  def __init__(self, global_step: tf.Variable, total_steps: int,
               stream: TextIO = sys.stdout,
               clock: Callable[[], float] = time.perf_counter):
    self._global_step = global_step
    self._total_steps = total_steps
    self._stream = stream
    self._clock = clock
    # (steps, seconds) of the recent loops.
    self._loops = collections.deque(maxlen=PACE_LOOPS)
    self._last: Optional[Tuple[int, float]] = None  # (step, time)

  def _now(self) -> Tuple[int, float]:
    return int(self._global_step.numpy()), self._clock()

  def __call__(self, output: Any) -> None:
    """After a training loop: records its pace and prints the line."""
    del output  # The controller logs the loop's metrics itself.
    step, now = self._now()
    if self._last is not None and step > self._last[0]:
      self._loops.append((step - self._last[0], now - self._last[1]))
    self._last = step, now
    left = job_lib.eta([seconds / steps for steps, seconds in self._loops],
                       self._total_steps - step)
    print(f'train | step {step}/{self._total_steps} | ETA '
          f'{job_lib.format_duration(left)}', file=self._stream, flush=True)

  def evaluated(self, output: Any) -> None:
    """After an evaluation: the next loop's pace starts now."""
    del output
    self._last = self._now()
