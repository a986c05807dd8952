"""A training `model_dir`: checked before anything is written to it.

Model Garden's drivers write `params.yaml` first, so a run started on the
directory of another model would overwrite that run's record before failing
on its checkpoint. Here a directory is refused unless it is writable, its
saved `params.yaml` describes the same model (`task.model`: architecture,
classes, input size; steps, schedule and data may change when resuming) and
its latest checkpoint is readable and fits that model.
"""

import os
from typing import Any, Dict, List

import tensorflow as tf
import tf_keras
import yaml
from official.core import config_definitions
from official.modeling.hyperparams import params_dict

from asvit_tf import checkpoint_compat
from asvit_tf import cli
from asvit_tf import errors

PARAMS_FILE = 'params.yaml'
_NEW_DIR = 'the same task.model to resume the run, or a new --model_dir'


def _flatten(value: Any, prefix: str) -> Dict[str, Any]:
  if isinstance(value, dict):
    flat = {}
    for key, item in value.items():
      flat.update(_flatten(item, f'{prefix}.{key}'))
    return flat
  return {prefix: list(value) if isinstance(value, tuple) else value}


def model_changes(saved: Dict[str, Any], current: Dict[str, Any]) -> List[str]:
  """`key=saved (now current)` for each differing leaf of two model configs."""
  old, new = _flatten(saved, 'task.model'), _flatten(current, 'task.model')
  return [f'{k}={old.get(k)!r} (now {new.get(k)!r})'
          for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]


def check_params(params: config_definitions.ExperimentConfig,
                 model_dir: str) -> None:
  """Refuses a `model_dir` whose params.yaml holds another model."""
  path = os.path.join(model_dir, PARAMS_FILE)
  if not tf.io.gfile.exists(path):
    return
  try:
    saved = params_dict.read_yaml_to_params_dict(path).as_dict()['task'][
        'model']
  except (yaml.YAMLError, KeyError, TypeError, AttributeError):
    raise errors.UsageError(
        f'--model_dir={model_dir}: {path} is not a Model Garden params.yaml '
        f'with task.model; allowed: {_NEW_DIR}') from None
  changes = model_changes(saved, params.task.model.as_dict())
  if changes:
    raise errors.UsageError(
        f'--model_dir={model_dir} holds a run of another model: '
        f'{", ".join(changes)}; allowed: {_NEW_DIR}')


def check(params: config_definitions.ExperimentConfig,
          model: tf_keras.Model, model_dir: str, training: bool) -> None:
  """The checks of a `model_dir` before a run in it; writes nothing.

  Every mode writes there (evaluation its summaries); training must not
  write over a run of another model. The latest checkpoint must be readable
  and fit `model`, the configured model, built. A refusal ends by naming
  the flags that start a new run from the checkpoint's backbone where that
  fits `model.backbone`.
  """
  cli.check_writable_dir('model_dir', model_dir)
  try:
    if training:
      check_params(params, model_dir)
    checkpoint = checkpoint_compat.latest_readable(model_dir)
    if checkpoint:
      checkpoint_compat.read(checkpoint, _NEW_DIR, model=model)
  except errors.UsageError as refused:
    start = _backbone_start(model_dir, model)
    if not start:
      raise
    raise type(refused)(f'{refused}{start}') from None


def _backbone_start(model_dir: str, model: tf_keras.Model) -> str:
  """How to start from the backbone of `model_dir`'s latest checkpoint when it
  fits `model.backbone` (a classification run's folder given to a
  detection run, or to a run with other classes); '' otherwise."""
  try:
    checkpoint = checkpoint_compat.latest_readable(model_dir)
  except errors.UsageError:
    return ''
  if not checkpoint or not hasattr(model, 'backbone') or (
      checkpoint_compat.misfit(checkpoint, backbone=model.backbone)):
    return ''
  return (f' with task.init_checkpoint={checkpoint} and '
          'task.init_checkpoint_modules=backbone to start from its backbone')
