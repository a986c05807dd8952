"""Which weights a served As-ViT carries: the EMA ones evaluation measured.

The paper's recipe keeps an exponential moving average of the weights (Sec.
5.2, SPEC section 6) and Model Garden evaluates with the averages swapped in,
but its export reads only the trained weights. Here the averages, stored as
the EMA optimizer's `average` slots in every training checkpoint, are
swapped into the model before it is exported.
"""

import tensorflow as tf
import tf_keras
from official.core import base_task
from official.core import config_definitions

from asvit_tf import errors
from asvit_tf.tasks import float16_ema

# The EMA's slots, under float16 loss scaling too.
_AVERAGE_SLOT = '.OPTIMIZER_SLOT/optimizer/average/'


def latest_checkpoint(path: str) -> str:
  """The checkpoint file `path` names, or the newest one in a model_dir."""
  found = tf.train.latest_checkpoint(path) if tf.io.gfile.isdir(path) else (
      path if tf.io.gfile.exists(path + '.index') else None)
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
    tf.train.Checkpoint(model=model).read(
        checkpoint).assert_existing_objects_matched().expect_partial()
    return 'trained'
  optimizer = task.create_optimizer(params.trainer.optimizer_config,
                                    params.runtime)
  averaging = float16_ema.averaging_optimizer(optimizer)
  if averaging is None:
    raise errors.UsageError(
        f'{checkpoint} holds EMA averages but the config has no '
        'trainer.optimizer_config.ema; allowed: the training config, or '
        '--noema for the trained weights')
  averaging.shadow_copy(model)
  tf.train.Checkpoint(model=model, optimizer=optimizer).read(
      checkpoint).assert_existing_objects_matched().expect_partial()
  for variable in model.variables:
    try:
      variable.assign(averaging.get_slot(variable, 'average'))
    except KeyError:  # Not averaged (ema.trainable_weights_only).
      continue
  return 'ema'
