"""Trains and evaluates As-ViT with Model Garden (Sec. 4, Sec. 5.2).

  python -m asvit_tf.train --experiment=asvit_imagenet \
    --config_file=official_configs/asvit_smoke_digits_cpu.yaml \
    --mode=train_and_eval --model_dir=/tmp/asvit_smoke

Model Garden's flags (`--config_file`, `--params_override`, `--tpu`, ...) as
in official/vision/train.py, with Model Garden's trainer whose first training
loop is traced once (asvit_tf.trainer, also detection.train's); the task follows
the config's progressive re-tokenization phases (`task.retokenization`), under
this binary or official/vision/train.py alike. `--seed` (not in
official/vision/train.py) seeds the initial weights, the data order and the
augmentation and turns on TF op determinism: the same seed repeats a run on
the same machine. `runtime.mixed_precision_dtype` also takes `auto`: bfloat16
on CPUs with bfloat16 instructions, float32 elsewhere, GPU and TPU hosts
included (asvit_tf.precision).
After each training loop a line gives the step and the ETA (asvit_tf.progress).
"""

import pprint
from typing import Any, List, Mapping, NamedTuple, Optional, Tuple

from absl import flags
from absl import logging
import gin
import tensorflow as tf
import tf_keras
from official.common import distribute_utils
from official.core import base_task
from official.core import config_definitions
from official.core import task_factory
from official.core import train_lib
from official.core import train_utils
from official.vision.utils import summary_manager

from asvit_tf import cli
from asvit_tf import driver_flags
from asvit_tf import errors
from asvit_tf import precision
from asvit_tf import progress
from asvit_tf import registry_imports  # pylint: disable=unused-import
from asvit_tf import retokenization
from asvit_tf import run_dir
from asvit_tf import trainer as trainer_lib
from asvit_tf.configs import loading

FLAGS = flags.FLAGS
# How Model Garden's loss-recovery action (official.core.actions) words it.
_LOSS_BLOWUP = 'The loss value is '

_ASYNC_CHECKPOINTING = flags.DEFINE_bool(
    'enable_async_checkpointing', True,
    'Whether checkpoints are saved asynchronously.')


def seed_run(params: config_definitions.ExperimentConfig, seed: int) -> None:
  """Makes the run a function of `seed`: weights, data order, augmentation.

  Op determinism also runs tf.data's stateful augmentation in a fixed order,
  at some cost in input speed.
  """
  tf_keras.utils.set_random_seed(seed)
  tf.config.experimental.enable_op_determinism()
  params.override({'task': {'train_data': {'seed': seed},
                            'validation_data': {'seed': seed}}})


class Setup(NamedTuple):
  """A run's strategy, and the task and model made in its scope."""
  strategy: tf.distribute.Strategy
  task: base_task.Task
  model: tf_keras.Model


def set_up(params: config_definitions.ExperimentConfig,
           model_dir: str) -> Setup:
  """The configured precision policy and strategy; in the strategy's scope
  the task and its model (the model's config and every phase's stride are
  checked as it is built)."""
  precision.set_policy(params.runtime)
  strategy = distribute_utils.get_distribution_strategy(
      distribution_strategy=params.runtime.distribution_strategy,
      all_reduce_alg=params.runtime.all_reduce_alg,
      num_gpus=params.runtime.num_gpus,
      tpu_address=params.runtime.tpu)
  with strategy.scope():
    task = task_factory.get_task(params.task, logging_dir=model_dir)
    return Setup(strategy, task, task.build_model())


def set_up_before_writing(params: config_definitions.ExperimentConfig,
                          mode: str, model_dir: str) -> Setup:
  """The run's `set_up`, with everything checkable before the run writes, for
  any task: mode and data first, then `model_dir` (its latest checkpoint
  readable and fitting the model; to train, writable and holding no run of
  another model). The checks' model is the run's, built once."""
  trainer_lib.check_mode(mode)
  loading.check_input_paths(params, mode)
  setup = set_up(params, model_dir)
  run_dir.check(params, setup.model, model_dir, training='train' in mode)
  return setup


def run_experiment(params: config_definitions.ExperimentConfig,
                   model_dir: str, mode: str,
                   enable_async_checkpointing: bool = False,
                   setup: Optional[Setup] = None
                   ) -> Tuple[tf_keras.Model, Mapping[str, Any]]:
  """Runs `mode` of any Model Garden experiment under the configured
  strategy and precision with asvit_tf.trainer's trainer; `setup`: the
  run's `set_up`, made here when None."""
  trainer_lib.check_mode(mode)
  strategy, task, model = setup or set_up(params, model_dir)
  with strategy.scope():
    trainer = trainer_lib.create_trainer(params, task, mode, model_dir, model)
  eta = progress.TrainingEta(trainer.global_step, params.trainer.train_steps)
  try:
    return train_lib.run_experiment(
        distribution_strategy=strategy, task=task, mode=mode, params=params,
        model_dir=model_dir, trainer=trainer, train_actions=[eta],
        eval_actions=[eta.evaluated],
        eval_summary_manager=summary_manager.maybe_build_eval_summary_manager(
            params=params, model_dir=model_dir),
        enable_async_checkpointing=enable_async_checkpointing)
  except RuntimeError as e:
    # Model Garden's train action for a loss that blew up more often than
    # trainer.recovery_max_trials allows; the checkpoints before it stay.
    reason = str(e).rstrip('.')
    if not reason.startswith(_LOSS_BLOWUP):
      raise
    raise errors.UsageError(
        f'training stopped at step {int(trainer.global_step.numpy())}: '
        f'{reason[0].lower()}{reason[1:]}; '
        'allowed: a lower trainer.optimizer_config.learning_rate, or '
        f'trainer.recovery_max_trials above '
        f'{params.trainer.recovery_max_trials} to go on from the last '
        'checkpoint') from None


def parse_params() -> config_definitions.ExperimentConfig:
  """The unlocked config Model Garden's flags describe, after their gin
  bindings, with `auto` precision resolved so that params.yaml records the
  dtype that runs."""
  gin.parse_config_files_and_bindings(FLAGS.gin_file, FLAGS.gin_params)
  params = loading.parse(FLAGS)
  precision.resolve_in(params)
  return params


def run_recorded(params: config_definitions.ExperimentConfig, model_dir: str,
                 mode: str, setup: Setup) -> None:
  """`run_experiment` of the locked `params` and the run's `setup` between
  what Model Garden's driver records in model_dir: params.yaml before
  training, the operative gin config after."""
  params.lock()
  if 'train' in mode:
    train_utils.serialize_config(params, model_dir)
  run_experiment(params, model_dir, mode, _ASYNC_CHECKPOINTING.value, setup)
  train_utils.save_gin_config(mode, model_dir)


def main(argv: List[str]) -> None:
  del argv  # Positional arguments are refused by cli.run.
  params = parse_params()
  # A bad schedule fails before the precision policy and strategy are made.
  retokenization.Schedule.from_config(params.task.retokenization)
  if driver_flags.SEED.value is not None:
    seed_run(params, driver_flags.SEED.value)
  setup = set_up_before_writing(params, FLAGS.mode, FLAGS.model_dir)
  logging.info('Final experiment parameters:\n%s',
               pprint.pformat(params.as_dict()))
  run_recorded(params, FLAGS.model_dir, FLAGS.mode, setup)


def run() -> None:
  """Console-script entry point."""
  driver_flags.mark_required()
  cli.run(main)


if __name__ == '__main__':
  run()
