"""Flags of `python -m asvit_tf.search` and `python -m asvit_tf.scaling`
beyond the metric ones (asvit_tf.metric_flags): the run's directory, and the
checks that turn bad values into one-line errors."""

import dataclasses
from typing import Any, Dict, Type

from absl import flags

from asvit_tf import cli
from asvit_tf import errors
from asvit_tf import job as job_lib
from asvit_tf import metric_flags
from asvit_tf.modeling import arch as arch_lib
from asvit_tf.modeling import window_policy

MODEL_DIR = flags.DEFINE_string(
    'model_dir', None, 'Directory for the state, results, plots and '
    'TensorBoard logs; an existing run there is resumed.')


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


def run(algorithm_type: Type[job_lib.Algorithm], config: Any,
        settings: Dict[str, Any]) -> Dict[str, Any]:
  """Runs or resumes `algorithm_type` on `config` in --model_dir; `config`'s
  fields join the metric settings stored with the run."""
  settings = {**settings, **dataclasses.asdict(config)}
  job_lib.quiet_tensorflow()
  return job_lib.run(model_dir(), algorithm_type, config, settings,
                     metric_flags.build_metric)
