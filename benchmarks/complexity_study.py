"""The paper's complexity study (Table 2) at a scale this machine can do.

Samples topologies from Table 1 (L = 1 each, seeded), trains each briefly on
the embedded digits with one fixed recipe, measures L_E, curvature, L_E with
curvature and the NTK condition number at initialization, and prints the
Kendall tau of each against accuracy with a bootstrap confidence interval,
next to the paper's (ImageNet, 87 topologies, 300 epochs).

  python -m benchmarks.complexity_study [--num_topologies=32] [--format=json]

Progress, one line a topology with an ETA, goes to stderr; stdout holds only
the table or the JSON.
"""

import json
import math
import sys
import time
from typing import Any, Dict, List, Sequence

from absl import flags
import numpy as np
from scipy import stats
import tensorflow as tf
import tf_keras

from asvit_tf import cli
from asvit_tf import complexity
from asvit_tf.data import digits
from asvit_tf.data import sources
from asvit_tf.modeling import arch as arch_lib
from asvit_tf.modeling import builders

_NUM = flags.DEFINE_integer('num_topologies', 32, 'Topologies to sample.',
                            lower_bound=2)
_IMAGE_SIZE = flags.DEFINE_integer('image_size', 32, 'Square image side.',
                                  lower_bound=1)
_WIDTH = flags.DEFINE_integer('width', 16, 'Base width C of every topology.',
                             lower_bound=1)
_EPOCHS = flags.DEFINE_integer('epochs', 1, 'Training epochs per topology.',
                               lower_bound=1)
_BATCH = flags.DEFINE_integer('batch_size', 64, 'Training batch size.',
                              lower_bound=1)
_REPEATS = flags.DEFINE_integer('repeats', 5, 'Initializations per metric.',
                                lower_bound=1)
_BOOTSTRAP = flags.DEFINE_integer('bootstrap', 2000, 'Bootstrap resamples.',
                                  lower_bound=1)
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of sampling, init, training.',
                             lower_bound=0)
_FORMAT = flags.DEFINE_enum('format', 'table', ['table', 'json'], 'Output.')
_OUTPUT = flags.DEFINE_string('output', None, 'Optional JSON file to write.')

# Table 2 of the paper (Kendall tau with ImageNet top-1).
PAPER_TAU = {'length_distortion': 0.49, 'curvature': -0.49,
             'length_distortion_curvature': -0.01, 'ntk': None}


def sample_topology(rng: np.random.Generator, width: int) -> arch_lib.ArchSpec:
  """A uniform draw from Table 1 with L = 1 per stage."""
  stages = tuple(
      arch_lib.StageSpec(int(rng.choice(k)), int(rng.choice(s)),
                         int(rng.choice(e)))
      for k, s, e in zip(arch_lib.KERNEL_CHOICES, arch_lib.SPLIT_CHOICES,
                         arch_lib.EXPANSION_CHOICES))
  return arch_lib.ArchSpec(stages, int(rng.choice(arch_lib.HEAD_CHOICES)),
                           width)


def train_accuracy(arch: arch_lib.ArchSpec, data: Dict[str, Any],
                   epochs: int, batch_size: int, seed: int) -> float:
  """Top-1 on the digits validation split after a short fixed recipe."""
  tf_keras.utils.set_random_seed(seed)
  size = data['train'][0].shape[1]
  model = builders.build_classifier(arch, digits.NUM_CLASSES, size)
  model.compile(
      optimizer=tf_keras.optimizers.AdamW(learning_rate=1e-3,
                                          weight_decay=0.05),
      loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True),
      metrics=['accuracy'])
  model.fit(*data['train'], batch_size=batch_size, epochs=epochs, verbose=0,
            shuffle=True)
  return float(model.evaluate(*data['validation'], verbose=0)[1])


def kendall_with_ci(metric: Sequence[float], accuracy: Sequence[float],
                    resamples: int, seed: int) -> Dict[str, float]:
  """Kendall tau and its 95 % percentile bootstrap interval."""
  x, y = np.asarray(metric, float), np.asarray(accuracy, float)
  keep = np.isfinite(x)
  x, y = x[keep], y[keep]
  tau = stats.kendalltau(x, y).statistic
  rng = np.random.default_rng(seed)
  boot = []
  for _ in range(resamples):
    idx = rng.integers(0, len(x), len(x))
    value = stats.kendalltau(x[idx], y[idx]).statistic
    if np.isfinite(value):
      boot.append(value)
  low, high = (np.percentile(boot, [2.5, 97.5]) if boot
               else (math.nan, math.nan))
  return {'tau': float(tau), 'ci_low': float(low), 'ci_high': float(high),
          'n': int(len(x))}


def load_data(image_size: int, seed: int) -> Dict[str, Any]:
  images, labels = digits.load_digits_images(image_size)
  normalized = sources.normalize_images(images, image_size)
  return {split: (normalized[idx], labels[idx])
          for split, idx in digits.split_indices(len(labels),
                                                 seed=seed).items()}


def run_study() -> Dict[str, Any]:
  rng = np.random.default_rng(_SEED.value)
  data = load_data(_IMAGE_SIZE.value, _SEED.value)
  # The Measurer takes its NTK batches, one per initialization, from the
  # start of the training split.
  measurer = complexity.Measurer(
      _IMAGE_SIZE.value, images=data['train'][0],
      repeats=_REPEATS.value, seed=_SEED.value)
  rows: List[Dict[str, Any]] = []
  start = time.time()
  for i in range(_NUM.value):
    arch = sample_topology(rng, _WIDTH.value)
    results = measurer.measure(arch, complexity.METRICS)
    accuracy = train_accuracy(arch, data, _EPOCHS.value, _BATCH.value,
                              _SEED.value + i)
    rows.append({'arch': arch_lib.format_arch(arch), 'accuracy': accuracy,
                 **{name: r.mean for name, r in results.items()},
                 'seconds': {name: r.seconds for name, r in results.items()}})
    elapsed = time.time() - start
    eta = elapsed / (i + 1) * (_NUM.value - i - 1)
    print(f'[{i + 1}/{_NUM.value}] {arch_lib.format_arch(arch)} '
          f'top-1 {accuracy:.3f} L_E {results["length_distortion"].mean:.4g} '
          f'NTK {results["ntk"].mean:.4g} elapsed {elapsed:.0f}s '
          f'ETA {eta:.0f}s', file=sys.stderr, flush=True)
  accuracies = [r['accuracy'] for r in rows]
  correlations = {
      name: dict(kendall_with_ci([r[name] for r in rows], accuracies,
                                 _BOOTSTRAP.value, _SEED.value),
                 paper=PAPER_TAU[name])
      for name in complexity.METRICS}
  seconds = {name: float(np.mean([r['seconds'][name] for r in rows]))
             for name in complexity.METRICS}
  return {'settings': {'num_topologies': _NUM.value,
                       'image_size': _IMAGE_SIZE.value, 'width': _WIDTH.value,
                       'epochs': _EPOCHS.value, 'repeats': _REPEATS.value,
                       'seed': _SEED.value},
          'correlations': correlations, 'seconds_per_topology': seconds,
          'wall_seconds': time.time() - start, 'topologies': rows}


def main(argv: List[str]) -> None:
  del argv
  result = run_study()
  if _OUTPUT.value:
    with tf.io.gfile.GFile(_OUTPUT.value, 'w') as f:
      json.dump(result, f, indent=2)
  if _FORMAT.value == 'json':
    print(json.dumps(result, indent=2))
    return
  print(f'\n{"metric":<30} {"tau":>7} {"95% CI":>17} {"paper":>7} '
        f'{"s/topology":>10}')
  for name, c in result['correlations'].items():
    paper = '-' if c['paper'] is None else f'{c["paper"]:+.2f}'
    print(f'{name:<30} {c["tau"]:>+7.3f} [{c["ci_low"]:+.2f}, '
          f'{c["ci_high"]:+.2f}] {paper:>7} '
          f'{result["seconds_per_topology"][name]:>10.2f}')


if __name__ == '__main__':
  cli.run(main)
