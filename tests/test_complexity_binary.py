"""The complexity binary: JSON with spread and seconds, one-line errors."""

import json

import pytest

from tests import helpers
from tests.helpers import TINY_ARCH


def run_binary(*flags):
  return helpers.run_module('asvit_tf.complexity', *flags)


@pytest.mark.slow
def test_json_reports_every_metric_with_spread():
  result = run_binary(f'--arch={TINY_ARCH}', '--image_size=32', '--repeats=2',
                      '--num_thetas=4', '--format=json',
                      '--metrics=length_distortion,curvature,ntk')
  assert result.returncode == 0, result.stderr
  row = json.loads(result.stdout)
  assert row['arch'] == TINY_ARCH and row['settings']['num_thetas'] == 4
  assert list(row['metrics']) == ['length_distortion', 'curvature', 'ntk']
  for metric in row['metrics'].values():
    assert len(metric['values']) == 2
    assert metric['min'] <= metric['mean'] <= metric['max']
    assert metric['min'] == min(metric['values'])
    assert metric['std'] >= 0 and metric['seconds'] > 0


def test_bad_input_prints_one_clear_line():
  for flags, fragment in (
      (['--metrics=length'], "metric 'length' is not recognised"),
      (['--image_size=32', '--data=folder:/nonexistent'], 'not a folder'),
      (['--theta_sampling=random'], 'theta_sampling'),
  ):
    result = run_binary(*flags)
    assert result.returncode in (1, 2)
    assert 'Traceback' not in result.stderr
    errors = [l for l in result.stderr.splitlines()
              if l.startswith(('error:', 'FATAL Flags parsing error'))]
    assert len(errors) == 1 and fragment in errors[0], result.stderr
