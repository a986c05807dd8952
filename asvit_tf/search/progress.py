"""Progress a person can follow: one console line per step and TensorBoard.

Each line carries step/total, the estimated time left (mean seconds per step
so far times the steps left), and the step's numbers; the same numbers go to
TensorBoard scalars under `model_dir/tensorboard`.
"""

import math
import os
import sys
from typing import Dict, Optional, Sequence, TextIO

import tensorflow as tf


def format_duration(seconds: float) -> str:
  """'1h02m', '3m05s' or '12s'; '?' when unknown."""
  if not math.isfinite(seconds):
    return '?'
  seconds = int(round(seconds))
  hours, rest = divmod(seconds, 3600)
  minutes, secs = divmod(rest, 60)
  if hours:
    return f'{hours}h{minutes:02d}m'
  if minutes:
    return f'{minutes}m{secs:02d}s'
  return f'{secs}s'


def eta(step_seconds: Sequence[float], remaining: float) -> float:
  """Seconds left: mean of the measured step times times `remaining`."""
  if not step_seconds:
    return math.nan
  return sum(step_seconds) / len(step_seconds) * remaining


def format_number(value: float) -> str:
  if value is None or not math.isfinite(value):
    return 'bad'
  return f'{value:.4g}'


class Reporter:
  """Prints lines to `stream` and writes scalars to a TensorBoard directory."""

  def __init__(self, log_dir: Optional[str], stream: TextIO = sys.stdout):
    self._stream = stream
    self._writer = (tf.summary.create_file_writer(log_dir)
                    if log_dir else None)

  def line(self, text: str) -> None:
    print(text, file=self._stream, flush=True)

  def scalars(self, step: int, values: Dict[str, float]) -> None:
    if self._writer is None:
      return
    with self._writer.as_default():
      for name, value in values.items():
        if value is not None and math.isfinite(value):
          tf.summary.scalar(name, value, step=step)
    self._writer.flush()

  def close(self) -> None:
    if self._writer is not None:
      self._writer.close()


def quiet_tensorflow() -> None:
  """Hides TF's retracing warnings: every sampled topology traces anew."""
  tf.get_logger().setLevel('ERROR')


def tensorboard_dir(model_dir: str) -> str:
  return os.path.join(model_dir, 'tensorboard')
