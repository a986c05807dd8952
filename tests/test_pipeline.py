"""The main job refuses flags that would fail late before any stage runs."""

from tests import helpers


def test_a_phase_the_image_cannot_take_is_refused_before_the_search(
    tmp_path):
  output_dir = tmp_path / 'out'
  result = helpers.run_module('asvit_tf.pipeline', f'--output_dir={output_dir}',
                             '--phases=16:100', '--train_image_size=64')
  helpers.assert_one_line_error(
      result, 'error: --phases=16:100 at --train_image_size=64: stride 16 '
      'needs sides of at least 128 pixels; allowed: ')
  assert not output_dir.exists()
