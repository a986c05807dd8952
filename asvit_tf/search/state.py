"""Run state in `model_dir`: written atomically after every step.

The state is one JSON file (floats round-trip exactly through Python's repr).
Writing goes to a temporary file that is flushed, fsynced and renamed over the
old one, so a run killed at any instant leaves either the previous or the new
state. The run's settings are stored with it; starting again with other
settings on the same directory is refused.
"""

import json
import math
import os
from typing import Any, Dict, Optional

from asvit_tf import errors

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
  """Writes `payload` to `path` atomically (temp file, fsync, rename)."""
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


def load(path: str, config: Dict[str, Any]) -> Optional[Dict[str, Any]]:
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
