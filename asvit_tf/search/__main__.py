"""Training-free topology search (Algorithm 1), resumable.

  python -m asvit_tf.search --model_dir=/tmp/search --image_size=224 \\
      --steps=500 --data=digits

Writes search_state.json (every step), search_result.json,
search_entropy.png and TensorBoard scalars to --model_dir; run again with the
same flags to resume after an interruption.
"""

from typing import List

from absl import flags

from asvit_tf import cli
from asvit_tf import job_flags
from asvit_tf import metric_flags
from asvit_tf.search import reinforce
from asvit_tf.search import space

_STEPS = flags.DEFINE_integer('steps', 500, 'REINFORCE steps (paper: 500).',
                              lower_bound=1)
_LEARNING_RATE = flags.DEFINE_float(
    'learning_rate', 0.08, 'Adam learning rate of the policy (authors: 0.08).')
_BASELINE_MOMENTUM = flags.DEFINE_float(
    'baseline_momentum', 0.9, 'Momentum of the moving-average reward '
    'baseline (authors: 0.9).')
_REWARD_WINDOW = flags.DEFINE_integer(
    'reward_window', 20, 'Recent values whose range normalizes each metric '
    'change (authors: 20).', lower_bound=1)
flags.register_validator('learning_rate',
                         lambda rate: 0 < rate < float('inf'),
                         message='not a positive number; allowed: a positive '
                         'finite number')
flags.register_validator('baseline_momentum',
                         lambda momentum: 0 <= momentum < 1,
                         message='out of range; allowed: 0 <= momentum < 1')


def main(argv: List[str]) -> None:
  del argv  # Positional arguments are refused by cli.run.
  settings = metric_flags.metric_settings()
  job_flags.check_image_size(space.finest_splits_arch(),
                             settings['image_size'])
  config = reinforce.SearchConfig(
      steps=_STEPS.value, learning_rate=_LEARNING_RATE.value,
      baseline_momentum=_BASELINE_MOMENTUM.value,
      reward_window=_REWARD_WINDOW.value, seed=settings['seed'],
      image_size=settings['image_size'])
  job_flags.run(reinforce.Search, config, settings)


def run() -> None:
  """Console-script entry point (asvit-search)."""
  cli.run(main)


if __name__ == '__main__':
  run()
