"""The summary binary: JSON output and one-line errors."""

import json

import pytest

from tests import helpers


def run_summary(*flags):
  return helpers.run_module('asvit_tf.summary', *flags)


def test_json_has_params_and_gmacs_per_group():
  result = run_summary('--arch=seed', '--image_size=224', '--format=json')
  assert result.returncode == 0, result.stderr
  row = json.loads(result.stdout)
  assert row['params'] == 2319624
  assert abs(row['gmacs'] - 0.4915) < 1e-3
  assert set(row['gmacs_per_group']) >= {'stage_1', 'stage_4', 'total'}


@pytest.mark.slow
def test_table_lists_every_preset_with_paper_numbers():
  result = run_summary('--image_size=224', '--stride=16')
  assert result.returncode == 0, result.stderr
  for fragment in ('seed', 'small', 'base', 'large', '88.1 / 22.6', '87.58'):
    assert fragment in result.stdout


def test_bad_input_prints_one_clear_line():
  for flags, fragment in (
      (['--arch=8,2,3|4,1,2|4,1,4|4,1,9|32'], 'stage 4 expansion E=9'),
      (['--arch=seed', '--image_size=100'], 'stage 1 token map height 25'),
      (['--arch=small', '--image_size=64', '--stride=16'], 'too small'),
  ):
    result = run_summary(*flags)
    assert result.returncode == 2
    assert 'Traceback' not in result.stderr
    errors = [l for l in result.stderr.splitlines() if l.startswith('error:')]
    assert len(errors) == 1 and fragment in errors[0], result.stderr
