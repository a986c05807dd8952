"""Flags shared by `python -m asvit_tf.search` and `python -m asvit_tf.scaling`,
and the checks that turn bad values into one-line errors."""

import dataclasses
from typing import Any, Dict, Type

from absl import flags

from asvit_tf import cli
from asvit_tf import errors
from asvit_tf import job as job_lib
from asvit_tf.complexity import metric as metric_lib
from asvit_tf.complexity import parallel
from asvit_tf.complexity import settings as settings_lib
from asvit_tf.data import sources
from asvit_tf.modeling import arch as arch_lib
from asvit_tf.modeling import window_policy

MODEL_DIR = flags.DEFINE_string(
    'model_dir', None, 'Directory for the state, results, plots and '
    'TensorBoard logs; an existing run there is resumed.')
SEED = flags.DEFINE_integer(
    'seed', 0, 'Seed of every random choice. As the authors\' code, the input '
    'circles and NTK batches are drawn from it once, one per initialization, '
    'and shared by every topology of the run.')
IMAGE_SIZE = flags.DEFINE_integer(
    'image_size', 224, 'Square input side for the metrics (paper: 224).',
    lower_bound=1)
REPEATS = flags.DEFINE_integer(
    'repeats', 5, 'Random initializations averaged per metric (paper: 5); '
    'linear kernels N(0, 0.02^2) as the authors\' timm init.', lower_bound=1)
NTK_BATCH_SIZE = flags.DEFINE_integer(
    'ntk_batch_size', 16, 'Real images in the NTK batch (paper: 16).',
    lower_bound=2)
DATA = flags.DEFINE_string(
    'data', 'digits', 'Images for the NTK: ' + ', '.join(sources.KINDS) + '.')
NTK_PARAMETERS = flags.DEFINE_enum(
    'ntk_parameters', 'weights', settings_lib.NTK_PARAMETERS,
    settings_lib.NTK_PARAMETERS_HELP)
TFDS_DATA_DIR = flags.DEFINE_string(
    'tfds_data_dir', None, 'TFDS data_dir for --data=tfds:NAME.')
METRIC_WORKERS = flags.DEFINE_integer(
    'metric_workers', None, 'Processes that measure a topology: 2 measures '
    'L_E and the NTK at once, each in its own process with half the cores; 1 '
    'both in this one. Default: 2 on a CPU-only machine with 2 or more '
    'cores, else 1. The values are the same either way.',
    lower_bound=1, upper_bound=2)


def check_image_size(arch: arch_lib.ArchSpec, image_size: int) -> None:
  """Raises a one-line error if `arch`'s splits do not divide the maps."""
  sides = [image_size // s for s in arch_lib.STAGE_STRIDES]
  try:
    if min(sides) < 1:
      raise window_policy.WindowError('the stage-4 map is empty')
    for n, side in enumerate(sides, start=1):
      window_policy.stage_windows(arch, n, side, side)
  except window_policy.WindowError as e:
    raise errors.UsageError(
        f'--image_size={image_size} does not fit {arch_lib.format_arch(arch)}'
        f' ({e}); allowed: a multiple of 32 that every stage map divides'
    ) from None


def model_dir() -> str:
  if not MODEL_DIR.value:
    raise errors.UsageError('--model_dir is required; allowed: a directory '
                            '(created if missing)')
  cli.check_writable_dir('model_dir', MODEL_DIR.value)
  return MODEL_DIR.value


def metric_settings() -> Dict[str, Any]:
  """The metric flags, checked, as stored with a run's state."""
  return {'image_size': IMAGE_SIZE.value, 'repeats': REPEATS.value,
          'ntk_batch_size': NTK_BATCH_SIZE.value, 'data': DATA.value,
          'tfds_data_dir': TFDS_DATA_DIR.value, 'seed': SEED.value,
          'ntk_parameters': NTK_PARAMETERS.value}


def run(algorithm_type: Type[job_lib.Algorithm], config: Any,
        settings: Dict[str, Any]) -> Dict[str, Any]:
  """Runs or resumes `algorithm_type` on `config` in --model_dir; `config`'s
  fields join the metric settings stored with the run."""
  settings = {**settings, **dataclasses.asdict(config)}
  job_lib.quiet_tensorflow()
  return job_lib.run(model_dir(), algorithm_type, config, settings,
                     build_metric)


def build_metric() -> metric_lib.MetricFn:
  """The Measurer-backed metric for the flags (loads the images now)."""
  workers = METRIC_WORKERS.value or parallel.default_workers()
  return metric_lib.measurer_metric(
      IMAGE_SIZE.value, DATA.value, REPEATS.value, NTK_BATCH_SIZE.value,
      SEED.value, TFDS_DATA_DIR.value, NTK_PARAMETERS.value, workers)
