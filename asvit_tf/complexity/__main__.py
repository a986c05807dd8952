"""Training-free complexity of As-ViT architectures (Sec. 3.2-3.3, App. A).

  python -m asvit_tf.complexity --arch=seed --image_size=224 \
      --metrics=length_distortion,ntk --repeats=5 --format=table

Prints each metric's mean, std, min and max over the initializations and the
seconds spent on it (curve metrics share one pass and report its time).
"""

import math
from typing import Any, Dict, List

from absl import flags

from asvit_tf import cli
from asvit_tf.complexity import measurer as measurer_lib
from asvit_tf.complexity import settings as settings_lib
from asvit_tf.data import sources
from asvit_tf.modeling import arch as arch_lib

_ARCH = flags.DEFINE_string(
    'arch', 'seed', 'Presets (seed, small, base, large) or architecture '
    'strings K,S,E[,L]|...|heads[,C], several separated by ";" or by "," '
    'between preset names.')
_IMAGE_SIZE = flags.DEFINE_integer('image_size', 224, 'Square input side.',
                                  lower_bound=1)
_METRICS = flags.DEFINE_list(
    'metrics', ['length_distortion', 'ntk'],
    f'Comma-separated metrics: {", ".join(settings_lib.METRICS)}.')
_REPEATS = flags.DEFINE_integer('repeats', 5, 'Random initializations.',
                                lower_bound=1)
_DATA = flags.DEFINE_string(
    'data', 'digits', 'Images for the NTK: ' + ', '.join(sources.KINDS))
_TFDS_DATA_DIR = flags.DEFINE_string('tfds_data_dir', None,
                                     'data_dir for --data=tfds:NAME.')
_SEED = flags.DEFINE_integer(
    'seed', 0, 'Seed of the initializations, the input circles (one per '
    'initialization, shared by every --arch) and the NTK batches.',
    lower_bound=0)
_NUM_THETAS = flags.DEFINE_integer('num_thetas', 10, 'Points on the circle.')
_SQRT_N = flags.DEFINE_bool('sqrt_n_scale', False,
                            'Scale the circle by sqrt(N) (paper; code: no).')
_THETA_SAMPLING = flags.DEFINE_enum(
    'theta_sampling', 'linspace_inclusive', settings_lib.THETA_SAMPLINGS,
    'Thetas: linspace with 2 pi (code) or evenly in [0, 2 pi) (paper).')
_LN_OFF = flags.DEFINE_bool(
    'layer_norm_off_for_length', True,
    'LayerNorms as identity for the curve metrics (authors\' code).')
_NTK_BATCH = flags.DEFINE_integer(
    'ntk_batch_size', 16, 'Images in the NTK, a batch of its own per '
    'initialization (authors\' code).')
_NTK_PARAMETERS = flags.DEFINE_enum(
    'ntk_parameters', 'weights', settings_lib.NTK_PARAMETERS,
    settings_lib.NTK_PARAMETERS_HELP)
_UNIT_TANGENT = flags.DEFINE_enum(
    'unit_tangent_derivative', 'constant_norm',
    settings_lib.UNIT_TANGENT_DERIVATIVES,
    'L_E^kappa: ||a||/||v|| (code) or d/dtheta (v/||v||) exactly (paper).')
_FORMAT = flags.DEFINE_enum('format', 'table', ['table', 'json'],
                            'Output format.')


def _number(x: float):
  """JSON has no NaN/inf: write them as strings."""
  return x if math.isfinite(x) else str(x)


def result_row(result: measurer_lib.MetricResult) -> Dict[str, Any]:
  """A metric result as a JSON-ready dict with its spread."""
  return {
      'mean': _number(result.mean), 'std': _number(result.std),
      'min': _number(min(result.values)), 'max': _number(max(result.values)),
      'values': [_number(v) for v in result.values],
      'seconds': result.seconds,
  }


def format_table(rows: List[Dict[str, Any]]) -> str:
  """One block per architecture, one line per metric."""
  lines = []
  for row in rows:
    lines.append(f'{row["arch"]} at {row["image_size"]}x{row["image_size"]}, '
                 f'{row["repeats"]} initializations')
    lines.append(f'  {"metric":<28} {"mean":>12} {"std":>12} {"min":>12} '
                 f'{"max":>12} {"seconds":>8}')
    for name, m in row['metrics'].items():
      cells = ' '.join(f'{float(m[k]):>12.5g}'
                       for k in ('mean', 'std', 'min', 'max'))
      lines.append(f'  {name:<28} {cells} {m["seconds"]:>8.2f}')
  return '\n'.join(lines)


def main(argv: List[str]) -> None:
  del argv  # Positional arguments are refused by cli.run.
  metrics = settings_lib.check_metrics(_METRICS.value)
  archs = [arch_lib.parse_arch(a)
           for a in arch_lib.split_arch_list(_ARCH.value)]
  settings = settings_lib.Settings(
      num_thetas=_NUM_THETAS.value, sqrt_n_scale=_SQRT_N.value,
      theta_sampling=_THETA_SAMPLING.value,
      layer_norm_off_for_length=_LN_OFF.value,
      ntk_batch_size=_NTK_BATCH.value,
      unit_tangent_derivative=_UNIT_TANGENT.value,
      ntk_parameters=_NTK_PARAMETERS.value)
  images = None
  if 'ntk' in metrics:
    images = sources.load_images(
        _DATA.value, _IMAGE_SIZE.value,
        measurer_lib.ntk_image_count(settings, _REPEATS.value), _SEED.value,
        _TFDS_DATA_DIR.value)
  measurer = measurer_lib.Measurer(_IMAGE_SIZE.value, images, settings,
                                   _REPEATS.value, _SEED.value)
  rows = []
  for arch in archs:
    results = measurer.measure(arch, metrics)
    rows.append({
        'arch': arch_lib.format_arch(arch), 'image_size': _IMAGE_SIZE.value,
        'repeats': _REPEATS.value, 'seed': _SEED.value,
        'settings': {k: getattr(settings, k)
                     for k in settings.__dataclass_fields__},
        'metrics': {name: result_row(r) for name, r in results.items()},
    })
  cli.print_rows(rows, _FORMAT.value, format_table)


def run() -> None:
  """Console-script entry point."""
  cli.run(main)


if __name__ == '__main__':
  run()
