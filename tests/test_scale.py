"""Algorithm 2: widths, candidates, rank-sum choice, budget, resume, costs."""

import io
import json
import math

import pytest

from asvit_tf import complexity
from asvit_tf import counting
from asvit_tf import job as job_lib
from asvit_tf.modeling import arch as arch_lib
from asvit_tf.modeling import builders
from asvit_tf.scaling import scaler as scaler_lib
from tests import helpers

SEED = arch_lib.parse_arch('seed')


@pytest.mark.parametrize('text', [helpers.TINY_ARCH, helpers.TINY_ARCH_2,
                                  helpers.UNEVEN_ARCH])
def test_closed_form_costs_equal_the_built_model(text):
  arch = arch_lib.parse_arch(text)
  model = builders.build_classifier(arch, 10, 64)
  assert counting.arch_params(arch, 10) == counting.count_params(model)['total']
  assert counting.arch_macs(arch, 64, 10) == counting.count_macs(
      model, 64, 64)['total']


def test_closed_form_costs_match_the_official_family():
  # docs/design.md section 1: the authors' PyTorch model at 224, 1000 classes.
  official = {'seed': (2.32, 0.49), 'small': (28.78, 5.13),
              'base': (52.26, 8.75), 'large': (87.58, 22.36)}
  for name, (params, gmacs) in official.items():
    arch = arch_lib.parse_arch(name)
    assert round(counting.arch_params(arch) / 1e6, 2) == params
    assert round(counting.arch_macs(arch, 224) / 1e9, 2) == gmacs


def test_widths_grow_the_stand_in_with_pythons_rounding():
  # docs/design.md section 4: round(c * (1 + r)) on c = C/4, half to even,
  # a width equal to the previous one dropped.
  assert scaler_lib.grown_widths(8) == [(0.05, 8), (0.10, 9), (0.20, 10)]
  # 10.5 -> 10 and 38.5 -> 38 (half to even).
  assert [w for _, w in scaler_lib.grown_widths(10)] == [10, 11, 12]
  assert [w for _, w in scaler_lib.grown_widths(30)] == [32, 33, 34, 36]  # 31.5
  assert [w for _, w in scaler_lib.grown_widths(35)] == [37, 38, 40, 42]
  assert scaler_lib.measured_width(SEED, scaler_lib.PROXY_DIVISOR) == 8
  with pytest.raises(arch_lib.ArchError, match='C=30 is not a multiple of 4'):
    scaler_lib.measured_width(SEED.replace(width=30), 4)
  with pytest.raises(arch_lib.ArchError,
                     match='stand-in of 4 channels.*C >= 32 for 64 heads'):
    scaler_lib.measured_width(SEED.replace(heads=64, width=16), 4)


def test_candidates_at_c32_are_measured_at_8_9_and_10_channels():
  found = scaler_lib.candidates(SEED)
  # c = 8: widths 8, 9, 9, 10; the second 9 is dropped in every stage.
  assert len(found) == 12
  assert [(c.stage, c.arch.width, c.measured.width) for c in found[:3]] == [
      (1, 32, 8), (1, 36, 9), (1, 40, 10)]
  for c in found:
    expected = [1, 1, 1, 1]
    expected[c.stage - 1] = 2
    assert list(c.arch.depths) == expected
    assert c.measured == c.arch.replace(width=c.arch.width // 4)
  wide = arch_lib.parse_arch('8,2,3|4,1,2|4,1,4|4,1,6|32,100')
  assert len(scaler_lib.candidates(wide)) == 16
  direct = scaler_lib.candidates(SEED, divisor=1)
  assert [c.arch.width for c in direct[:4]] == [34, 35, 37, 38]
  assert all(c.measured == c.arch for c in direct)


def test_stand_ins_of_8_9_and_10_channels_measure_differently():
  measurer = complexity.Measurer(32, repeats=1, settings=complexity.Settings(
      ntk_batch_size=2))
  values = [measurer.measure(c.measured, ('length_distortion',))[
      'length_distortion'].mean for c in scaler_lib.candidates(SEED)[:3]]
  assert len(set(values)) == 3 and all(v > 0 for v in values)


def test_rank_sum_picks_the_best_trade_off():
  # L_E descending, kappa ascending; equal values share a dense rank.
  chosen = scaler_lib.select([5.0, 5.0, 4.0, 3.0], [2.0, 1.0, 1.0, 3.0])
  assert chosen.length_ranks == (1, 1, 2, 3)
  assert chosen.kappa_ranks == (2, 1, 1, 3)
  assert chosen.index == 1 and chosen.tie_break is None
  assert scaler_lib.select([3.0, 2.0, 1.0], [1.0, 2.0, 3.0]).index == 0


def test_ties_follow_the_metric_with_the_larger_relative_range():
  lengths = [10.0, 1.0, 5.0]  # relative range 0.9
  narrow = scaler_lib.select(lengths, [2.0, 1.0, 1.5])  # 0.5
  assert narrow.tie_break == 'length_distortion' and narrow.index == 0
  wide = scaler_lib.select(lengths, [200.0, 1.0, 100.0])  # 0.995
  assert wide.tie_break == 'ntk' and wide.index == 1
  # Equal everything: the first candidate.
  assert scaler_lib.select([1.0, 1.0], [1.0, 1.0]).index == 0


def test_a_bad_ntk_ranks_last():
  chosen = scaler_lib.select([2.0, 1.0, 0.5], [math.nan, 5.0, 6.0])
  assert chosen.kappa_ranks == (3, 1, 2)
  assert chosen.index == 1


def width_loving_metric(calls):
  """L_E grows with width, kappa with stage-3 depth."""

  def metric(arch, seed):
    calls.append((arch_lib.format_arch(arch), seed))
    return float(arch.width), float(1 + arch.depths[2] - arch.width / 1000)

  return metric


def run_scale(model_dir, metric, **changes):
  config = scaler_lib.ScaleConfig(image_size=32, **changes)
  settings = dict(config.__dict__)
  stream = io.StringIO()
  result = job_lib.run(str(model_dir), scaler_lib.Scaler, config, settings,
                       lambda: metric, stream)
  return result, stream.getvalue()


def test_budget_stops_the_scaling_and_names_the_points(tmp_path):
  calls = []
  result, log = run_scale(tmp_path, width_loving_metric(calls),
                          stop_params=30_000_000, max_params=32_000_000)
  params = [p['params'] for p in result['series']]
  assert result['stopped'] == scaler_lib.STOP_BUDGET
  assert params[-1] >= 30_000_000 and max(params[:-1]) < 30_000_000
  assert params == sorted(params)
  for step in result['steps']:
    assert step['params'] <= 32_000_000
    dropped = [c for c in step['candidates'] if c['dropped']]
    assert all(c['params'] > 32_000_000 for c in dropped)
  # Step 1 measures the C/4 stand-ins once each: widths 8, 9, 10 per stage.
  first = [a for a, s in calls if s == result['steps'][0]['metric_seed']]
  assert len(first) == 12 and {arch_lib.parse_arch(a).width
                               for a in first} == {8, 9, 10}
  named = result['named']
  assert named['large']['params'] == params[-1]
  assert abs(named['small']['params'] - 29e6) == min(
      abs(p - 29e6) for p in params)
  assert 'ETA' in log and 'params' in log and 'L_E' in log
  for name in ('scale_result.json', 'scale_trajectory.png',
               'scale_complexity.png'):
    assert (tmp_path / name).stat().st_size > 0
  saved = json.loads((tmp_path / 'scale_result.json').read_text())
  assert saved['series'][-1]['arch'] == result['series'][-1]['arch']


def test_no_candidate_under_the_maximum_stops_at_once(tmp_path):
  # One more block in stage 1 at C=32 already gives 2.330 M parameters.
  result, _ = run_scale(tmp_path, width_loving_metric([]),
                        max_params=2_330_000)
  assert result['stopped'] == scaler_lib.STOP_NO_CANDIDATE
  assert len(result['series']) == 1


def without_times(result):
  return json.dumps(dict(result, scale_seconds=None,
                         steps=[dict(s, seconds=None)
                                for s in result['steps']]), sort_keys=True)


def test_resume_inside_a_step_equals_an_uninterrupted_run(tmp_path):
  whole, _ = run_scale(tmp_path / 'whole', width_loving_metric([]),
                       stop_params=6_000_000, use_proxy=False)
  calls = []
  metric = width_loving_metric(calls)

  def failing(arch, seed):
    if len(calls) == 13:  # in the middle of step 2
      raise KeyboardInterrupt
    return metric(arch, seed)

  with pytest.raises(KeyboardInterrupt):
    run_scale(tmp_path / 'cut', failing, stop_params=6_000_000,
              use_proxy=False)
  resumed_calls = []
  resumed, log = run_scale(tmp_path / 'cut',
                           width_loving_metric(resumed_calls),
                           stop_params=6_000_000, use_proxy=False)
  assert 'resuming' in log
  whole_calls = sum(
      len({c['measured_arch'] for c in s['candidates'] if not c['dropped']})
      for s in whole['steps'])
  assert len(resumed_calls) == whole_calls - 13
  assert without_times(resumed) == without_times(whole)
  with pytest.raises(job_lib.StateError, match='use_proxy=False'):
    run_scale(tmp_path / 'cut', metric, stop_params=6_000_000)
