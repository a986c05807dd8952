"""The training drivers' flags: Model Garden's own plus `--seed`.

Shared by `python -m asvit_tf.train` and `python -m detection.train`, so both
take the same flags, require the same ones and seed the same way.
"""

from absl import flags
import tf_keras
from official.common import flags as tfm_flags

REQUIRED = ('experiment', 'mode', 'model_dir')

tfm_flags.define_flags()
SEED = flags.DEFINE_integer(
    'seed', None, 'Seeds Python, NumPy and TF before the model is built, so '
    'the initial weights are reproducible (asvit_tf.train also seeds the data '
    'order and augmentation and makes TF ops deterministic); unset: unseeded, '
    "as Model Garden's own driver.", lower_bound=0, upper_bound=2**32 - 1)


def mark_required() -> None:
  """Makes absl refuse a run without --experiment, --mode or --model_dir.

  Called by the binaries' entry points only, so that importing a driver
  (tests do) leaves the flags optional.
  """
  flags.mark_flags_as_required(REQUIRED)


def seed_weights() -> None:
  """Seeds Python, NumPy and TF with --seed when it is set."""
  if SEED.value is not None:
    tf_keras.utils.set_random_seed(SEED.value)
