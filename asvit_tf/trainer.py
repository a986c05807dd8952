"""Model Garden's trainer with the optimizer's variables made up front.

Keras' legacy optimizers, those Model Garden builds (AdamW, SGD, ...), make
their step counter, hyperparameters and slots in their first
`apply_gradients`. Inside the trainer's traced training loop that call makes
variables, so tf.function traces the whole loop twice: once to make them,
once without. Making them as the trainer is built, in its strategy's scope,
leaves one trace: the main job's first training loop (64x64, two
re-tokenization phases) took 7.1-7.3 s instead of 10.1-11.1 s, with every
logged loss and accuracy the same (BUILD.md). `create_trainer` builds it
for both training drivers, asvit_tf.train and detection.train. Its
evaluation's end refuses a best-checkpoint metric the results lack in one
line.
"""

from typing import Sequence

import tensorflow as tf
import tf_keras
from official.core import base_task
from official.core import base_trainer
from official.core import config_definitions
from official.core import train_lib
from official.core import train_utils
from official.modeling.optimization import ema_optimizer

from asvit_tf import errors

# What Model Garden's train_lib.run_experiment runs.
MODES = ('train', 'eval', 'train_and_eval', 'continuous_eval',
         'train_and_post_eval')


def make_optimizer_variables(optimizer, variables: Sequence[tf.Variable]
                             ) -> None:
  """Makes what `optimizer`'s first `apply_gradients` on `variables` would.

  Under an EMA (whose averages the trainer's shadow copy makes) that is the
  wrapped optimizer's; a LossScaleOptimizer passes them on to its own.
  """
  if isinstance(optimizer, ema_optimizer.ExponentialMovingAverage):
    optimizer = optimizer._optimizer  # pylint: disable=protected-access
  if isinstance(optimizer, tf_keras.optimizers.legacy.Optimizer):
    # What its apply_gradients calls first (no public equivalent).
    optimizer._create_all_weights(variables)  # pylint: disable=protected-access


class Trainer(base_trainer.Trainer):
  """`base_trainer.Trainer` whose first training loop is traced once, and
  whose best-checkpoint metric, when the evaluation lacks it, is one line."""

  def __init__(self, config, task, model: tf_keras.Model, optimizer,
               train: bool = True, evaluate: bool = True, **kwargs):
    super().__init__(config, task, model, optimizer, train=train,
                     evaluate=evaluate, **kwargs)
    if train:
      make_optimizer_variables(optimizer, model.trainable_variables)

  def eval_end(self, aggregated_logs=None):
    """Model Garden's; it raised a KeyError after the first evaluation when
    `trainer.best_checkpoint_eval_metric` named none of its results (which
    the best-checkpoint exporter has just recorded)."""
    try:
      return super().eval_end(aggregated_logs)
    except KeyError:
      metric = self.config.trainer.best_checkpoint_eval_metric
      exporter = self._checkpoint_exporter
      results = exporter.best_ckpt_logs if exporter else None
      if not results or metric in results:
        raise
      raise errors.UsageError(
          f'trainer.best_checkpoint_eval_metric={metric!r} is not among the '
          f'evaluation\'s results; allowed: {", ".join(sorted(results))}'
      ) from None


def check_mode(mode: str) -> None:
  """One line for a mode Model Garden's driver does not run."""
  if mode not in MODES:
    raise errors.UsageError(f'mode={mode}; allowed: {", ".join(MODES)}')


def create_trainer(params: config_definitions.ExperimentConfig,
                   task: base_task.Task, mode: str, model_dir: str,
                   model: tf_keras.Model) -> Trainer:
  """`Trainer` for `mode` of `model` (the task's, built), with the optimizer
  and best-checkpoint exporter Model Garden's driver gives its own, for any
  task: classification or detection. Call in the strategy's scope."""
  return Trainer(
      params, task, model=model,
      optimizer=train_utils.create_optimizer(task, params),
      train='train' in mode, evaluate='eval' in mode,
      checkpoint_exporter=train_lib.maybe_create_best_ckpt_exporter(
          params, model_dir))
