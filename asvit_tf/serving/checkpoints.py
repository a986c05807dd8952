"""Which weights a served As-ViT carries: the EMA ones evaluation measured.

The paper's recipe keeps an exponential moving average of the weights (Sec.
5.2) and Model Garden evaluates with the averages swapped in,
but its export reads only the trained weights. Here the averages, stored as
the EMA optimizer's `average` slots in every training checkpoint, are
swapped into the model before it is exported.
"""

import tensorflow as tf
import tf_keras
from official.core import base_task
from official.core import config_definitions
from official.modeling.optimization import ema_optimizer

from asvit_tf import checkpoint_compat
from asvit_tf import errors

_AVERAGE_SLOT = '.OPTIMIZER_SLOT/optimizer/average/'
_ALLOWED = 'the config the checkpoint was trained with'


def latest_checkpoint(path: str) -> str:
  """The checkpoint file `path` names, or the newest one in a model_dir."""
  found = (checkpoint_compat.latest_readable(path) if tf.io.gfile.isdir(path)
           else path if tf.io.gfile.exists(path + '.index') else None)
  if not found:
    raise errors.UsageError(f'--checkpoint_path={path} holds no checkpoint; '
                            'allowed: a checkpoint prefix or a training '
                            'model_dir')
  return found


def has_averages(checkpoint: str) -> bool:
  """Whether a training checkpoint holds EMA averages of the weights."""
  return any(_AVERAGE_SLOT in name
             for name, _ in tf.train.list_variables(checkpoint))


def restore_for_serving(params: config_definitions.ExperimentConfig,
                        task: base_task.Task, model: tf_keras.Model,
                        checkpoint: str, use_ema: bool = True) -> str:
  """Restores `model` from `checkpoint`; returns 'ema' or 'trained'.

  With `use_ema` and averages in the checkpoint, the model ends up holding
  the averages, as during Model Garden's evaluation; otherwise the trained
  weights.
  """
  if not (use_ema and has_averages(checkpoint)):
    checkpoint_compat.read(checkpoint, _ALLOWED, model=model)
    return 'trained'
  optimizer = task.create_optimizer(params.trainer.optimizer_config,
                                    params.runtime)
  if not isinstance(optimizer, ema_optimizer.ExponentialMovingAverage):
    raise errors.UsageError(
        f'{checkpoint} holds EMA averages but the config has no '
        'trainer.optimizer_config.ema; allowed: the training config, or '
        '--noema for the trained weights')
  optimizer.shadow_copy(model)
  checkpoint_compat.read(checkpoint, _ALLOWED, model=model,
                         optimizer=optimizer)
  for variable in model.variables:
    try:
      variable.assign(optimizer.get_slot(variable, 'average'))
    except KeyError:  # Not averaged (ema.trainable_weights_only).
      continue
  return 'ema'
