"""A resumable training-free run in a model_dir: state, progress and the loop.

Both algorithms (the topology search, Algorithm 1, and the auto-scaling,
Algorithm 2) run the same way: open the model_dir, refuse it if it holds a run
with other settings, make the metric only then (so a refused run loads no
data), take steps until the algorithm is done, saving the whole state
atomically after each (and wherever the algorithm asks, such as after every
measured candidate), then write the result JSON, the plots and a summary line.
Each step prints one line with its ETA and writes TensorBoard scalars.

The names of the files a run leaves are defined here once; the binaries, the
main job and its report use them.
"""

import abc
import json
import math
import os
import sys
from typing import Any, Callable, Dict, Optional, Sequence, TextIO, Type

import numpy as np
import tensorflow as tf

from asvit_tf import errors
from asvit_tf.complexity import metric as metric_lib


def state_file(name: str) -> str:
  """The state file of algorithm `name` ('search' or 'scale')."""
  return f'{name}_state.json'


def result_file(name: str) -> str:
  """The result file of algorithm `name` ('search' or 'scale')."""
  return f'{name}_result.json'


# The layout of a run directory.
TENSORBOARD_DIR = 'tensorboard'
SEARCH, SCALE = 'search', 'scale'
SEARCH_STATE, SEARCH_RESULT = state_file(SEARCH), result_file(SEARCH)
ENTROPY_PLOT = 'search_entropy.png'
SCALE_STATE, SCALE_RESULT = state_file(SCALE), result_file(SCALE)
TRAJECTORY_PLOT = 'scale_trajectory.png'
COMPLEXITY_PLOT = 'scale_complexity.png'

# Independent random streams drawn from a run's seed.
POLICY_INIT_STREAM = 0
SAMPLER_STREAM = 1
METRICS_STREAM = 2


def derive_seed(seed: int, *keys: int) -> int:
  """A 32-bit seed for the stream named by `keys` of run `seed`."""
  return int(np.random.SeedSequence([seed, *keys]).generate_state(1)[0])


def generator(seed: int, *keys: int) -> np.random.Generator:
  """A numpy generator for the stream named by `keys` of run `seed`."""
  return np.random.default_rng(np.random.SeedSequence([seed, *keys]))


_DAMAGED = ('the file a run wrote (delete it to start the run over, or use a '
            'new --model_dir)')


class StateError(errors.UsageError):
  """A model_dir that belongs to a run with different settings, or whose
  state file is damaged."""


def strict(value: Any) -> Any:
  """`value` with non-finite floats as None, for standard JSON results."""
  if isinstance(value, float) and not math.isfinite(value):
    return None
  if isinstance(value, dict):
    return {k: strict(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [strict(v) for v in value]
  return value


def write_json(path: str, payload: Dict[str, Any]) -> None:
  """Writes `payload` to `path` atomically (temp file, fsync, rename).

  JSON floats round-trip exactly through Python's repr, and a run killed at
  any instant leaves either the previous or the new file.
  """
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  temporary = f'{path}.tmp'
  try:
    with open(temporary, 'w') as f:
      json.dump(payload, f)
      f.flush()
      os.fsync(f.fileno())
    os.replace(temporary, path)
  except BaseException:  # Disk full, interrupted: the old state stays.
    if os.path.exists(temporary):
      os.remove(temporary)
    raise
  descriptor = os.open(directory, os.O_RDONLY)
  try:
    os.fsync(descriptor)
  finally:
    os.close(descriptor)


def load_state(path: str, config: Dict[str, Any]) -> Optional[Dict[str, Any]]:
  """The saved state at `path`, None if absent; refuses other settings."""
  if not os.path.exists(path):
    return None
  try:
    with open(path) as f:
      state = json.load(f)
  except ValueError as e:  # Truncated, empty or not text: JSONDecodeError...
    raise StateError(f'state file {path} is not JSON ({e}); allowed: '
                     f'{_DAMAGED}') from None
  if not isinstance(state, dict) or not isinstance(state.get('config'), dict):
    raise StateError(f'state file {path} holds no run settings ("config"); '
                     f'allowed: {_DAMAGED}')
  saved = state['config']
  if saved != config:
    changed = ', '.join(
        f'{k}={saved.get(k)!r} (now {config.get(k)!r})'
        for k in sorted(set(saved) | set(config))
        if saved.get(k) != config.get(k))
    raise StateError(
        f'{os.path.dirname(path) or "."} holds a run with other settings: '
        f'{changed}; allowed: the same flags to resume it, or a new '
        '--model_dir')
  return state


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


def format_number(value: Optional[float]) -> str:
  """A metric value for a progress line; 'bad' when not finite."""
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
  """Hides TF's retracing warnings: every measured topology traces anew."""
  tf.get_logger().setLevel('ERROR')


class Algorithm(abc.ABC):
  """What the shared loop needs of a resumable training-free algorithm."""

  # Names the state and result files and the state's key in its file.
  NAME: str

  @abc.abstractmethod
  def to_state(self) -> Dict[str, Any]:
    """The whole state, JSON-ready; the constructor takes it back."""

  @abc.abstractmethod
  def resume_line(self) -> str:
    """What a resumed run says it resumes."""

  @abc.abstractmethod
  def advance(self, metric: metric_lib.MetricFn, reporter: Reporter,
              save: Callable[[], None]) -> Optional[Dict[str, Any]]:
    """One step's record, or None when done; may report and save mid-step."""

  @abc.abstractmethod
  def report(self, reporter: Reporter, record: Dict[str, Any]) -> None:
    """The step's progress line and TensorBoard scalars."""

  @abc.abstractmethod
  def finish(self, metric: metric_lib.MetricFn,
             settings: Dict[str, Any]) -> Dict[str, Any]:
    """The run's result (measures what is left to measure)."""

  @abc.abstractmethod
  def write_outputs(self, result: Dict[str, Any], model_dir: str) -> str:
    """Writes the plots; returns the closing line."""


def restore(algorithm_type: Type[Algorithm], config: Any,
            saved: Optional[Dict[str, Any]], path: str) -> Algorithm:
  """The algorithm from the state file loaded from `path`, a new one when
  `saved` is None; refuses a state that settings match but that cannot be
  read back (a hand-edited or damaged file)."""
  if saved is None:
    return algorithm_type(config, None)
  name = algorithm_type.NAME
  try:
    if not isinstance(saved.get(name), dict):
      raise TypeError(f'"{name}" is not an object')
    return algorithm_type(config, saved[name])
  except (KeyError, TypeError, ValueError, IndexError) as e:
    raise StateError(f'state file {path} holds a damaged "{name}" state '
                     f'({type(e).__name__}: {" ".join(str(e).split())}); '
                     f'allowed: {_DAMAGED}') from None


def run(model_dir: str, algorithm_type: Type[Algorithm], config: Any,
        settings: Dict[str, Any],
        make_metric: Callable[[], metric_lib.MetricFn],
        stream: TextIO = sys.stdout) -> Dict[str, Any]:
  """Runs or resumes `algorithm_type(config, state)` in `model_dir`.

  `settings` must equal a saved run's; returns the result.
  """
  name = algorithm_type.NAME
  path = os.path.join(model_dir, state_file(name))
  saved = load_state(path, settings)
  algorithm = restore(algorithm_type, config, saved, path)
  metric = make_metric()
  reporter = Reporter(os.path.join(model_dir, TENSORBOARD_DIR), stream)

  def save() -> None:
    write_json(path, {'config': settings, name: algorithm.to_state()})

  try:
    if saved:
      reporter.line(f'resuming {path} {algorithm.resume_line()}')
    while (record := algorithm.advance(metric, reporter, save)) is not None:
      algorithm.report(reporter, record)
      save()
    result = algorithm.finish(metric, settings)
    save()
    write_json(os.path.join(model_dir, result_file(name)), strict(result))
    reporter.line(algorithm.write_outputs(result, model_dir))
  finally:
    reporter.close()
  return result
