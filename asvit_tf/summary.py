"""Parameters and GMACs of As-ViT architectures, whole and per stage.

  python -m asvit_tf.summary --arch=small --image_size=224 --format=table
"""

from typing import Any, Dict, List

from absl import flags

from asvit_tf import cli
from asvit_tf import counting
from asvit_tf.modeling import arch as arch_lib
from asvit_tf.modeling import builders

_ARCH = flags.DEFINE_string(
    'arch', ','.join(arch_lib.PRESET_STRINGS),
    'Presets (seed, small, base, large) or architecture strings, several '
    'separated by ";" or by "," between preset names.')
_IMAGE_SIZE = flags.DEFINE_integer('image_size', 224, 'Square input side.',
                                  lower_bound=1)
_STRIDE = flags.DEFINE_enum('stride', '4', ['4', '8', '16'],
                            'Stage-1 token stride (Sec. 4 re-tokenization).')
_NUM_CLASSES = flags.DEFINE_integer('num_classes', 1000, 'Classifier width.',
                                   lower_bound=1)
_FORMAT = flags.DEFINE_enum('format', 'table', ['table', 'json'],
                            'Output format.')


def summarize(arch_text: str, image_size: int, stride: int,
              num_classes: int) -> Dict[str, Any]:
  """Counts of one architecture as a JSON-ready dict."""
  arch = arch_lib.parse_arch(arch_text)
  model = builders.build_classifier(arch, num_classes, image_size,
                                   stride=stride)
  params = counting.count_params(model)
  macs = counting.count_macs(model, image_size, image_size)
  result = {
      'name': arch_text.strip() if arch_text.strip() in
              arch_lib.PRESET_STRINGS else None,
      'arch': arch_lib.format_arch(arch),
      'image_size': image_size,
      'stride': stride,
      'num_classes': num_classes,
      'params': params['total'],
      'gmacs': macs['total'] / 1e9,
      'params_per_group': params,
      'gmacs_per_group': {k: v / 1e9 for k, v in macs.items()},
  }
  if result['name'] in arch_lib.PAPER_COST:
    paper_params, paper_gmacs = arch_lib.PAPER_COST[result['name']]
    result['paper'] = {'params': paper_params * 1e6, 'gmacs': paper_gmacs}
  return result


def format_table(rows: List[Dict[str, Any]]) -> str:
  """A plain-text table of `summarize` results."""
  header = (f'{"model":<8} {"architecture":<40} {"size":>5} {"stride":>6} '
            f'{"params (M)":>10} {"GMACs":>7} {"paper":>13}')
  lines = [header, '-' * len(header)]
  for row in rows:
    paper = row.get('paper')
    paper_text = (f'{paper["params"] / 1e6:.1f} / {paper["gmacs"]:.1f}'
                  if paper else '-')
    lines.append(
        f'{row["name"] or "-":<8} {row["arch"]:<40} {row["image_size"]:>5} '
        f'{row["stride"]:>6} {row["params"] / 1e6:>10.2f} '
        f'{row["gmacs"]:>7.2f} {paper_text:>13}')
  for row in rows:
    lines.append('')
    lines.append(f'{row["name"] or row["arch"]}: per group '
                 '(params M / GMACs)')
    for g in counting.GROUPS:
      lines.append(f'  {g:<8} {row["params_per_group"][g] / 1e6:>8.3f} M '
                   f'{row["gmacs_per_group"][g]:>8.3f} G')
  return '\n'.join(lines)


def main(argv: List[str]) -> None:
  del argv  # Positional arguments are refused by cli.run.
  rows = [summarize(a, _IMAGE_SIZE.value, int(_STRIDE.value),
                    _NUM_CLASSES.value)
          for a in arch_lib.split_arch_list(_ARCH.value)]
  cli.print_rows(rows, _FORMAT.value, format_table)


def run() -> None:
  """Console-script entry point."""
  cli.run(main)


if __name__ == '__main__':
  run()
