"""The training-free metrics' flags (docs/design.md section 2), shared by
`python -m asvit_tf.search`, `python -m asvit_tf.scaling` and
`python -m benchmarks.search_speed`, and the metric function they build."""

from typing import Any, Dict

from absl import flags

from asvit_tf.complexity import metric as metric_lib
from asvit_tf.complexity import parallel
from asvit_tf.complexity import settings as settings_lib
from asvit_tf.data import sources

SEED = flags.DEFINE_integer(
    'seed', 0, 'Seed of every random choice. As the authors\' code, the input '
    'circles and NTK batches are drawn from it once, one per initialization, '
    'and shared by every topology of the run.', lower_bound=0)
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


def metric_settings() -> Dict[str, Any]:
  """The metric flags, checked, as stored with a run's state."""
  return {'image_size': IMAGE_SIZE.value, 'repeats': REPEATS.value,
          'ntk_batch_size': NTK_BATCH_SIZE.value, 'data': DATA.value,
          'tfds_data_dir': TFDS_DATA_DIR.value, 'seed': SEED.value,
          'ntk_parameters': NTK_PARAMETERS.value}


def metric_workers() -> int:
  """--metric_workers, or its default for this machine."""
  return METRIC_WORKERS.value or parallel.default_workers()


def build_metric() -> metric_lib.MetricFn:
  """The Measurer-backed metric for the flags (loads the images now)."""
  return metric_lib.measurer_metric(
      IMAGE_SIZE.value, DATA.value, REPEATS.value, NTK_BATCH_SIZE.value,
      SEED.value, TFDS_DATA_DIR.value, NTK_PARAMETERS.value, metric_workers())
