"""Algorithm 1: policy, Adam, reward, and whole searches on contrived metrics."""

import json
import math

import numpy as np
import pytest

from asvit_tf import job as job_lib
from asvit_tf.modeling import arch as arch_lib
from asvit_tf.search import policy as policy_lib
from asvit_tf.search import reinforce
from asvit_tf.search import space
from tests import helpers


def test_space_has_13_dimensions_and_the_paper_entropy():
  assert len(space.DIMENSIONS) == 13
  assert space.SIZES == (5, 3, 3, 3, 3, 3, 2, 1, 5, 5, 5, 5, 3)
  uniform = policy_lib.CategoricalPolicy([np.zeros(n) for n in space.SIZES])
  # Sec. 3.3: the entropy starts at 15.3.
  assert uniform.entropy() == pytest.approx(
      5 * math.log(5) + 6 * math.log(3) + math.log(2), abs=1e-12)
  assert round(uniform.entropy(), 1) == 15.3
  seed_arch = arch_lib.parse_arch('8,2,3|4,1,2|4,1,4|4,1,6|32')
  assert space.decode(space.encode(seed_arch)) == seed_arch


def test_policy_gradient_matches_finite_differences():
  policy = policy_lib.CategoricalPolicy.initial(space.SIZES, seed=3)
  policy.logits = [l + np.arange(len(l)) * 0.3 for l in policy.logits]
  actions = policy.sample(np.random.default_rng(0))
  grads = policy.log_prob_gradient(actions)
  for d in (0, 6, 12):
    for j in range(len(policy.logits[d])):
      step = 1e-6
      policy.logits[d][j] += step
      up = policy.log_prob(actions)
      policy.logits[d][j] -= 2 * step
      down = policy.log_prob(actions)
      policy.logits[d][j] += step
      assert grads[d][j] == pytest.approx((up - down) / (2 * step), abs=1e-6)


def test_sampling_follows_the_probabilities():
  policy = policy_lib.CategoricalPolicy([np.log([0.7, 0.2, 0.1])])
  rng = np.random.default_rng(1)
  counts = np.bincount([policy.sample(rng)[0] for _ in range(4000)],
                       minlength=3) / 4000
  np.testing.assert_allclose(counts, [0.7, 0.2, 0.1], atol=0.03)


def test_adam_matches_the_textbook_update():
  params = [np.array([1.0, -2.0])]
  adam = policy_lib.Adam.zeros_like(params, 0.08)
  for g in ([0.5, -1.0], [0.1, 0.3]):
    adam.step(params, [np.array(g)])
  # Two steps by hand, eps negligible.
  g1, g2 = np.array([0.5, -1.0]), np.array([0.1, 0.3])
  m, v = 0.1 * g1, 0.001 * g1 ** 2
  first = np.array([1.0, -2.0]) - 0.08 * (m / 0.1) / (np.sqrt(v / 0.001) + 1e-8)
  m, v = 0.9 * m + 0.1 * g2, 0.999 * v + 0.001 * g2 ** 2
  second = first - 0.08 * (m / (1 - 0.9 ** 2)) / (
      np.sqrt(v / (1 - 0.999 ** 2)) + 1e-8)
  np.testing.assert_allclose(params[0], second, rtol=1e-12)


def test_reward_is_the_normalized_change_of_each_metric():
  assert reinforce.step_reward([5.0], [3.0]) == 0.0
  lengths, kappas = [1.0, 3.0, 2.0], [10.0, 40.0, 20.0]
  expected = (2.0 - 3.0) / (2.0 + 1e-6) - (20.0 - 40.0) / (30.0 + 1e-6)
  assert reinforce.step_reward(lengths, kappas) == pytest.approx(expected)
  # Only the last `window` values set the range.
  values = [100.0] + [1.0, 2.0] * 10 + [3.0]
  assert reinforce.normalized_change(values, window=20) == pytest.approx(
      1.0 / (2.0 + 1e-6))


def test_bad_ntk_counts_as_the_worst_seen():
  kappas = [10.0, 50.0, math.nan]
  assert reinforce.effective_values(kappas, False) == [10.0, 50.0, 50.0]
  # A later, larger value widens the worst case of the earlier bad entry.
  assert reinforce.effective_values(kappas + [80.0], False)[2] == 80.0
  assert reinforce.effective_values([1.0, math.inf], True) == [1.0, 1.0]
  assert reinforce.step_reward([1.0, 2.0], [math.nan, math.nan]) == pytest.approx(
      1.0 / (1.0 + 1e-6))


def test_moving_average_baseline_is_bias_corrected():
  baseline = reinforce.MovingAverage(0.9)
  baseline.update(2.0)
  assert baseline.value == pytest.approx(2.0)
  baseline.update(0.0)
  assert baseline.value == pytest.approx(0.9 * 0.1 * 2.0 / (0.9 * 0.1 + 0.1))


def test_contrived_reward_lowers_entropy_and_converges(tmp_path):
  result, log = helpers.run_search(tmp_path, steps=150)
  entropies = [r['entropy'] for r in result['history']]
  assert entropies[0] == pytest.approx(15.33, abs=0.01)
  assert result['entropy'] < entropies[0] - 2.0
  probabilities = result['probabilities']
  assert probabilities['E1']['6'] > 0.5
  assert probabilities['K4']['4'] > 0.5
  best = arch_lib.parse_arch(result['arch'])
  assert best.stages[0].expansion == 6 and best.stages[3].kernel == 4
  assert 'step 150/150' in log and 'ETA' in log and 'entropy' in log
  for name in ('search_result.json', 'search_state.json',
               'search_entropy.png'):
    assert (tmp_path / name).stat().st_size > 0
  assert list((tmp_path / 'tensorboard').iterdir())
  saved = json.loads((tmp_path / 'search_result.json').read_text())
  assert saved['arch'] == result['arch'] and len(saved['history']) == 150


def test_same_seed_same_result_other_seed_other_samples(tmp_path):
  first, _ = helpers.run_search(tmp_path / 'a', steps=30, seed=4)
  second, _ = helpers.run_search(tmp_path / 'b', steps=30, seed=4)
  other, _ = helpers.run_search(tmp_path / 'c', steps=30, seed=5)
  assert helpers.search_without_times(first) == helpers.search_without_times(second)
  assert ([r['arch'] for r in first['history']] !=
          [r['arch'] for r in other['history']])


def test_resume_from_any_step_equals_an_uninterrupted_run(tmp_path):
  whole, _ = helpers.run_search(tmp_path / 'whole', steps=25, seed=2)
  calls = []

  def failing_metric(arch, seed):
    if len(calls) == 11:
      raise KeyboardInterrupt
    calls.append(seed)
    return helpers.rewarded_metric(arch, seed)

  with pytest.raises(KeyboardInterrupt):
    helpers.run_search(tmp_path / 'cut', steps=25, seed=2, metric=failing_metric)
  state = json.loads((tmp_path / 'cut' / 'search_state.json').read_text())
  assert len(state['search']['history']) == 11
  resumed, log = helpers.run_search(tmp_path / 'cut', steps=25, seed=2)
  assert 'resuming' in log and 'step 12/25' in log and 'step 11/25 |' not in log
  assert helpers.search_without_times(resumed) == helpers.search_without_times(whole)


def test_other_flags_on_an_existing_run_are_refused(tmp_path):
  helpers.run_search(tmp_path, steps=3, seed=0)
  with pytest.raises(job_lib.StateError, match=r'seed=0 \(now 1\)'):
    helpers.run_search(tmp_path, steps=3, seed=1)
  with pytest.raises(job_lib.StateError, match=r'steps=3 \(now 4\)'):
    helpers.run_search(tmp_path, steps=4, seed=0)


def test_metrics_are_rounded_to_significant_digits():
  from asvit_tf.complexity import metric  # pylint: disable=g-import-not-at-top
  # Two values seen for one (arch, seed) after different process histories.
  assert (metric.significant(0.038401427389464504) ==
          metric.significant(0.03840142737994813) == 0.038401)
  assert metric.significant(17.766244206235896) == 17.766
  assert metric.significant(123456789.0) == 123460000.0
  assert math.isnan(metric.significant(math.nan))
