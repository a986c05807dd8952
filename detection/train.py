"""Model Garden's vision training driver with the As-ViT detection experiment.

  python -m detection.train --experiment=cascadercnn_asvit_coco \
    --config_file=official_configs/cascadercnn_asvit_smoke_cpu.yaml \
    --mode=train_and_eval --model_dir=/tmp/asvit_det --seed=0

All of Model Garden's flags apply (--params_override, --mode=eval, ...).
The config, its data paths and, to train, the model_dir (writable, no run of another model
in its params.yaml) are checked before Model Garden's driver writes.
`--seed` (not in official/vision/train.py) seeds Python, NumPy and TF before
the model is built, so the initial weights are reproducible.
"""

from typing import List

from absl import flags
import tf_keras
from official.common import flags as tfm_flags
from official.vision import train

from asvit_tf import cli
from asvit_tf import run_dir
from asvit_tf.configs import loading
from detection import registry_imports  # pylint: disable=unused-import

tfm_flags.define_flags()
_SEED = flags.DEFINE_integer('seed', None, 'Global seed; unset: unseeded, as '
                             "Model Garden's own driver.")


def main(argv: List[str]) -> None:
  params = loading.parse(flags.FLAGS)  # Model Garden's main parses it again.
  loading.check_input_paths(params, flags.FLAGS.mode)
  if 'train' in flags.FLAGS.mode:  # Checked before its main writes.
    cli.check_writable_dir('model_dir', flags.FLAGS.model_dir)
    run_dir.check_params(params, flags.FLAGS.model_dir)
  if _SEED.value is not None:
    tf_keras.utils.set_random_seed(_SEED.value)
  train.main(argv)


def run() -> None:
  """Console-script entry point."""
  flags.mark_flags_as_required(['experiment', 'mode', 'model_dir'])
  cli.run(main, flags_only=False)  # Model Garden's main ignores them.


if __name__ == '__main__':
  run()
