"""Seconds and peak memory of the training-free metrics per topology.

  python -m benchmarks.complexity_speed [--format=json]

Seed topology at 224x224, 10 thetas, 5 initializations, NTK batch 16
(docs/design.md section 2). Each metric runs in a fresh subprocess: a
different topology first (`--warmup_arch`, untimed: TF's once-per-process
costs; by default the search space's topology with the largest tensors, which
grows TF's CPU memory pool as a search's first steps do), then the first call
on `--arch` (build and trace included, what a search step pays for a
never-seen topology), steady-state calls on the same Measurer, their ratio,
and the process's peak resident memory (ru_maxrss) before and after.
Curvature and length distortion with curvature share one pass; length
distortion alone takes the cheaper first-order pass.

`--attention_stand_in` times the same with the window attention's
(tokens, tokens) work replaced by a cheap function of the same q, k and v
(the metric values are then meaningless): the difference is that work's
share of the time.
"""

import json
import os
import resource
import subprocess
import sys
import time

from absl import flags

from asvit_tf import cli
from asvit_tf import errors
from asvit_tf.modeling import arch as arch_lib
from asvit_tf.search import space

_FORMAT = flags.DEFINE_enum('format', 'table', ['table', 'json'],
                            'Output format.')
_ARCH = flags.DEFINE_string('arch', 'seed', 'Architecture to time.')
_IMAGE_SIZE = flags.DEFINE_integer('image_size', 224, 'Square input side.',
                                  lower_bound=1)
_REPEATS = flags.DEFINE_integer('repeats', 5, 'Initializations per topology.',
                                lower_bound=1)
_WARMUP_ARCH = flags.DEFINE_string(
    'warmup_arch', arch_lib.format_arch(space.largest_tensors_arch()),
    'Topology measured first, untimed (default: the search space\'s largest '
    'tensors); empty: none (the first call then includes TF\'s '
    'once-per-process costs and the growth of its CPU memory pool).')
_STEADY_CALLS = flags.DEFINE_integer('steady_calls', 2,
                                     'Timed calls after the first.',
                                     lower_bound=1)
_STAND_IN = flags.DEFINE_bool(
    'attention_stand_in', False,
    'Replace softmax(q k^T) v by v + (q + k) / 1000 to time the rest.')
_WORKER = flags.DEFINE_string('worker', None, 'Internal: time this metric.')

METRICS = ('length_distortion', 'curvature', 'ntk')
# Steady-state seconds per topology asked of this project on a 2-core CPU,
# and the authors' PyTorch code measured on the same machine (L_E 142 s and
# NTK 20 s per initialization).
TARGET_SECONDS = {'length_distortion': 3.0, 'curvature': 10.0, 'ntk': 5.0}
AUTHORS_SECONDS = {'length_distortion': 710.0, 'ntk': 100.0}


def _maxrss_mb() -> float:
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_metric(metric: str) -> dict:
  """Runs in the worker: first call, steady calls and memory of one metric."""
  from asvit_tf import complexity  # pylint: disable=g-import-not-at-top
  if _STAND_IN.value:
    from asvit_tf.modeling.layers import attention  # pylint: disable=g-import-not-at-top
    attention.attend = lambda q, k, v: v + (q + k) / 1000
  arch = arch_lib.parse_arch(_ARCH.value)
  measurer = complexity.Measurer(_IMAGE_SIZE.value, repeats=_REPEATS.value)
  if _WARMUP_ARCH.value:
    measurer.measure(arch_lib.parse_arch(_WARMUP_ARCH.value), [metric])
  rss_before = _maxrss_mb()
  start = time.perf_counter()
  result = measurer.measure(arch, [metric])[metric]
  first = time.perf_counter() - start
  steady = []
  for _ in range(_STEADY_CALLS.value):
    start = time.perf_counter()
    measurer.measure(arch, [metric])
    steady.append(time.perf_counter() - start)
  return {
      'metric': metric, 'mean': result.mean, 'first_call_s': first,
      'steady_s': steady, 'steady_min_s': min(steady),
      'first_over_steady': first / min(steady),
      'rss_before_mb': rss_before, 'peak_rss_mb': _maxrss_mb(),
      'peak_delta_mb': _maxrss_mb() - rss_before,
  }


def _run_worker(metric: str) -> dict:
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2', CUDA_VISIBLE_DEVICES='')
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  env['PYTHONPATH'] = os.pathsep.join(
      [root] + [p for p in [env.get('PYTHONPATH')] if p])
  out = subprocess.run(
      [sys.executable, os.path.abspath(__file__), f'--worker={metric}',
       f'--arch={_ARCH.value}', f'--image_size={_IMAGE_SIZE.value}',
       f'--repeats={_REPEATS.value}', f'--warmup_arch={_WARMUP_ARCH.value}',
       f'--steady_calls={_STEADY_CALLS.value}',
       f'--attention_stand_in={_STAND_IN.value}'],
      capture_output=True, text=True, env=env, check=False)
  if out.returncode == 2:  # The worker refused a flag in one line: pass it on.
    raise errors.UsageError(
        out.stderr.strip().splitlines()[-1].removeprefix('error: '))
  if out.returncode:
    raise RuntimeError(f'the {metric} worker failed:\n{out.stderr[-3000:]}')
  return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv):
  del argv
  if _WORKER.value:
    print(json.dumps(time_metric(_WORKER.value)))
    return
  rows = [_run_worker(m) for m in METRICS]
  for row in rows:
    row['target_s'] = TARGET_SECONDS[row['metric']]
    row['authors_s'] = AUTHORS_SECONDS.get(row['metric'])
  report = {'arch': _ARCH.value, 'warmup_arch': _WARMUP_ARCH.value,
            'attention_stand_in': _STAND_IN.value,
            'image_size': _IMAGE_SIZE.value,
            'repeats': _REPEATS.value, 'cpus': os.cpu_count(),
            'load_average_1min': os.getloadavg()[0], 'metrics': rows}
  if _FORMAT.value == 'json':
    print(json.dumps(report, indent=2))
    return
  stand_in = ' (attention stand-in)' if _STAND_IN.value else ''
  print(f'{report["arch"]}{stand_in} at {report["image_size"]}, '
        f'{report["repeats"]} initializations per topology, {report["cpus"]} '
        f'CPUs, load {report["load_average_1min"]:.1f}')
  print(f'{"metric":<20} {"first (s)":>10} {"steady (s)":>11} '
        f'{"first/steady":>12} {"target (s)":>10} {"authors (s)":>11} '
        f'{"peak RSS (MB)":>14} {"delta (MB)":>10}')
  for row in rows:
    authors = f'{row["authors_s"]:.0f}' if row['authors_s'] else '-'
    print(f'{row["metric"]:<20} {row["first_call_s"]:>10.1f} '
          f'{row["steady_min_s"]:>11.2f} {row["first_over_steady"]:>12.2f} '
          f'{row["target_s"]:>10.1f} '
          f'{authors:>11} {row["peak_rss_mb"]:>14.0f} '
          f'{row["peak_delta_mb"]:>10.0f}')


if __name__ == '__main__':
  cli.run(main)
