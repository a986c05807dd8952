"""Parameters and GMACs of the Cascade Mask R-CNN, per component (Table 8).

  python -m detection.cost \
    --config_file=official_configs/cascadercnn_asvit_large_coco_1024.yaml

Prints JSON: params (M) and GMACs of the backbone, FPN, RPN head, cascade box
heads and mask head, next to the paper's 138.8 M and 1094.2 GFLOPs (MACs).
"""

import json
from typing import List

from absl import flags
from official.core import train_utils

from asvit_tf import cli
from asvit_tf.configs import loading
from detection import configs
from detection import detector_cost

_CONFIG_FILE = flags.DEFINE_multi_string(
    'config_file', [], 'YAML overrides of the experiment, as for training.')
_PARAMS_OVERRIDE = flags.DEFINE_string('params_override', '',
                                       'Further overrides (YAML or k=v,...).')


def main(argv: List[str]) -> None:
  del argv  # Positional arguments are refused by cli.run.
  params = loading.parse(train_utils.ParseConfigOptions(
      experiment=detector_cost.EXPERIMENT, config_file=_CONFIG_FILE.value,
      params_override=_PARAMS_OVERRIDE.value))
  configs.check_levels_and_input_size(params)
  result = detector_cost.detector_cost(params)
  result['input_size'] = list(params.task.model.input_size)
  result['paper'] = {'params_m': detector_cost.PAPER['params'] / 1e6,
                     'gmacs': detector_cost.PAPER['gmacs']}
  print(json.dumps(result, indent=2))


def run() -> None:
  """Console-script entry point."""
  cli.run(main)


if __name__ == '__main__':
  run()
