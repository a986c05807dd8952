"""Trains and evaluates As-ViT with Model Garden (Sec. 4, Sec. 5.2).

  python -m asvit_tf.train --experiment=asvit_imagenet \
    --config_file=official_configs/asvit_smoke_digits_cpu.yaml \
    --mode=train_and_eval --model_dir=/tmp/asvit_smoke

Model Garden's flags (`--config_file`, `--params_override`, `--tpu`, ...) as
in official/vision/train.py; the trainer follows the config's progressive
re-tokenization phases (`task.retokenization`). `--seed` (not in
official/vision/train.py) seeds the initial weights, the data order and the
augmentation and turns on TF op determinism: the same seed repeats a run on
the same machine. `runtime.mixed_precision_dtype` also takes `auto`: bfloat16
on CPUs with bfloat16 instructions, float32 elsewhere (asvit_tf.precision).
"""

from typing import Any, List, Mapping, Tuple

from absl import flags
import gin
import tensorflow as tf
import tf_keras
from official.common import distribute_utils
from official.common import flags as tfm_flags
from official.core import config_definitions
from official.core import task_factory
from official.core import train_lib
from official.core import train_utils
from official.vision.utils import summary_manager

from asvit_tf import cli
from asvit_tf import errors
from asvit_tf import precision
from asvit_tf import registry_imports  # pylint: disable=unused-import
from asvit_tf import retokenization
from asvit_tf.tasks import trainer as trainer_lib

FLAGS = flags.FLAGS
MODES = ('train', 'eval', 'train_and_eval', 'continuous_eval')

tfm_flags.define_flags()
_ASYNC_CHECKPOINTING = flags.DEFINE_bool(
    'enable_async_checkpointing', True,
    'Whether checkpoints are saved asynchronously.')
_SEED = flags.DEFINE_integer(
    'seed', None, 'Seeds weights, data order and augmentation and makes TF '
    "ops deterministic; unset: unseeded, as Model Garden's own driver.")


def seed_run(params: config_definitions.ExperimentConfig, seed: int) -> None:
  """Makes the run a function of `seed`: weights, data order, augmentation.

  Op determinism also runs tf.data's stateful augmentation in a fixed order,
  at some cost in input speed.
  """
  tf_keras.utils.set_random_seed(seed)
  tf.config.experimental.enable_op_determinism()
  params.override({'task': {'train_data': {'seed': seed},
                            'validation_data': {'seed': seed}}})


def run_experiment(params: config_definitions.ExperimentConfig,
                   model_dir: str, mode: str,
                   enable_async_checkpointing: bool = False
                   ) -> Tuple[tf_keras.Model, Mapping[str, Any]]:
  """Runs `mode` under the configured strategy with the phase trainer."""
  if mode not in MODES:
    raise errors.UsageError(f'mode={mode}; allowed: {", ".join(MODES)}')
  retokenization.Schedule.from_config(params.task.retokenization)  # Checks.
  precision.set_policy(params.runtime)
  strategy = distribute_utils.get_distribution_strategy(
      distribution_strategy=params.runtime.distribution_strategy,
      all_reduce_alg=params.runtime.all_reduce_alg,
      num_gpus=params.runtime.num_gpus,
      tpu_address=params.runtime.tpu)
  with strategy.scope():
    task = task_factory.get_task(params.task, logging_dir=model_dir)
    trainer = train_utils.create_trainer(
        params, task, train='train' in mode, evaluate='eval' in mode,
        checkpoint_exporter=train_lib.maybe_create_best_ckpt_exporter(
            params, model_dir),
        trainer_cls=trainer_lib.RetokenizationTrainer)
  return train_lib.run_experiment(
      distribution_strategy=strategy, task=task, mode=mode, params=params,
      model_dir=model_dir, trainer=trainer,
      eval_summary_manager=summary_manager.maybe_build_eval_summary_manager(
          params=params, model_dir=model_dir),
      enable_async_checkpointing=enable_async_checkpointing)


def main(argv: List[str]) -> None:
  del argv  # Positional arguments are refused by cli.run.
  for name in ('experiment', 'mode', 'model_dir'):
    if not FLAGS[name].value:
      raise errors.UsageError(f'--{name} is required')
  gin.parse_config_files_and_bindings(FLAGS.gin_file, FLAGS.gin_params)
  params = train_utils.parse_configuration(FLAGS, lock_return=False)
  if _SEED.value is not None:
    seed_run(params, _SEED.value)
  params.override({'runtime': {  # params.yaml records the dtype that ran.
      'mixed_precision_dtype': precision.resolve(
          params.runtime.mixed_precision_dtype)}})
  params.lock()
  if 'train' in FLAGS.mode:
    train_utils.serialize_config(params, FLAGS.model_dir)
  run_experiment(params, FLAGS.model_dir, FLAGS.mode,
                 _ASYNC_CHECKPOINTING.value)
  train_utils.save_gin_config(FLAGS.mode, FLAGS.model_dir)


def run() -> None:
  """Console-script entry point."""
  cli.run(main)


if __name__ == '__main__':
  run()
