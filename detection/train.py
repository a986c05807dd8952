"""Model Garden's training driver with the As-ViT detection experiment.

  python -m detection.train --experiment=cascadercnn_asvit_coco \
    --config_file=official_configs/cascadercnn_asvit_smoke_cpu.yaml \
    --mode=train_and_eval --model_dir=/tmp/asvit_det --seed=0

All of Model Garden's flags apply (--params_override, --mode=eval, ...).
The config (with input sides that Model Garden's parser keeps), its data
paths and the model_dir (writable, its latest checkpoint readable and
fitting the configured model, in every mode; to train, no run of another
model in its params.yaml) are checked before Model Garden's driver writes.
`--seed` (not in official/vision/train.py) seeds Python, NumPy and TF before
the model is built, so the initial weights are reproducible. The driver is
official/vision/train.py's with asvit_tf.trainer's trainer, whose first
training loop is traced once instead of twice (BUILD.md), and
`runtime.mixed_precision_dtype` takes `auto` as asvit_tf.train's does.
"""

from typing import List

from absl import flags

from asvit_tf import cli
from asvit_tf import driver_flags
from asvit_tf import train
from detection import configs
from detection import registry_imports  # pylint: disable=unused-import


def main(argv: List[str]) -> None:
  del argv  # Positional arguments are refused by cli.run.
  params = train.parse_params()
  configs.check_levels_and_input_size(params)
  driver_flags.seed_weights()
  setup = train.set_up_before_writing(params, flags.FLAGS.mode,
                                      flags.FLAGS.model_dir)
  train.run_recorded(params, flags.FLAGS.model_dir, flags.FLAGS.mode, setup)


def run() -> None:
  """Console-script entry point."""
  driver_flags.mark_required()
  cli.run(main)


if __name__ == '__main__':
  run()
