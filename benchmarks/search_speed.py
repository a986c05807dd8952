"""Seconds per search step and per scaling step, and the full-run wall times.

At the paper's protocol by default (224x224, 5 initializations, NTK batch 16),
with the real metrics (asvit_tf.complexity):

- search: `--search_steps` REINFORCE steps of a fresh policy, each timed
  (sampling, both metrics, update); the full search is 500 times the mean.
- scaling: the seconds of one measurement are sampled on `--scale_samples`
  proxies of the candidates at each of `--points` (published family members
  standing for stages of the run); a step at that point costs that times its
  number of distinct proxies within the 110 M maximum. The run to 80 M is
  extrapolated along a nominal trajectory: parameters growing geometrically
  from the seed to 80 M in as many steps as the published Large has blocks
  beyond the seed's four (each step adds exactly one block), each step timed
  by log-log interpolation between the sampled points.

Beside its seconds, every timed step and measure reports its compute bound:
the seconds its multiply-adds take at this machine's float32 matmul peak
(the best of a read before and one after the timing, in the same run),
2 FLOPs a MAC x the topology's forward MACs an image (asvit_tf.counting) x
initializations x (3 x thetas + 3 x NTK batch), a forward-mode pass and a
per-example gradient each priced at three forward passes; its efficiency is
that bound over the measured seconds. With a few channels a head the
attention's cost is its (tokens, tokens) tensors' memory traffic, not its
MACs, so each row also reports a roofline bound: the same, with the
attention priced at the slower of its MACs and 7 float32 passes an image
over its weight tensors (asvit_tf.counting.arch_attention) at this
machine's memory bandwidth (measured beside the peak), and its efficiency.

Every timed measurement is then repeated at once (`seen_seconds`): the same
topology and seed, its model built, its functions traced and first run
before, so what remains is the computing alone. Both run times are
extrapolated: their difference is what never-seen topologies cost a run.

Before anything is timed, the metric workers measure the search space's
topology with the largest tensors once (`space.largest_tensors_arch`): TF's
CPU pool (BFC) grows to what the search needs and is never handed back, so a
search pays that growth once, in its first steps, not in every step. Its seconds
are reported and added once to the 500-step total.

  python -m benchmarks.search_speed [--format=json]
"""

import json
import math
import os
import statistics
import time
from typing import Any, Dict, List, Sequence, Tuple

from absl import flags
import numpy as np

from asvit_tf import cli
from asvit_tf import complexity
from asvit_tf import counting
from asvit_tf import errors
from asvit_tf import metric_flags
from asvit_tf.complexity import metric as metric_lib
from asvit_tf.modeling import arch as arch_lib
from asvit_tf.scaling import scaler as scaler_lib
from asvit_tf.search import reinforce
from asvit_tf.search import space
from benchmarks import machine_peaks

_SEARCH_STEPS = flags.DEFINE_integer('search_steps', 4,
                                     'Search steps to time.', lower_bound=1)
_SCALE_SAMPLES = flags.DEFINE_integer(
    'scale_samples', 2, 'Proxies timed per scaling point.', lower_bound=1)
_POINTS = flags.DEFINE_list('points', ['seed', 'small', 'large'],
                            'Family members at which a scaling step is timed.')
_FORMAT = flags.DEFINE_enum('format', 'table', ['table', 'json'], 'Output.')

SEARCH_STEPS = 500
STOP_PARAMS = scaler_lib.ScaleConfig.stop_params
MAX_PARAMS = scaler_lib.ScaleConfig.max_params


# Passes over the (tokens, tokens) attention tensors that an image costs at
# the least when each is materialized: the forward 4 (q k^T writes the
# scores, the softmax reads them and writes the weights, weights v reads
# these), a derivative 3 more (its own (tokens, tokens) tangent or gradient
# written and read, the weights read again).
ATTENTION_PASSES = 7


def _images() -> int:
  """Images one measurement differentiates: every theta and NTK example of
  every initialization, a forward-mode pass or a per-example gradient each,
  priced at three forward passes."""
  return metric_flags.REPEATS.value * (
      complexity.Settings().num_thetas + metric_flags.NTK_BATCH_SIZE.value)


def compute_bound_seconds(arch: arch_lib.ArchSpec, peak: float) -> float:
  """Seconds of one measurement of `arch` (both metrics, every
  initialization) at `peak` FLOP/s."""
  macs = counting.arch_macs(arch, metric_flags.IMAGE_SIZE.value)
  return 2 * macs * 3 * _images() / peak


def roofline_bound_seconds(arch: arch_lib.ArchSpec, peak: float,
                           bandwidth: float) -> float:
  """The compute bound with the attention priced at the slower of its MACs
  and its (tokens, tokens) float32 traffic at `bandwidth` bytes/s."""
  attention = counting.arch_attention(arch, metric_flags.IMAGE_SIZE.value)
  traffic = 4 * attention.weights * ATTENTION_PASSES * _images() / bandwidth
  attention_compute = 2 * attention.macs * 3 * _images() / peak
  return (compute_bound_seconds(arch, peak) - attention_compute +
          max(attention_compute, traffic))


def add_bound(row: Dict[str, Any], peak: float, bandwidth: float) -> None:
  """Adds a timed row's compute and roofline bounds and its efficiency
  against each."""
  arch = arch_lib.parse_arch(row['arch'])
  bound = compute_bound_seconds(arch, peak)
  roofline = roofline_bound_seconds(arch, peak, bandwidth)
  row.update(bound_seconds=bound, efficiency=bound / row['seconds'],
             roofline_bound_seconds=roofline,
             roofline_efficiency=roofline / row['seconds'])


def warm_up(metric: metric_lib.MetricFn) -> Dict[str, Any]:
  """Measures `space.largest_tensors_arch` once; its arch and seconds."""
  arch = space.largest_tensors_arch()
  start = time.perf_counter()
  metric(arch, metric_flags.SEED.value)
  return {'arch': arch_lib.format_arch(arch),
          'seconds': time.perf_counter() - start}


def seconds_of(metric: metric_lib.MetricFn, arch: arch_lib.ArchSpec,
               seed: int) -> float:
  """Wall seconds of one measurement."""
  start = time.perf_counter()
  metric(arch, seed)
  return time.perf_counter() - start


def time_search(metric: metric_lib.MetricFn) -> List[Dict[str, Any]]:
  """Each of the first `--search_steps` search steps, timed whole, and its
  measurement timed again (`seen_seconds`): the same work once the topology's
  build, traces and first runs are behind it."""
  search = reinforce.Search(reinforce.SearchConfig(
      steps=_SEARCH_STEPS.value, seed=metric_flags.SEED.value,
      image_size=metric_flags.IMAGE_SIZE.value))
  calls = []

  def recorded(arch: arch_lib.ArchSpec, seed: int) -> Tuple[float, float]:
    calls.append((arch, seed))
    return metric(arch, seed)

  steps = []
  for _ in range(_SEARCH_STEPS.value):
    start = time.perf_counter()
    record = search.step(recorded)
    seconds = time.perf_counter() - start
    steps.append({'arch': record['arch'], 'seconds': seconds,
                  'seen_seconds': seconds_of(metric, *calls[-1])})
  return steps


def distinct_proxies(arch: arch_lib.ArchSpec) -> List[arch_lib.ArchSpec]:
  """The C/4 stand-ins one scaling step from `arch` measures, in order."""
  return [c.measured for c in scaler_lib.candidates(arch)
          if counting.arch_params(c.arch) <= MAX_PARAMS]


def time_scaling_point(metric: metric_lib.MetricFn,
                       name: str) -> Dict[str, Any]:
  arch = arch_lib.parse_arch(name)
  proxies = distinct_proxies(arch)
  measures = [{'arch': arch_lib.format_arch(proxy),
               'seconds': seconds_of(metric, proxy, metric_flags.SEED.value),
               'seen_seconds': seconds_of(metric, proxy,
                                          metric_flags.SEED.value)}
              for proxy in proxies[:_SCALE_SAMPLES.value]]
  per_step = {f'{key}_per_step': len(proxies) * statistics.mean(
      m[key] for m in measures) for key in ('seconds', 'seen_seconds')}
  return {'point': name, 'arch': arch_lib.format_arch(arch),
          'params': counting.arch_params(arch),
          'measures_per_step': len(proxies), 'measures': measures, **per_step}


def extrapolate_scaling(points: Sequence[Dict[str, Any]],
                        key: str = 'seconds_per_step') -> Dict[str, Any]:
  """Seconds of the run to 80 M along the nominal trajectory, each step
  priced by the points' `key`."""
  seed_arch, large = (arch_lib.parse_arch(n) for n in ('seed', 'large'))
  steps = sum(large.depths) - sum(seed_arch.depths)
  start = counting.arch_params(seed_arch)
  trajectory = [start * (STOP_PARAMS / start) ** (k / steps)
                for k in range(steps)]
  ordered = sorted(points, key=lambda p: p['params'])
  log_params = [math.log(p['params']) for p in ordered]
  log_seconds = [math.log(p[key]) for p in ordered]
  per_step = [math.exp(np.interp(math.log(p), log_params, log_seconds))
              for p in trajectory]
  return {'steps': steps, 'seconds': sum(per_step),
          'seconds_per_step': per_step}


def main(argv: List[str]) -> None:
  del argv  # Positional arguments are refused by cli.run.
  presets = ', '.join(arch_lib.PRESET_STRINGS)
  if not _POINTS.value:
    raise errors.UsageError(f'--points is empty; allowed: one or more of '
                            f'{presets}')
  for name in _POINTS.value:
    if name not in arch_lib.PRESET_STRINGS:
      raise errors.UsageError(f'--points has {name!r}; allowed: {presets}')
  peak = machine_peaks.matmul_peak_flops()
  bandwidth = machine_peaks.memory_bandwidth_bytes()
  start = time.perf_counter()
  workers = metric_flags.metric_workers()
  metric = metric_flags.build_metric()
  setup = time.perf_counter() - start
  warmup = warm_up(metric)
  steps = time_search(metric)
  points = [time_scaling_point(metric, name) for name in _POINTS.value]
  peak = max(peak, machine_peaks.matmul_peak_flops())
  bandwidth = max(bandwidth, machine_peaks.memory_bandwidth_bytes())
  for row in steps + [m for p in points for m in p['measures']]:
    add_bound(row, peak, bandwidth)
  scale = extrapolate_scaling(points)
  seen_scale = extrapolate_scaling(points, 'seen_seconds_per_step')
  search_seconds = [s['seconds'] for s in steps]
  search_step = statistics.mean(search_seconds)
  seen_step = statistics.mean(s['seen_seconds'] for s in steps)
  efficiency = statistics.mean(s['efficiency'] for s in steps)
  roofline = statistics.mean(s['roofline_efficiency'] for s in steps)
  search_hours = (warmup['seconds'] + search_step * SEARCH_STEPS) / 3600
  seen_search_hours = (warmup['seconds'] + seen_step * SEARCH_STEPS) / 3600
  report = {
      'cpus': os.cpu_count(), 'load_average_1min': os.getloadavg()[0],
      'protocol': metric_flags.metric_settings(),
      'matmul_peak_tflops': peak / 1e12,
      'memory_bandwidth_gbps': bandwidth / 1e9,
      'metric_workers': workers,
      'setup_seconds': setup,
      'warmup': warmup,
      'search': {'steps': steps,
                 'mean_step_seconds': search_step,
                 'mean_efficiency': efficiency,
                 'mean_roofline_efficiency': roofline,
                 'full_search_steps': SEARCH_STEPS,
                 'full_search_hours': search_hours,
                 'mean_seen_step_seconds': seen_step,
                 'full_search_seen_hours': seen_search_hours},
      'scaling': {'points': points, 'nominal_steps': scale['steps'],
                  'nominal_step_seconds': scale['seconds_per_step'],
                  'mean_step_seconds': scale['seconds'] / scale['steps'],
                  'full_scaling_hours': scale['seconds'] / 3600,
                  'full_scaling_seen_hours': seen_scale['seconds'] / 3600},
  }
  if _FORMAT.value == 'json':
    print(json.dumps(report, indent=2))
    return
  protocol = report['protocol']
  print(f'protocol: {protocol["image_size"]}x{protocol["image_size"]}, '
        f'{protocol["repeats"]} initializations, NTK batch '
        f'{protocol["ntk_batch_size"]}; '
        f'{report["cpus"]} CPUs, {workers} metric processes, load '
        f'{report["load_average_1min"]:.1f}, '
        f'matmul peak {peak / 1e12:.3f} TFLOP/s, memory '
        f'{bandwidth / 1e9:.1f} GB/s')
  print(f'warm-up ({warmup["arch"]}): {warmup["seconds"]:.1f} s, once')
  print(f'search step: {search_step:.1f} s (mean of {len(search_seconds)}: '
        f'{", ".join(f"{s:.1f}" for s in search_seconds)}); '
        f'warm-up and {SEARCH_STEPS} steps: {search_hours:.2f} h')
  print(f'search step measured again: {seen_step:.1f} s; warm-up and '
        f'{SEARCH_STEPS} steps at that: {seen_search_hours:.2f} h')
  bounds = ', '.join(f'{s["bound_seconds"]:.2f}' for s in steps)
  print(f'search step compute bound: {bounds} s; mean efficiency '
        f'{efficiency:.1%}')
  rooflines = ', '.join(f'{s["roofline_bound_seconds"]:.2f}' for s in steps)
  print(f'search step roofline bound: {rooflines} s; mean efficiency '
        f'{roofline:.1%}')
  for p in points:
    seconds = [m['seconds'] for m in p['measures']]
    efficiencies = [m['efficiency'] for m in p['measures']]
    rooflines = [m['roofline_efficiency'] for m in p['measures']]
    print(f'scaling step at {p["point"]} ({p["params"] / 1e6:.1f} M): '
          f'{p["measures_per_step"]} measures x '
          f'{statistics.mean(seconds):.1f} s = '
          f'{p["seconds_per_step"]:.1f} s, measured again '
          f'{p["seen_seconds_per_step"]:.1f} s (efficiency '
          f'{statistics.mean(efficiencies):.1%}, roofline '
          f'{statistics.mean(rooflines):.1%})')
  print(f'scaling run to {STOP_PARAMS / 1e6:.0f} M: {scale["steps"]} nominal '
        f'steps, {scale["seconds"] / 3600:.2f} h; measured again '
        f'{seen_scale["seconds"] / 3600:.2f} h')


if __name__ == '__main__':
  cli.run(main)
