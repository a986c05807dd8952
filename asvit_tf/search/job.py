"""What a resumable search or scaling run opens in its model_dir.

The saved state (checked against the run's settings first), the metric (made
only after that check, so a refused run loads no data) and the progress
reporter; `save` writes the state back atomically with the settings.
"""

import dataclasses
import os
from typing import Any, Callable, Dict, Optional, TextIO

from asvit_tf.search import metric as metric_lib
from asvit_tf.search import progress
from asvit_tf.search import state as state_lib


@dataclasses.dataclass
class Job:
  """An opened run: its state file, saved state, metric and reporter."""
  path: str
  settings: Dict[str, Any]
  saved: Optional[Dict[str, Any]]
  metric: metric_lib.MetricFn
  reporter: progress.Reporter

  def saved_part(self, key: str) -> Optional[Dict[str, Any]]:
    """The saved state under `key`, None for a fresh run."""
    return self.saved[key] if self.saved else None

  def save(self, key: str, state: Dict[str, Any]) -> None:
    """Writes `state` under `key` with the run's settings, atomically."""
    state_lib.write_json(self.path, {'config': self.settings, key: state})


def open_job(model_dir: str, state_name: str, settings: Dict[str, Any],
             make_metric: Callable[[], metric_lib.MetricFn],
             stream: TextIO) -> Job:
  """Loads the state (refusing other settings), then makes metric, reporter."""
  path = os.path.join(model_dir, state_name)
  saved = state_lib.load(path, settings)
  return Job(path, settings, saved, make_metric(),
             progress.Reporter(progress.tensorboard_dir(model_dir), stream))
