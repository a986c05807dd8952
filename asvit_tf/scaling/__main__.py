"""Training-free auto-scaling (Algorithm 2) of a seed topology, resumable.

  python -m asvit_tf.scaling --arch=seed --model_dir=/tmp/scale \\
      --image_size=224 --stop_params_m=80 --max_params_m=110

Writes scale_state.json (every measured candidate), scale_result.json (the
series with params and GMACs, and the points nearest the paper's Small, Base
and Large), scale_trajectory.png, scale_complexity.png and TensorBoard
scalars to --model_dir; run again with the same flags to resume.
"""

from typing import List

from absl import flags

from asvit_tf import cli
from asvit_tf import job_flags
from asvit_tf import metric_flags
from asvit_tf.modeling import arch as arch_lib
from asvit_tf.scaling import scaler as scaler_lib

_ARCH = flags.DEFINE_string(
    'arch', 'seed', 'Seed topology: a preset or "K,S,E[,L]|...|heads[,C]"; '
    'its L and C are where the scaling starts (seed: 1,1,1,1 and 32).')
_STOP_PARAMS_M = flags.DEFINE_float(
    'stop_params_m', 80.0, 'Stop once the chosen architecture has this many '
    'million parameters (authors\' code: 80; paper: 100).')
_MAX_PARAMS_M = flags.DEFINE_float(
    'max_params_m', 110.0, 'Drop candidates above this many million '
    'parameters (authors\' code: 110).')
_PROXY = flags.DEFINE_boolean(
    'proxy', True, 'As the authors\' code: widen the stand-in width c = C/4 '
    '(C a multiple of 4) by round(c * (1 + r)), Python\'s rounding, and '
    'measure each candidate at exactly width c; --noproxy widens and '
    'measures C itself.')
_NUM_CLASSES = flags.DEFINE_integer(
    'num_classes', 1000, 'Classifier width used to count parameters.',
    lower_bound=1)


def main(argv: List[str]) -> None:
  del argv  # Positional arguments are refused by cli.run.
  arch = arch_lib.parse_arch(_ARCH.value)
  scaler_lib.check_budget(_STOP_PARAMS_M.value, _MAX_PARAMS_M.value)
  settings = metric_flags.metric_settings()
  job_flags.check_image_size(arch, settings['image_size'])
  config = scaler_lib.ScaleConfig(
      arch=arch_lib.format_arch(arch),
      stop_params=int(round(_STOP_PARAMS_M.value * 1e6)),
      max_params=int(round(_MAX_PARAMS_M.value * 1e6)),
      use_proxy=_PROXY.value, num_classes=_NUM_CLASSES.value,
      seed=settings['seed'], image_size=settings['image_size'])
  scaler_lib.measured_width(arch, config.divisor)
  job_flags.run(scaler_lib.Scaler, config, settings)


def run() -> None:
  """Console-script entry point (asvit-scale)."""
  cli.run(main)


if __name__ == '__main__':
  run()
