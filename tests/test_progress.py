"""The training ETA line: the recent loops' pace, tracing and evaluations
left out."""

import io

import tensorflow as tf

from asvit_tf import progress


class Clock:
  """A settable stand-in for time.perf_counter."""

  def __init__(self):
    self.now = 0.0

  def __call__(self):
    return self.now


def test_eta_follows_the_recent_pace_without_tracing_and_evaluations():
  step = tf.Variable(0, dtype=tf.int64)
  clock = Clock()
  stream = io.StringIO()
  eta = progress.TrainingEta(step, 1000, stream, clock)

  def loop(steps, seconds):
    step.assign_add(steps)
    clock.now += seconds
    eta({'training_loss': 1.0})
    return stream.getvalue().splitlines()[-1]

  assert loop(10, 50.0) == 'train | step 10/1000 | ETA ?'  # Traced.
  assert loop(10, 2.0) == 'train | step 20/1000 | ETA 3m16s'  # 0.2 s x 980.
  clock.now += 30.0  # An evaluation.
  eta.evaluated({'accuracy': 0.5})
  # (2 + 1.4) s over 20 steps, x 970.
  assert loop(10, 1.4) == 'train | step 30/1000 | ETA 2m45s'
  # A slower phase: after PACE_LOOPS loops at 0.5 s a step, only its pace.
  for _ in range(progress.PACE_LOOPS):
    line = loop(10, 5.0)
  assert line == 'train | step 110/1000 | ETA 7m25s'  # 0.5 s x 890.
