"""The benchmarks' warm-up topology; benchmarks/search_speed.py: how its
scaling hours are extrapolated; the benchmarks' bad flags refused in one line
before anything is timed."""

import numpy as np
import pytest

from asvit_tf import counting
from asvit_tf.modeling import arch as arch_lib
from asvit_tf.search import space
from benchmarks import search_speed
from tests import helpers


def test_warm_up_topology_has_the_search_spaces_largest_tensors():
  # Its (tokens, tokens) attention weights and its multiply-adds at the
  # paper's 224 bound those of every topology of a seeded sample of the space,
  # so the warm-up grows the CPU pool as far as a search needs.
  largest = space.largest_tensors_arch()
  most_weights = counting.arch_attention(largest, 224).weights
  most_macs = counting.arch_macs(largest, 224)
  rng = np.random.default_rng(0)
  for _ in range(300):
    arch = space.decode(tuple(int(rng.integers(n)) for n in space.SIZES))
    assert counting.arch_attention(arch, 224).weights <= most_weights, arch
    assert counting.arch_macs(arch, 224) <= most_macs, arch


def test_scaling_run_sums_a_power_law_between_its_timed_points():
  # Seconds a step c * params**alpha at two points around the nominal
  # trajectory (geometric from the seed to 80 M, a step per block the
  # published Large has beyond the seed): log-log interpolation is then
  # exact, and the run's seconds are a geometric series.
  seed, large = arch_lib.parse_arch('seed'), arch_lib.parse_arch('large')
  start, stop = counting.arch_params(seed), search_speed.STOP_PARAMS
  c, alpha = 3e-4, 0.8
  points = [{'params': p, 'seconds_per_step': c * p ** alpha}
            for p in (stop, start / 2)]
  steps = sum(large.depths) - sum(seed.depths)
  ratio = (stop / start) ** (alpha / steps)
  expected = c * start ** alpha * (1 - ratio ** steps) / (1 - ratio)
  result = search_speed.extrapolate_scaling(points)
  assert result['steps'] == steps
  assert result['seconds_per_step'][0] == pytest.approx(c * start ** alpha)
  assert result['seconds'] == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize('module, flag, message', [
    ('search_speed', '--points=', '--points is empty; allowed: one or more of '
     'seed, small, base, large'),
    ('search_speed', '--points=seed,huge', "--points has 'huge'; allowed: "
     'seed, small, base, large'),
    ('search_speed', '--search_steps=0', 'flag --search_steps=0: 0 is not a '
     'positive integer; allowed: a positive integer'),
    ('train_throughput', '--steps=0', 'flag --steps=0: 0 is not a positive '
     'integer; allowed: a positive integer'),
    # Refused in its worker process, which runs each metric.
    ('complexity_speed', '--arch=4,2,2,1', "arch '4,2,2,1' has 1 "
     '"|"-separated parts; allowed: a preset (seed, small, base, large) or '
     '"K,S,E[,L]|K,S,E[,L]|K,S,E[,L]|K,S,E[,L]|heads[,C]"')])
def test_bad_flags_fail_in_one_line(module, flag, message):
  result = helpers.run_module(f'benchmarks.{module}', flag)
  assert result.returncode == 2
  assert result.stderr.strip().splitlines()[-1] == f'error: {message}'
